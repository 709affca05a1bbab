//! The apply journal: one JSON line per finished operation, appended and
//! synced to disk (fsync) once per acknowledged group of writes, next to the
//! plan. After a crash or `kill -9`, `--resume` skips every operation the
//! journal records as finished; the rest are sent again, and their
//! conditions make that safe (a write that did land is recognised by the
//! item now holding exactly what it wrote).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT: &str = "ddbsnap-journal/1";

/// The first line: which plan, and the time stamped on every write (kept
/// across resumes so that a re-sent write is identical).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    /// `apply` or `rollback`.
    pub kind: String,
    pub plan_sha256: String,
    pub plan_dir: String,
    pub started_at: String,
    pub stamp_now: String,
    pub stamp_now_ms: i64,
    /// For a rollback: the apply journal it undoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// For a load: each table written, as DynamoDB identified it when the
    /// journal began (ARN and creation time). A table deleted and created
    /// again since does not hold what the journal says was written to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Written now.
    Done,
    /// The item already held what this write leaves (an earlier attempt landed).
    Already,
    /// The item changed since the snapshot: not written.
    Conflict,
    /// Could not be written (after retries); sent again on resume.
    Failed,
}

impl Outcome {
    /// Finished outcomes are skipped on resume.
    pub fn is_final(self) -> bool {
        self != Outcome::Failed
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub outcome: Outcome,
    /// For a conflict: the item as DynamoDB holds it now (DynamoDB JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The time stamped on the item (epoch ms): when the write that landed
    /// was sent. Absent for writes that stamp nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp_ms: Option<i64>,
}

/// An open journal, appending.
pub struct Journal {
    pub path: PathBuf,
    pub header: Header,
    file: File,
    /// The latest outcome of each operation recorded so far.
    pub entries: HashMap<u64, Entry>,
}

impl Journal {
    /// The journal beside a plan folder: `PLAN.journal` (or `PLAN.rollback`).
    pub fn path_for(plan: &Path, kind: &str) -> PathBuf {
        let name = plan.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "plan".into());
        plan.with_file_name(format!("{name}.{}", if kind == "rollback" { "rollback" } else { "journal" }))
    }

    /// Starts a new journal; it must not exist (use [`Journal::resume`]).
    /// The header is written and synced under a temporary name first and
    /// then linked into place, so a journal never exists without its header.
    pub fn create(path: &Path, header: Header) -> Result<Journal> {
        let tmp = path.with_extension(format!("partial-{}", std::process::id()));
        let line = serde_json::to_string(&header).expect("a header serializes") + "\n";
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            f.write_all(line.as_bytes())?;
            f.sync_all()
        };
        write().map_err(|e| Error::io_path(&tmp, e))?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        linked.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Invalid(format!("{}: a journal exists: this plan was applied before; continue with --resume", path.display()))
            } else {
                Error::io_path(path, e)
            }
        })?;
        if let Some(dir) = path.parent().and_then(|d| File::open(if d.as_os_str().is_empty() { Path::new(".") } else { d }).ok()) {
            let _ = dir.sync_all();
        }
        let file = OpenOptions::new().append(true).open(path).map_err(|e| Error::io_path(path, e))?;
        lock(&file, path)?;
        Ok(Journal { path: path.to_path_buf(), header, file, entries: HashMap::new() })
    }

    /// Opens an existing journal to continue it. A last line cut short by a
    /// crash is ignored (its writes are simply sent again).
    pub fn resume(path: &Path) -> Result<Journal> {
        let (header, entries) = read(path)?;
        // Cut a partial last line so that new entries start on a line of their own.
        let bytes = std::fs::read(path).map_err(|e| Error::io_path(path, e))?;
        let whole = bytes.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
        let file = OpenOptions::new().append(true).open(path).map_err(|e| Error::io_path(path, e))?;
        lock(&file, path)?;
        if whole < bytes.len() {
            file.set_len(whole as u64).and_then(|_| file.sync_all()).map_err(|e| Error::io_path(path, e))?;
        }
        Ok(Journal { path: path.to_path_buf(), header, file, entries })
    }

    /// Appends entries and syncs them to disk before returning.
    pub fn record(&mut self, entries: Vec<Entry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for e in &entries {
            text.push_str(&serde_json::to_string(e).expect("an entry serializes"));
            text.push('\n');
        }
        self.file.write_all(text.as_bytes()).and_then(|_| self.file.sync_data()).map_err(|e| Error::io_path(&self.path, e))?;
        for e in entries {
            self.entries.insert(e.seq, e);
        }
        Ok(())
    }

    /// Opens a journal to read only: nothing in the file changes (a dry run,
    /// or the apply journal a rollback undoes).
    pub fn open_read_only(path: &Path) -> Result<Journal> {
        let (header, entries) = read(path)?;
        let file = File::open(path).map_err(|e| Error::io_path(path, e))?;
        Ok(Journal { path: path.to_path_buf(), header, file, entries })
    }

    /// Checks that this journal is the `kind` journal of the plan `sha`
    /// with `ops` operations: every mode (apply, resume, dry run, rollback)
    /// checks a journal this one way before trusting it.
    pub fn check(&self, kind: &str, sha: &str, ops: u64) -> Result<()> {
        let path = self.path.display();
        if self.header.kind != kind {
            return Err(Error::Invalid(format!("{path} is the journal of a {}, not of an {kind}", self.header.kind)));
        }
        if self.header.plan_sha256 != sha {
            return Err(Error::Invalid(format!("{path} belongs to plan {}, not {sha}", crate::error::brief(&self.header.plan_sha256, 80))));
        }
        if let Some(e) = self.entries.values().find(|e| e.seq >= ops) {
            return Err(Error::Invalid(format!("{path} records operation {}, but the plan has {ops} operations", e.seq)));
        }
        Ok(())
    }

    pub fn is_finished(&self, seq: u64) -> bool {
        self.entries.get(&seq).is_some_and(|e| e.outcome.is_final())
    }
}

