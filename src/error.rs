//! The library's one error type.
//!
//! Each variant carries what a user needs to act on it: the file (a local path
//! or an `s3://` URL), the line where there is one, and the cause. Problems in
//! the *data* that a check is looking for are results, not errors; these are
//! the failures that stop a run (exit code 2).

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: {source}")]
    Io { file: String, source: std::io::Error },

    #[error("{file}:{line}: {cause}")]
    Line { file: String, line: u64, cause: String },

    #[error("{file}: gzip data is corrupt or truncated after {line} complete lines: {cause}")]
    Gzip { file: String, line: u64, cause: String },

    #[error("{file}: checksum mismatch: the manifest says MD5 {expected}, the file's MD5 is {actual}{detail}")]
    Checksum { file: String, expected: String, actual: String, detail: String },

    #[error("{file}: the manifest says {expected} items, the file holds {actual}")]
    ItemCount { file: String, expected: u64, actual: u64 },

    #[error("{file}: {cause}")]
    Manifest { file: String, cause: String },

    #[error("{0}")]
    Locate(String),

    #[error("incremental exports of table {table}: {cause}")]
    Chain { table: String, cause: String },

    #[error("S3 {operation} {url}: {cause}")]
    S3 { operation: &'static str, url: String, cause: String },

    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),

    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    #[error("{}{}", .0, crate::catalog::memory::hint(.0))]
    DataFusion(#[from] datafusion::error::DataFusionError),

    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub fn io(file: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { file: file.into(), source }
    }
    pub fn io_path(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::io(path.display().to_string(), source)
    }
    pub fn manifest(file: impl Into<String>, cause: impl Into<String>) -> Error {
        Error::Manifest { file: file.into(), cause: cause.into() }
    }
}

/// Characters that change how a terminal or an editor shows text: control
/// characters (escape sequences, line breaks, bell) and the Unicode
/// direction marks that reorder what a reviewer reads (U+202E and kin).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every [`is_unsafe_char`] escaped (`\n`, `\u{1b}`), whole: data
/// shown to a reviewer (attribute names, keys, reasons) goes through this.
pub fn escape_unsafe(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\t' | '\r' => out.extend(c.escape_default()),
            c if is_unsafe_char(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The text of the deepest error in `e`'s source chain: for an SDK dispatch
/// failure that is the connector's own words ("Connection refused"), where
/// the outer layers only say "dispatch failure".
pub fn innermost_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A piece of input fit to quote in a message: control characters escaped
/// (`\n`, `\u{1b}`), and at most `max` characters, with how much was left
/// out. Errors quote bad values with this, never whole: an 800 KB attribute
/// or a key holding an escape sequence must not flood or rewrite a terminal.
pub fn brief(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (shown, (i, c)) in s.char_indices().enumerate() {
        if shown == max {
            let rest = s[i..].chars().count();
            out.push_str(&format!("... ({rest} more characters)"));
            break;
        }
        if is_unsafe_char(c) {
            out.push_str(&escape_unsafe(c.encode_utf8(&mut [0; 4])));
        } else {
            out.push(c);
        }
    }
    out
}

/// The whole text of an error, fit for a terminal: control characters
/// other than line breaks escaped, each line at most `max_line` characters.
/// The last defence when a message quotes input without [`brief`].
pub fn for_terminal(text: &str, max_line: usize) -> String {
    // Tabs are harmless, and libraries' messages use them to indent.
    text.split('\n')
        .map(|line| line.split('\t').map(|part| brief(part, max_line)).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_escapes_and_cuts() {
        assert_eq!(brief("a\nb\u{1b}[2J", 100), "a\\nb\\u{1b}[2J");
        assert_eq!(brief("abcdef", 3), "abc... (3 more characters)");
        assert_eq!(brief("abc", 3), "abc");
        assert_eq!(for_terminal("x\ty\nz", 10), "x\ty\nz");
        assert_eq!(escape_unsafe("a\u{202e}b\n"), "a\\u{202e}b\\n");
        assert_eq!(escape_unsafe("plain"), "plain");
    }
}

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic inside it into an error naming `what`. Some
/// libraries ddbsnap reads files with (the parquet and arrow crates) assert
/// on malformed input instead of returning an error; a plan read back is
/// untrusted input, so its decoding runs under this guard. While it runs,
/// the binary's panic hook stays quiet ([`panic_is_guarded`]).
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let was = GUARDED.with(|g| g.replace(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    outcome.unwrap_or_else(|payload| {
        let message = panic_message(payload.as_ref()).unwrap_or_else(|| "a decoding library failed".into());
        Err(Error::Invalid(format!("{what}: cannot be decoded ({}): the file is corrupt", brief(&message, 200))))
    })
}

/// The text a panic was raised with (`panic!("...")`, `assert!`), when it
/// was raised with text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Whether this thread is inside [`guard`] (its panics are errors).
pub fn panic_is_guarded() -> bool {
    GUARDED.with(|g| g.get())
}
