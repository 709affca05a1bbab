//! A progress bar on stderr for long reads, shown only on a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Counts compressed bytes read and draws them while alive.
pub struct Progress {
    pub counter: Option<Arc<AtomicU64>>,
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub fn start(label: &str, quiet: bool) -> Progress {
        Progress::with_template(label, quiet, "{spinner} {msg} {bytes} read ({bytes_per_sec}) {elapsed}")
    }

    /// Counts items written instead of bytes read.
    pub fn items(label: &str, quiet: bool) -> Progress {
        Progress::with_template(label, quiet, "{spinner} {msg} {human_pos} items ({per_sec}) {elapsed}")
    }

    fn with_template(label: &str, quiet: bool, template: &str) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { counter: None, bar: None, ticker: None };
        }
        let counter = Arc::new(AtomicU64::new(0));
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_message(label.to_string());
        let (c, b) = (counter.clone(), bar.clone());
        let ticker = tokio::spawn(async move {
            loop {
                b.set_position(c.load(Ordering::Relaxed));
                b.tick();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Progress { counter: Some(counter), bar: Some(bar), ticker: Some(ticker) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
