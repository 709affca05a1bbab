//! `ddbsnap subset`: a masked, referentially complete subset of exports.

use crate::env::Env;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{Global, build_env, load_tables};
use crate::checks::model::ModelIntrospection;
use crate::snapshot::manifest::OutputFormat;
use crate::subset::{self, Choice, SubsetOptions};

#[derive(clap::Args, Debug)]
#[command(after_help = "A seeded fraction of the root models' items is chosen, then every child of a chosen item (hasMany/hasOne, \
recursively) and every parent an included item refers to (belongsTo, recursively): no reference in the subset dangles unless it \
dangled in the source (those are counted). Masked fields get keyed, format-preserving fakes: letters stay letters, digits \
digits, punctuation and length are kept, emails keep their top-level domain, and a value gets the same fake in every table.\n\n\
Each table is written as a full export in AWS's layout under --out (read it with `ddbsnap sql`/`check`, or point DynamoDB's \
import from S3 at its data/ folder), with ddbsnap-subset.json beside it; the same JSON goes to stdout.\n\n\
Exit codes: 0 the subset was written, 2 error (a key or relationship field given to --mask, an unknown model or field, an \
output folder that already holds exports).\n\n\
Example: ddbsnap subset exports/ --amplify amplify_outputs.json --out sandbox/ --fraction 0.05 --mask email --mask Contact.name")]
pub struct SubsetArgs {
    /// Exports to subset ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(value_name = "EXPORT", required = true)]
    pub exports: Vec<String>,
    /// amplify_outputs.json: its models' relationships (belongsTo, hasMany, hasOne) are followed.
    #[arg(long, value_name = "FILE")]
    pub amplify: PathBuf,
    /// Folder to write into; it plays the S3 bucket root and must not hold exports yet.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Fraction of each root model's items to choose, by a seeded hash of their keys [default: 0.01].
    #[arg(long, value_parser = parse_fraction, conflicts_with = "items")]
    pub fraction: Option<f64>,
    /// Choose this many items of each root model (those with the lowest seeded hashes) instead of a fraction.
    #[arg(long, value_name = "N")]
    pub items: Option<u64>,
    /// A model to choose items from (repeatable); default: the models that belong to no other model.
    #[arg(long = "root", value_name = "MODEL")]
    pub roots: Vec<String>,
    /// Replace this field with fakes: FIELD in every table having it, or MODEL.FIELD (repeatable). Key and foreign-key fields cannot be masked.
    #[arg(long = "mask", value_name = "FIELD|MODEL.FIELD")]
    pub masks: Vec<String>,
    /// Secret that keys the fakes: the same secret gives the same fakes in every run. Without it a random key is used and not stored.
    #[arg(long, value_name = "SECRET", env = "DDBSNAP_MASK_KEY", hide_env_values = true)]
    pub mask_key: Option<String>,
    /// Seed of the choice (and of the written files' names); the same seed gives identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Data format of the written exports.
    #[arg(long, value_enum, default_value_t = SubsetFormat::Json)]
    pub format: SubsetFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SubsetFormat {
    /// DynamoDB JSON.
    Json,
    /// Amazon Ion.
    Ion,
}

fn parse_fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
        _ => Err(format!("{s:?} is not a fraction above 0 and at most 1 (such as 0.01)")),
    }
}

pub async fn run(g: &Global, env: &Env, a: SubsetArgs) -> Result<u8> {
    let intro = ModelIntrospection::load(&a.amplify)?;
    subset::check_output(&a.out)?;
    let mask_key = match a.mask_key {
        Some(k) if k.is_empty() => bail!("--mask-key (or DDBSNAP_MASK_KEY) is empty"),
        Some(k) => k.into_bytes(),
        None => {
            if !a.masks.is_empty() {
                eprintln!(
                    "ddbsnap: no --mask-key (or DDBSNAP_MASK_KEY): masking with a random key that is not stored, so another run gives other fakes"
                );
            }
            subset::random_key().context("/dev/urandom: cannot read a random mask key")?
        }
    };
    let opts = SubsetOptions {
        out: a.out,
        choice: match a.items {
            Some(n) => Choice::Items(n),
            None => Choice::Fraction(a.fraction.unwrap_or(0.01)),
        },
        roots: a.roots,
        masks: a.masks,
        mask_key,
        seed: a.seed,
        format: match a.format {
            SubsetFormat::Json => OutputFormat::DynamodbJson,
            SubsetFormat::Ion => OutputFormat::Ion,
        },
    };
    let mut reading = build_env(g, env, &a.exports).await?;
    let tables = load_tables(g, &a.exports, &mut reading).await?;
    let report = tokio::task::spawn_blocking(move || subset::subset(&tables, &intro, &opts)).await.context("the subset task failed")??;
    for n in &report.notes {
        eprintln!("ddbsnap: note: {n}");
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(0)
}
