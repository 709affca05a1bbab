//! Running ddbsnap's own commands as the rehearsal's steps: plan, check,
//! lint, apply, verify and rollback run as separate processes of this very
//! binary, with the arguments production will use, so that what is
//! rehearsed is exactly what will be run (exit codes, journals, crashes
//! included). Each run is timed and its command line kept for the report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How to start ddbsnap for a step.
#[derive(Clone, Debug)]
pub struct Runner {
    pub exe: PathBuf,
    /// Global flags every step gets (e.g. --region, -q).
    pub global: Vec<String>,
}

/// One finished command.
#[derive(Debug, Clone)]
pub struct Ran {
    pub command: String,
    /// None when the process was killed.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub seconds: f64,
}

impl Ran {
    /// The stdout as JSON, or an error naming the command and its stderr.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.stdout).map_err(|e| {
            Error::Invalid(format!(
                "`{}` exited with {:?} and printed no JSON report ({e}); its stderr:\n{}",
                self.command,
                self.code,
                self.stderr.trim()
            ))
        })
    }

    /// An error for an unexpected exit code, with the command's stderr.
    pub fn failure(&self) -> Error {
        Error::Invalid(format!("`{}` exited with {:?}:\n{}", self.command, self.code, self.stderr.trim()))
    }
}

impl Runner {
    fn command(&self, args: &[String]) -> (Command, String) {
        let mut c = Command::new(&self.exe);
        c.args(&self.global).args(args);
        let shown: Vec<String> =
            std::iter::once("ddbsnap".to_string()).chain(self.global.iter().cloned()).chain(args.iter().cloned()).collect();
        (c, shown.iter().map(|a| shell_word(a)).collect::<Vec<_>>().join(" "))
    }

    /// Runs `ddbsnap ARGS` to its end.
    pub async fn run(&self, args: Vec<String>) -> Result<Ran> {
        self.run_killing(args, None).await
    }

    /// Runs `ddbsnap ARGS` and kills it (SIGKILL: no chance to clean up, as
    /// in a crash) once `journal` records `after` finished operations. A
    /// run that ends by itself before that is returned as it ended.
    pub async fn run_and_kill(&self, args: Vec<String>, journal: PathBuf, after: u64) -> Result<Ran> {
        self.run_killing(args, Some((journal, after))).await
    }

    async fn run_killing(&self, args: Vec<String>, kill: Option<(PathBuf, u64)>) -> Result<Ran> {
        let (mut c, command) = self.command(&args);
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut child = c
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| Error::Invalid(format!("starting `{command}`: {e}")))?;
            if let Some((journal, after)) = kill {
                let mut watch = JournalWatch::default();
                while child.try_wait().map_err(|e| Error::Invalid(format!("waiting for `{command}`: {e}")))?.is_none() {
                    if watch.entries(&journal) >= after {
                        let _ = child.kill();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let out = child.wait_with_output().map_err(|e| Error::Invalid(format!("waiting for `{command}`: {e}")))?;
            Ok(Ran {
                command,
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                seconds: started.elapsed().as_secs_f64(),
            })
        })
        .await
        .map_err(|e| Error::Invalid(format!("a step's thread failed: {e}")))?
    }
}

/// Counts a growing journal's finished operations (its lines but the
/// header), reading only what was appended since the last look.
#[derive(Default)]
struct JournalWatch {
    offset: u64,
    lines: u64,
}

impl JournalWatch {
    fn entries(&mut self, path: &Path) -> u64 {
        use std::io::{Read, Seek, SeekFrom};
        if let Ok(mut f) = std::fs::File::open(path)
            && f.seek(SeekFrom::Start(self.offset)).is_ok()
        {
            let mut buf = Vec::new();
            if f.read_to_end(&mut buf).is_ok() {
                self.offset += buf.len() as u64;
                self.lines += buf.iter().filter(|b| **b == b'\n').count() as u64;
            }
        }
        self.lines.saturating_sub(1)
    }
}

/// A command-line word quoted for a POSIX shell where needed.
/// A word holding control characters (a newline in a field name) is
/// written as `$'...'` with escapes, so that what is shown on one line is
/// what a shell runs.
pub(crate) fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        s.to_string()
    } else if s.chars().any(crate::error::is_unsafe_char) {
        let mut out = String::from("$'");
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c if crate::error::is_unsafe_char(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Finished operations a journal records now.
pub fn journal_entries(path: &Path) -> u64 {
    JournalWatch::default().entries(path)
}

#[cfg(test)]
mod shell_word_tests {
    use super::shell_word;

    /// Each word, pasted into bash, is exactly the string again.
    #[test]
    fn words_survive_a_shell_unchanged() {
        for w in [
            "plain",
            "with space",
            "it's",
            "$(touch x) `id`; rm",
            "a\nb; touch y",
            "esc\u{1b}[31m",
            "tab\there",
            "back\\slash\n",
            "é\u{85}",
            "\u{202e}txt",
        ] {
            let out = std::process::Command::new("bash").args(["-c", &format!("printf %s {}", shell_word(w))]).output().expect("bash");
            assert_eq!(String::from_utf8_lossy(&out.stdout), w, "{}", shell_word(w));
            assert!(!shell_word(w).chars().any(crate::error::is_unsafe_char), "{:?}", shell_word(w));
        }
    }
}
