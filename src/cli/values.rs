//! Value parsers for flags whose type allows nonsense: a rate of 0, -1 or
//! NaN, zero threads, a fraction of 2, `--table Contact=` with no name.
//! Each is a usage error at parse time (clap's exit 2 with the flag named),
//! never a value that silently means "no limit" or "nothing".

/// A finite number above 0 (rates, scales).
pub fn positive(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        _ => Err(format!("{s:?} is not a number above 0")),
    }
}

/// A write rate: at least 1 write unit per second (below that a single
/// write would wait longer than a second for its unit, and 1e-300 would
/// wait forever).
pub fn rate_limit(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 1.0 => Ok(f),
        _ => Err(format!("{s:?} is not a rate of at least 1 write unit per second")),
    }
}

/// A finite number of at least 0 (prices).
pub fn non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
        _ => Err(format!("{s:?} is not a number of at least 0")),
    }
}

/// A whole number of at least 1 (threads, requests in flight, files).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Err(format!("{s:?} is far too large")),
        _ => Err(format!("{s:?} is not a whole number of at least 1")),
    }
}

/// Most worker threads one run starts: far above any machine's cores (the
/// pool has no other ceiling), far below what makes a run crawl (every
/// thread also splits each query into a partition of its own).
pub const MAX_THREADS: usize = 1024;

/// `--threads`: 1 to [`MAX_THREADS`].
/// Empty (`DDBSNAP_THREADS=`, as people unset a variable) gives 0: unset,
/// the default (see [`super::run`]).
pub fn threads(s: &str) -> Result<usize, String> {
    if s.trim().is_empty() {
        return Ok(0);
    }
    match at_least_one(s)? {
        n if n > MAX_THREADS => Err(format!(
            "{n} threads is more than ddbsnap starts ({MAX_THREADS}); give at most the machine's cores (it has {})",
            crate::env::cores()
        )),
        n => Ok(n),
    }
}

/// `--memory-limit`: a size such as 4G; empty (`DDBSNAP_MEMORY_LIMIT=`) gives 0: unset.
pub fn memory_limit(s: &str) -> Result<usize, String> {
    if s.trim().is_empty() { Ok(0) } else { crate::catalog::memory::parse_size(s) }
}

/// A fraction strictly between 0 and 1 (where in a run to stop).
pub fn open_fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f > 0.0 && f < 1.0 => Ok(f),
        _ => Err(format!("{s:?} is not a fraction above 0 and below 1 (such as 0.5)")),
    }
}

/// A rate from 0 to 1.
pub fn rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("{s:?} is not a rate from 0 to 1")),
    }
}

/// `LEFT=RIGHT` with both sides present: `flag` and `shape` (`MODEL=TABLE`)
/// name it in the error.
pub fn pair<'a>(flag: &str, shape: &str, s: &'a str) -> anyhow::Result<(&'a str, &'a str)> {
    match s.split_once('=') {
        Some((l, r)) if !l.trim().is_empty() && !r.trim().is_empty() => Ok((l.trim(), r.trim())),
        _ => anyhow::bail!("{flag} {:?} is not {shape} (both sides must be given)", crate::error::brief(s, 120)),
    }
}

/// `--key TABLE=PARTITION[,SORT]` flags, by table.
pub fn key_specs(specs: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, Vec<String>>> {
    let mut out = std::collections::BTreeMap::new();
    for s in specs {
        let (table, attrs) = pair("--key", "TABLE=PARTITION[,SORT]", s)?;
        let attrs: Vec<String> = attrs.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
        if attrs.is_empty() || attrs.len() > 2 {
            anyhow::bail!("--key {:?}: a key is one or two attributes", crate::error::brief(s, 120));
        }
        out.insert(table.to_string(), attrs);
    }
    Ok(out)
}

/// Seconds between polls: more than 0, at most an hour.
pub fn poll_seconds(s: &str) -> Result<f64, String> {
    let v = positive(s)?;
    if v < 0.05 {
        return Err(format!("{s} seconds between polls would call DynamoDB without pause; give at least 0.05"));
    }
    if v > 3600.0 {
        return Err(format!("{s} seconds is more than an hour between polls"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonsense_is_refused() {
        for bad in ["0", "-1", "NaN", "inf", "", "x"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
        assert_eq!(positive("2.5"), Ok(2.5));
        assert!(non_negative("-0.1").is_err() && non_negative("NaN").is_err());
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(at_least_one("0").is_err() && at_least_one("-2").is_err());
        assert_eq!(at_least_one("3"), Ok(3));
        for bad in ["0", "1", "1.5", "NaN", "-0.5"] {
            assert!(open_fraction(bad).is_err(), "{bad}");
        }
        assert!(rate("1.01").is_err() && rate("NaN").is_err() && rate("1").is_ok());
        for bad in ["1e-300", "0.0001", "0.99", "0", "NaN", "inf"] {
            assert!(rate_limit(bad).is_err(), "{bad}");
        }
        assert_eq!(rate_limit("1"), Ok(1.0));
        assert!(pair("--table", "MODEL=TABLE", "Contact=").is_err());
        assert!(pair("--table", "MODEL=TABLE", "=t").is_err());
        assert!(pair("--table", "MODEL=TABLE", "Contact").is_err());
        assert_eq!(pair("--table", "MODEL=TABLE", "Contact=t").unwrap(), ("Contact", "t"));
    }
}
