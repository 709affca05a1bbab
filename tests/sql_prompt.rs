//! Issue 16, part 4: the interactive SQL prompt, driven in a real terminal
//! (tmux): a query typed and its answer read off the screen, `\d` and
//! `\d TABLE`, and the history kept across sessions (Up recalls the last
//! statement of the previous run).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// tmux, or None to skip (scripts/test.sh installs it and requires it).
fn tmux() -> Option<PathBuf> {
    let found = std::env::var_os("DDBSNAP_TMUX").map(PathBuf::from).or_else(|| {
        let out = Command::new("sh").args(["-c", "command -v tmux"]).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    });
    if found.is_none() {
        assert!(std::env::var("DDBSNAP_REQUIRE_SERVERS").is_err(), "tmux is required (scripts/test.sh installs it)");
        eprintln!("skipped: no tmux");
    }
    found
}

struct Session {
    tmux: PathBuf,
    socket: PathBuf,
    name: String,
}

impl Session {
    /// A tmux server of its own (a socket per session: the last one's
    /// server may still be shutting down), running `command`.
    fn start(tmux: &Path, dir: &Path, command: &str) -> Session {
        static SESSIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let s = Session { tmux: tmux.to_path_buf(), socket: dir.join(format!("tmux-{n}.sock")), name: "ddbsnap".into() };
        let out = s.cmd(&["new-session", "-d", "-s", &s.name, "-x", "160", "-y", "50", command]);
        assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
        s
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.tmux).arg("-S").arg(&self.socket).args(args).output().expect("run tmux")
    }

    /// Types `keys` (tmux key names such as Enter and Up, or text). An
    /// argument ending in `;` would end tmux's command: escaped as `\;`.
    fn keys(&self, keys: &[&str]) {
        let escaped: Vec<String> =
            keys.iter().map(|k| if let Some(t) = k.strip_suffix(';') { format!("{t}\\;") } else { k.to_string() }).collect();
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend(escaped.iter().map(String::as_str));
        let out = self.cmd(&args);
        assert!(out.status.success(), "tmux send-keys {keys:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", &self.name]).stdout).into_owned()
    }

    /// Waits until the screen shows `text` (the binary is a debug build).
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the screen never showed {text:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn the_prompt_answers_lists_tables_and_keeps_history() {
    let Some(tmux) = tmux() else { return };
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let command = format!(
        "env DDBSNAP_HISTORY={} {} sql -q --cache never -e {}",
        history.display(),
        env!("CARGO_BIN_EXE_ddbsnap"),
        common::testdata("contacts").display()
    );
    let s = Session::start(&tmux, dir.path(), &command);
    s.wait_for("ddbsnap>");
    s.keys(&["SELECT count(*) AS items FROM Contact;", "Enter"]);
    let screen = s.wait_for("| 199   |");
    assert!(screen.contains("items"), "{screen}");
    s.keys(&["\\d", "Enter"]);
    s.wait_for("\nContact\n");
    s.keys(&["\\d Contact", "Enter"]);
    let screen = s.wait_for("createdAt");
    assert!(screen.lines().any(|l| l.starts_with("id") && l.contains("Utf8")), "{screen}");
    s.keys(&["\\q", "Enter"]);
    let start = Instant::now();
    while !std::fs::read_to_string(&history).unwrap_or_default().contains("SELECT count(*) AS items FROM Contact;") {
        assert!(start.elapsed() < Duration::from_secs(30), "no history written to {}", history.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(s);

    // A new session recalls the earlier statements with Up (the query is
    // fourth from the end: `\d`, `\d Contact` and `\q` came after it).
    let s = Session::start(&tmux, dir.path(), &command);
    s.wait_for("ddbsnap>");
    s.keys(&["Up", "Up", "Up", "Up"]);
    s.wait_for("ddbsnap> SELECT count(*) AS items FROM Contact;");
}
