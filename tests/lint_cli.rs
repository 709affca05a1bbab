//! `ddbsnap lint` on a schema pair over the Contact fixture: each change is
//! classified and measured against the data.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddbsnap");
const CONTACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/contacts");

fn field(name: &str, ty: &str, required: bool) -> String {
    format!(r#""{name}":{{"name":"{name}","isArray":false,"type":{ty},"isRequired":{required},"attributes":[]}}"#)
}

fn outputs(models: &[(&str, Vec<String>, &str)]) -> String {
    let models: Vec<String> = models
        .iter()
        .map(|(name, fields, attrs)| {
            format!(
                r#""{name}":{{"name":"{name}","attributes":[{attrs}],"primaryKeyInfo":{{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]}},"fields":{{{}}}}}"#,
                fields.join(",")
            )
        })
        .collect();
    format!(r#"{{"data":{{"model_introspection":{{"version":1,"enums":{{}},"nonModels":{{}},"models":{{{}}}}}}}}}"#, models.join(","))
}

fn sql_count(sql: &str) -> u64 {
    let out = common::output_within(Command::new(BIN).args(["-q", "sql", "--format", "csv", "-e", CONTACTS, sql]));
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn schema_pair_is_classified_and_measured() {
    let dir = tempfile::tempdir().unwrap();
    let id = field("id", r#""ID""#, true);
    let old = outputs(&[
        (
            "Contact",
            vec![
                id.clone(),
                field("name", r#""String""#, false),
                field("phone", r#""String""#, false),
                field("age", r#""String""#, false),
                field("email", r#""AWSEmail""#, false),
            ],
            "",
        ),
        ("Note", vec![id.clone(), field("body", r#""String""#, true)], ""),
    ]);
    let new = outputs(&[
        (
            "Contact",
            vec![
                id.clone(),
                field("firstName", r#""String""#, false),
                field("age", r#""Int""#, false),
                field("email", r#""AWSEmail""#, true),
                field("website", r#""AWSURL""#, false),
            ],
            r#"{"type":"key","properties":{"name":"byEmail","fields":["email"]}}"#,
        ),
        ("Tag", vec![id.clone(), field("label", r#""String""#, true)], ""),
    ]);
    let (from, to) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&from, old).unwrap();
    std::fs::write(&to, new).unwrap();
    let out = common::output_within(Command::new(BIN).args([
        "-q",
        "lint",
        "--from",
        from.to_str().unwrap(),
        "--to",
        to.to_str().unwrap(),
        "--format",
        "json",
        CONTACTS,
    ]));
    assert_eq!(out.status.code(), Some(1), "breaking changes meet data: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: BTreeMap<String, (String, Option<u64>)> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["what"].as_str().unwrap().to_string(), (c["class"].as_str().unwrap().to_string(), c["affected"].as_u64())))
        .collect();
    let named = sql_count("SELECT count(*) FROM Contact WHERE name IS NOT NULL");
    let phones = sql_count("SELECT count(*) FROM Contact WHERE phone IS NOT NULL");
    assert!(named > 0 && phones > 0);
    let expected: BTreeMap<String, (String, Option<u64>)> = [
        ("Contact.name renamed to firstName (probable: one field removed, one of the same type added)", ("breaking", Some(named))),
        ("Contact.phone removed", ("breaking", Some(phones))),
        ("Contact.age type changed from String to Int", ("breaking", Some(0))),
        ("Contact.email made required", ("breaking", Some(0))),
        ("model Note dropped", ("dangerous", None)),
        ("model Tag added", ("safe", None)),
        ("Contact.website added (optional)", ("safe", None)),
        ("Contact: index byEmail added", ("safe", None)),
    ]
    .into_iter()
    .map(|(k, (c, n))| (k.to_string(), (c.to_string(), n)))
    .collect();
    assert_eq!(got, expected);
    // without data nothing is measured and the exit code is 0
    let out = common::output_within(Command::new(BIN).args(["-q", "lint", "--from", from.to_str().unwrap(), "--to", to.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DANGEROUS  model Note dropped"));
}

/// Issue 16, part 2: a field replaced by two new fields of its type is a
/// probable split, and every suggestion is a bundled recipe with the exact
/// command, which runs as printed.
#[test]
fn a_split_is_recognised_and_every_suggested_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let id = field("id", r#""ID""#, true);
    let email = field("email", r#""AWSEmail""#, false);
    let old = outputs(&[(
        "Contact",
        vec![id.clone(), field("name", r#""String""#, false), field("age", r#""String""#, false), email.clone()],
        "",
    )]);
    let new = outputs(&[(
        "Contact",
        vec![
            id.clone(),
            field("lastName", r#""String""#, false),
            field("firstName", r#""String""#, false),
            field("age", r#""Int""#, false),
            email.clone(),
            field("status", r#""String""#, true),
            field("s p", r#""String""#, true),
            field("s-p", r#""String""#, true),
        ],
        "",
    )]);
    let (from, to) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&from, old).unwrap();
    std::fs::write(&to, new).unwrap();
    let lint = |format: &str| {
        let args = ["-q", "lint", "--from", from.to_str().unwrap(), "--to", to.to_str().unwrap(), "--format", format, CONTACTS];
        common::output_within(Command::new(BIN).args(args))
    };
    let out = lint("json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    let split = changes.iter().find(|c| c["what"].as_str().unwrap().starts_with("Contact.name split into firstName and lastName")).unwrap();
    assert_eq!(split["recipe"]["name"], "split_name", "{split:#}");
    let commands: Vec<(String, String)> = changes
        .iter()
        .flat_map(|c| {
            c["commands"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| (c["what"].as_str().unwrap().to_string(), x.as_str().unwrap().to_string()))
        })
        .collect();
    let names: Vec<String> = commands.iter().map(|(_, c)| c.split(' ').nth(3).unwrap().to_string()).collect();
    assert_eq!(names, ["string_to_number", "split_name", "backfill_required", "backfill_required", "backfill_required"], "{commands:#?}");
    // Every suggestion has its own plan folder (plans are never overwritten).
    let outs: std::collections::BTreeSet<&str> = commands.iter().map(|(_, c)| c.rsplit(' ').next().unwrap()).collect();
    assert_eq!(outs.len(), commands.len(), "{commands:#?}");
    let recipes = String::from_utf8_lossy(&common::output_within(Command::new(BIN).args(["plan", "recipes"])).stdout).into_owned();
    for n in &names {
        assert!(recipes.lines().any(|l| l == n), "{n} is not in `plan recipes`");
    }
    for c in changes {
        assert!(!c["strategy"].as_str().unwrap().contains("transform recipe:"), "{c:#}");
    }
    // The backfill's value is left to the user: a placeholder that is not SQL.
    let backfill = &commands.iter().find(|(w, _)| w.contains("Contact.status")).unwrap().1;
    assert!(
        backfill.contains("'value=<SQL: the value for items without status>'")
            && backfill.ends_with("--out plan-backfill_required-Contact-status"),
        "{backfill}"
    );
    // Each other command runs as printed (here with the plan folder in a temporary directory).
    for (what, command) in commands.iter().filter(|(_, c)| !c.contains("value=<SQL")) {
        let words: Vec<&str> = command.split(' ').collect();
        assert_eq!(&words[..2], ["ddbsnap", "plan"], "{command}");
        let out_dir = dir.path().join(words.last().unwrap());
        let mut args: Vec<String> = words[1..words.len() - 1].iter().map(|w| w.to_string()).collect();
        args.push(out_dir.display().to_string());
        let run = common::output_within(Command::new(BIN).arg("-q").args(&args));
        assert!(matches!(run.status.code(), Some(0 | 1)), "{what}: {command}\n{}", String::from_utf8_lossy(&run.stderr));
        assert!(out_dir.join("plan.json").exists(), "{what}: {command}");
    }
    let text = String::from_utf8_lossy(&lint("text").stdout).into_owned();
    assert!(
        text.contains("run: ddbsnap plan -t split_name -p table=Contact -p key=id -p source=name -p first=firstName -p last=lastName"),
        "{text}"
    );
}

/// A model renamed with the same fields suggests copy_model, which copies
/// every item exactly, naming the new model.
#[test]
fn a_model_rename_suggests_copy_model_which_copies_every_item() {
    let dir = tempfile::tempdir().unwrap();
    let fields = vec![field("id", r#""ID""#, true), field("name", r#""String""#, false)];
    let (from, to) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&from, outputs(&[("Contact", fields.clone(), "")])).unwrap();
    std::fs::write(&to, outputs(&[("Person", fields, "")])).unwrap();
    let args = ["-q", "lint", "--from", from.to_str().unwrap(), "--to", to.to_str().unwrap(), "--format", "json", CONTACTS];
    let v: serde_json::Value = serde_json::from_slice(&common::output_within(Command::new(BIN).args(args)).stdout).unwrap();
    let change = &v["changes"][0];
    assert_eq!(change["what"], "model Contact renamed to Person (probable: same fields)");
    let command = change["commands"][0].as_str().unwrap();
    assert!(command.starts_with("ddbsnap plan -t copy_model -p from=Contact -p to=Person --amplify "), "{command}");
    let out = dir.path().join("copy");
    let words: Vec<&str> = command.split(' ').collect();
    let mut args: Vec<String> = words[1..words.len() - 1].iter().map(|w| w.to_string()).collect();
    args.extend([out.display().to_string(), "--format".into(), "json".into()]);
    let run = common::output_within(Command::new(BIN).arg("-q").args(&args));
    let m: serde_json::Value =
        serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&run.stderr)));
    let items = sql_count("SELECT count(*) FROM Contact");
    assert_eq!(m["summary"]["operations"]["Person"]["PUT"], items, "{:#}", m["summary"]);
    assert_eq!(m["summary"]["attributes"]["Person"]["__typename"]["types"]["- -> S"], items, "{:#}", m["summary"]);
}
