//! Plan folders changed on purpose and sealed again with correct hashes, as
//! an attacker (or a careless script) would: only their content is wrong.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The member of `plan.json` that carries its hash: always the last.
const SEAL: &str = ",\n  \"sha256\": \"";

/// Rewrites `plan.json` of `plan` with `edit` of its text (without the hash),
/// records the operations file's current SHA-256 in it, and seals it again.
/// Returns the plan's new SHA-256.
pub fn reseal(plan: &Path, edit: impl FnOnce(String) -> String) -> String {
    let ops = plan.join("ops.parquet");
    let ops_sha = hex::encode(Sha256::digest(std::fs::read(&ops).expect("read ops")));
    let path = plan.join("plan.json");
    let text = std::fs::read_to_string(&path).expect("read manifest");
    let body = format!("{}\n}}", &text[..text.rfind(SEAL).expect("sealed")]);
    let old_sha = serde_json::from_str::<serde_json::Value>(&text).expect("json")["ops_file"]["sha256"].as_str().expect("sha").to_string();
    let body = edit(body.replace(&old_sha, &ops_sha));
    let sha = hex::encode(Sha256::digest(body.as_bytes()));
    let sealed = format!("{}{SEAL}{sha}\"\n}}\n", body.strip_suffix("\n}").expect("object"));
    std::fs::write(&path, sealed).expect("write manifest");
    sha
}
