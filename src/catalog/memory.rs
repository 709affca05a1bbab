//! How much memory DataFusion's operators may hold, process-wide.
//!
//! Checks over Parquet folders stream their input, but some checks keep
//! state per distinct value (`key.unique` groups by every key, a join keeps
//! its build side). At 100M items that state outgrows any fixed machine, so
//! `--memory-limit` (or `DDBSNAP_MEMORY_LIMIT`) caps it: aggregates and sorts
//! then spill to temporary files under `TMPDIR`, and an operator that cannot
//! spill stops the query with an error naming it, instead of the process
//! being killed. Snapshots read into memory are not counted in the pool;
//! instead, `sql` and `check` send an export estimated above the limit
//! through the Parquet cache ([`crate::cache`]), and `plan` refuses one.
//!
//! The limit is part of the run's [`crate::env::Env`]: every session the
//! run builds (the checks before and after a plan included) shares its pool.

/// Parses a size such as `512M`, `8G`, `1.5GiB` or `2000000` (bytes);
/// K, M, G and T are powers of 1024, with or without a trailing `B`/`iB`.
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let digits = lower.trim_end_matches("ib").trim_end_matches('b');
    let (number, shift) = match digits.chars().last() {
        Some('k') => (&digits[..digits.len() - 1], 10),
        Some('m') => (&digits[..digits.len() - 1], 20),
        Some('g') => (&digits[..digits.len() - 1], 30),
        Some('t') => (&digits[..digits.len() - 1], 40),
        _ => (digits, 0),
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("{text:?} is not a size such as 512M, 8G or 1.5GiB"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("{text:?}: a memory limit must be more than zero"));
    }
    let bytes = value * (1u64 << shift) as f64;
    if bytes < 1024.0 * 1024.0 {
        return Err(format!("{text:?}: a memory limit below 1M leaves no room for any query"));
    }
    Ok(bytes as usize)
}

/// What to add to a DataFusion error: a hint when the memory limit refused
/// an operator that cannot spill.
pub fn hint(e: &datafusion::error::DataFusionError) -> &'static str {
    if matches!(e.find_root(), datafusion::error::DataFusionError::ResourcesExhausted(_)) {
        " (the query needs more memory than --memory-limit gives an operator that cannot spill to disk: raise the limit)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("8gib"), Ok(8 << 30));
        assert_eq!(parse_size("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        assert_eq!(parse_size("4194304"), Ok(4 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("lots").unwrap_err().contains("\"lots\""));
        assert!(parse_size("100K").unwrap_err().contains("below 1M"));
    }
}