/// Takes the journal for this process: two runs appending to one journal
/// (an apply resumed while it still runs) would each skip what the other
/// wrote. The lock goes with the process, however it ends.
fn lock(file: &File, path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this File owns; no memory is involved.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::WouldBlock {
            return Err(Error::Invalid(format!(
                "{}: another ddbsnap process is using this journal; wait for it to finish",
                path.display()
            )));
        }
        return Err(Error::io_path(path, e));
    }
    Ok(())
}

/// Reads a journal: its header and the latest entry per operation. Every
/// complete line (ended by a newline) must be a valid entry; only a last
/// line without its newline, cut short by a crash, is left out.
pub fn read(path: &Path) -> Result<(Header, HashMap<u64, Entry>)> {
    let file = path.display().to_string();
    if !path.exists() {
        return Err(Error::Invalid(format!("{file}: no such journal")));
    }
    let f = File::open(path).map_err(|e| Error::io_path(path, e))?;
    let mut reader = BufReader::new(f);
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut header: Option<Header> = None;
    let mut entries = HashMap::new();
    loop {
        line.clear();
        // A journal line is a few hundred bytes; a conflict's item at most 400 KB of JSON.
        let n = (&mut reader).take(8 << 20).read_until(b'\n', &mut line).map_err(|e| Error::io_path(path, e))?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        number += 1;
        let bad = |cause: String| Error::Line { file: file.clone(), line: number, cause };
        let text = std::str::from_utf8(&line).map_err(|e| bad(format!("not UTF-8: {e}")))?;
        match &header {
            None => {
                let h: Header = serde_json::from_str(text)
                    .map_err(|e| bad(format!("not a ddbsnap journal's header: {}", crate::error::brief(&e.to_string(), 200))))?;
                if h.format != FORMAT {
                    return Err(bad(format!("not a ddbsnap journal ({})", crate::error::brief(&h.format, 60))));
                }
                header = Some(h);
            }
            Some(_) => {
                let e: Entry = serde_json::from_str(text)
                    .map_err(|e| bad(format!("not a journal entry: {}", crate::error::brief(&e.to_string(), 200))))?;
                entries.insert(e.seq, e);
            }
        }
    }
    let header = header.ok_or_else(|| {
        Error::Invalid(format!("{file}: no complete header line: not a journal ddbsnap wrote (ddbsnap writes the header before any write)"))
    })?;
    Ok((header, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_in_use_cannot_be_continued_by_another_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.journal");
        let header = Header {
            format: FORMAT.into(),
            kind: "load".into(),
            plan_sha256: "x".into(),
            plan_dir: String::new(),
            started_at: String::new(),
            stamp_now: String::new(),
            stamp_now_ms: 0,
            undoes: None,
            tables: None,
        };
        let first = Journal::create(&path, header).unwrap();
        let err = Journal::resume(&path).err().expect("the journal is held").to_string();
        assert!(err.contains("another ddbsnap process is using this journal"), "{err}");
        drop(first);
        assert!(Journal::resume(&path).is_ok(), "the lock goes with its holder");
    }
}
