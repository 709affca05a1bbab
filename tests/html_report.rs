//! The HTML integrity report in a real headless browser (Debian's chromium):
//! it renders, shows the failing checks, and a screenshot is taken.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddbsnap");
const CONTACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/contacts");

/// The browser scripts/test.sh found or installed (`scripts/servers.sh
/// chromium`, passed as DDBSNAP_CHROMIUM), else the same names on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DDBSNAP_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n))).find(|p| p.is_file())
}

fn browser(args: &[&str], profile: &Path) -> std::process::Output {
    let exe = chromium().expect("checked by the caller");
    common::output_within(
        Command::new(exe)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args),
    )
}

/// Whether the browser is here; without it the test is skipped, unless
/// DDBSNAP_REQUIRE_SERVERS (scripts/test.sh) makes that a failure.
fn have_chromium() -> bool {
    if chromium().is_some() {
        return true;
    }
    assert!(std::env::var("DDBSNAP_REQUIRE_SERVERS").is_err(), "chromium is required (scripts/test.sh installs it)");
    eprintln!("skipped: no chromium (scripts/test.sh installs it)");
    false
}

#[test]
fn html_report_renders_in_a_browser_and_shows_failures() {
    if !have_chromium() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(
        &model,
        r#"{"data":{"model_introspection":{"version":1,"enums":{},"nonModels":{},"models":{"Contact":{"name":"Contact","attributes":[],
        "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
        "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
                  "age":{"name":"age","isArray":false,"type":"Int","isRequired":false,"attributes":[]}}}}}}}"#,
    )
    .unwrap();
    let out =
        common::output_within(Command::new(BIN).args(["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "html", CONTACTS]));
    assert_eq!(out.status.code(), Some(1));
    let page = dir.path().join("report.html");
    std::fs::write(&page, &out.stdout).unwrap();
    let url = format!("file://{}", page.display());

    let dom = browser(&["--dump-dom", &url], &dir.path().join("profile-1"));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("ddbsnap integrity report"), "{dom}");
    assert!(dom.contains("class=\"check fail\"") && dom.contains("Contact.age.type"), "the failing check is shown");
    assert!(dom.contains("Table Contact"), "the table profile is shown");

    let shot = dir.path().join("report.png");
    let run = browser(&[&format!("--screenshot={}", shot.display()), "--window-size=1200,1600", &url], &dir.path().join("profile-2"));
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {}", String::from_utf8_lossy(&run.stderr)));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot, {} bytes", png.len());
    if let Ok(keep) = std::env::var("DDBSNAP_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// Issue 16, part 2: the plan's HTML page in the browser: the verdict, the
/// check table before and after with its groups, the per-attribute counts,
/// what the transform left out, and a diff per sample.
#[test]
fn plan_html_renders_checks_attributes_and_diffs() {
    if !have_chromium() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    let out = common::output_within(Command::new(BIN).args([
        "-q",
        "plan",
        "-t",
        "split_name",
        CONTACTS,
        "--amplify",
        concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/models/contact-v2.json"),
        "--out",
        plan.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let html = common::output_within(Command::new(BIN).args(["plan", "show", plan.to_str().unwrap(), "--format", "html"]));
    assert_eq!(html.status.code(), Some(0));
    let page = dir.path().join("plan.html");
    std::fs::write(&page, &html.stdout).unwrap();
    let dom = browser(&["--dump-dom", &format!("file://{}", page.display())], &dir.path().join("profile"));
    let dom = String::from_utf8_lossy(&dom.stdout);
    let fragment = |id: &str| -> String {
        let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in the rendered page:\n{dom}"));
        dom[start..].split("</table>").next().unwrap().split("</ul>").next().unwrap().to_string()
    };
    assert!(fragment("verdict").contains("no check is worse"), "{dom}");
    let checks = fragment("checks");
    assert!(checks.contains("pre-existing") && checks.contains("Contact.firstName.required"), "{checks}");
    assert!(checks.contains("passing"), "{checks}");
    let attributes = fragment("attributes");
    assert!(attributes.contains("firstName") && attributes.contains("- -&gt; S"), "{attributes}");
    let coverage = fragment("coverage");
    assert!(coverage.contains("the transform returned 193 of them") && coverage.contains("left 6 out"), "{coverage}");
    assert!(coverage.contains("6 of the items left out fail Contact.firstName.required"), "{coverage}");
    let samples = fragment("samples");
    assert!(samples.matches("class=\"add\"").count() >= 5, "a diff per sample: {samples}");
}
