//! `ddbsnap generate`: synthetic exports for tests, benchmarks and rehearsals.
//!
//! Without `--amplify` it writes the fixed Contact export (the fixtures and
//! benchmarks depend on its bytes); with `--amplify` one table per model of
//! the data model, to a folder or to `s3://bucket/prefix`.

use crate::env::Env;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::Global;
use crate::checks::model::ModelIntrospection;
use crate::generate::{
    DefectRates, GenerateOptions, ItemCounts, ModelOptions, ModelsTruth, Profile, TRUTH_FILE, Uploader, generate, generate_models,
};
use crate::snapshot::manifest::OutputFormat;

#[derive(clap::Args, Debug)]
#[command(after_help = "Without --amplify: a Contact export (--table, --drift-rate, --prefix), as the fixtures and benchmarks use it.\n\n\
With --amplify: one table Model-<apiId>-NONE per model of amplify_outputs.json, items as Amplify writes them (__typename, \
createdAt/updatedAt, owner fields, DataStore fields of syncable models, required fields always, optional ones mostly, valid \
values for every scalar format, enums, custom types as maps, arrays as lists, belongsTo foreign keys pointing at existing \
parents). --profile shapes them like production (counts times --scale, presence, NULLs, type drift, lengths, common values, \
attributes the model does not declare). --defects plants defects in distinct items (at most one per item, never in key fields): \
missing_required, wrong_type, dangling_ref, bad_format. Incrementals insert, update and delete (deletes only in models no other \
model refers to). ddbsnap-generate.json beside the exports gives per model the exports, the item counts and the violations \
`ddbsnap check --amplify` must report, by check name, for the final state. Items are the same whatever --threads; the files \
are identical for the same options and --threads.\n\n\
Examples:\n  ddbsnap generate --amplify amplify_outputs.json --out exports/ --items 100000 --defects wrong_type=0.001 --incrementals 2\n  \
ddbsnap generate --amplify amplify_outputs.json --profile profile.json --scale 10 --out s3://bucket/rehearsal")]
pub struct GenerateArgs {
    /// Where to write: a folder (it plays the bucket root), or with --amplify s3://bucket/prefix.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub out: String,
    /// amplify_outputs.json: write one table per model of its data model instead of the Contact export.
    #[arg(long, value_name = "FILE")]
    pub amplify: Option<PathBuf>,
    /// Items in each full export: N, or with --amplify also Model=N,... (models not named: N, else the profile's count
    /// times --scale, else 1000).
    #[arg(long, value_name = "N|Model=N,...")]
    pub items: Option<String>,
    /// A profile written by `ddbsnap profile`: item counts, presence, NULLs, types, lengths and common values per attribute.
    #[arg(long, value_name = "PROFILE.json", requires = "amplify")]
    pub profile: Option<PathBuf>,
    /// Factor on the profile's item counts [default: 1].
    #[arg(long, value_name = "F", requires = "profile", value_parser = super::values::positive)]
    pub scale: Option<f64>,
    /// Defects to plant, as fractions of each model's items: missing_required=R,wrong_type=R,dangling_ref=R,bad_format=R.
    #[arg(long, value_name = "KIND=RATE,...", requires = "amplify")]
    pub defects: Option<String>,
    /// Data files per export [default: 4; with --amplify one per thread per 2 million items]; with --amplify rounded up to a
    /// multiple of --threads, plus one empty partition.
    #[arg(long, value_parser = super::values::at_least_one)]
    pub files: Option<usize>,
    /// Random seed; the same seed gives identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Model (table) name of the Contact export; the physical table is <Model>-<apiId>-NONE.
    #[arg(long, default_value = "Contact", conflicts_with = "amplify")]
    pub table: String,
    /// Data format.
    #[arg(long, value_enum, default_value_t = GenFormat::Json)]
    pub format: GenFormat,
    /// Incremental exports to chain after the full export.
    #[arg(long, default_value_t = 0)]
    pub incrementals: usize,
    /// Contact export: fraction of items whose numeric `age` is written as a string (type drift).
    #[arg(long, default_value_t = 0.001, conflicts_with = "amplify", value_parser = super::values::rate)]
    pub drift_rate: f64,
    /// S3 prefix to write under inside --out (as in s3://bucket/PREFIX/AWSDynamoDB/...).
    #[arg(long, default_value = "")]
    pub prefix: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum GenFormat {
    Json,
    Ion,
}

impl GenFormat {
    fn output(self) -> OutputFormat {
        match self {
            GenFormat::Json => OutputFormat::DynamodbJson,
            GenFormat::Ion => OutputFormat::Ion,
        }
    }
}

pub async fn run(g: &Global, env: &Env, a: GenerateArgs) -> Result<u8> {
    match a.amplify.clone() {
        Some(model) => models(g, env, a, &model).await,
        None => contact(a),
    }
}

fn contact(a: GenerateArgs) -> Result<u8> {
    if a.out.starts_with("s3://") {
        bail!("--out {}: the Contact export is written to a folder; S3 output needs --amplify", a.out);
    }
    let items = match a.items.as_deref() {
        None => 1000,
        Some(text) => text.parse().with_context(|| format!("--items {text:?}: a number of items (Model=N needs --amplify)"))?,
    };
    let opts = GenerateOptions {
        out: PathBuf::from(a.out),
        table: a.table,
        items,
        files: a.files.unwrap_or(4),
        seed: a.seed,
        format: a.format.output(),
        incrementals: a.incrementals,
        drift_rate: a.drift_rate,
        prefix: a.prefix,
        ..Default::default()
    };
    let truth = generate(&opts)?;
    println!("{}", serde_json::to_string_pretty(&truth)?);
    Ok(0)
}

async fn models(g: &Global, env: &Env, a: GenerateArgs, model: &Path) -> Result<u8> {
    let intro = ModelIntrospection::load(model)?;
    if intro.models.is_empty() {
        bail!("{}: the data model declares no models", model.display());
    }
    let profile = match &a.profile {
        Some(p) => Some((p.display().to_string(), Profile::load(p)?)),
        None => None,
    };
    let items = a.items.as_deref().map(ItemCounts::parse).transpose()?.unwrap_or_default();
    if a.scale.is_some() && items.all.is_some() {
        bail!(
            "--scale multiplies the profile's item counts, but --items N sets every model's count: give one of them (--items Model=N sets one model's)"
        );
    }
    let mut opts = ModelOptions {
        items,
        profile,
        scale: a.scale.unwrap_or(1.0),
        defects: a.defects.as_deref().map(DefectRates::parse).transpose()?.unwrap_or_default(),
        incrementals: a.incrementals,
        format: a.format.output(),
        files: a.files,
        seed: a.seed,
        threads: env.threads(),
        pool: env.pool().clone(),
        ..Default::default()
    };
    let truth = match a.out.strip_prefix("s3://") {
        Some(rest) => to_s3(g, opts, intro, rest).await?,
        None => {
            opts.out = PathBuf::from(&a.out);
            opts.prefix = a.prefix.trim_matches('/').to_string();
            tokio::task::spawn_blocking(move || generate_models(&opts, &intro, None)).await??
        }
    };
    println!("{}", serde_json::to_string_pretty(&truth)?);
    Ok(0)
}

/// Generates into a staging folder, uploading each export as it completes,
/// then the truth; the staging folder is removed in any case.
async fn to_s3(g: &Global, mut opts: ModelOptions, intro: ModelIntrospection, rest: &str) -> Result<ModelsTruth> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("--out s3://{rest}: no bucket name");
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let staging = std::env::temp_dir().join(format!("ddbsnap-generate-{}-{nanos}", std::process::id()));
    opts.out = staging.clone();
    opts.prefix = prefix.trim_matches('/').to_string();
    opts.bucket = bucket.to_string();
    let uploader = std::sync::Arc::new(Uploader {
        client: super::s3_client(g).await,
        bucket: bucket.to_string(),
        root: staging.clone(),
        handle: tokio::runtime::Handle::current(),
    });
    let up = uploader.clone();
    let truth_dir = if opts.prefix.is_empty() { staging.clone() } else { staging.join(&opts.prefix) };
    let result: Result<ModelsTruth> = async {
        let truth =
            tokio::task::spawn_blocking(move || generate_models(&opts, &intro, Some(&|dir: &Path| Ok(up.upload_export(dir)?)))).await??;
        uploader.upload(&truth_dir.join(TRUTH_FILE)).await?;
        Ok(truth)
    }
    .await;
    let _ = std::fs::remove_dir_all(&staging);
    result
}
