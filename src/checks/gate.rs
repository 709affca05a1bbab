//! Which check results stop a migration or fail a CI job.
//!
//! A check compares two runs: the data before and after a plan, or a
//! previous report (the baseline) and this one. Gating on absolutes made
//! every unrelated, long-standing failure block every migration, so the
//! `--allow-failing-checks` escape hatch got used every time and then
//! protected nothing. The default rule here is "nothing got worse": a
//! failure that was already there, with no more violations, is reported
//! as pre-existing and does not block. `Rule::Clean` (`--require-clean`)
//! restores the strict rule.
//!
//! Violation counts are what the comparison sees: a change that fixes five
//! items and breaks five others leaves a count unchanged. The plan's
//! before/after samples and the reports' samples are where that shows.

use serde::Serialize;

use super::generate::Severity;
use super::run::Status;

/// What blocks.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rule {
    /// Only checks made worse (a pass that fails, more violations, a new
    /// error, a check that no longer runs) block.
    #[default]
    Regressions,
    /// Every failing error-severity check blocks.
    Clean,
}

impl Rule {
    /// `--require-clean` given or not.
    pub fn from_flag(require_clean: bool) -> Rule {
        if require_clean { Rule::Clean } else { Rule::Regressions }
    }
}

/// A check's outcome in one run (reports show a baseline's as `baseline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub violations: u64,
}

/// How a check moved between two runs. The order is the reports' order:
/// what needs attention first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Failing now; passing (or not there) before.
    New,
    /// Failing before and now, with more violations, or now an error.
    Regressed,
    /// In the earlier run but not in this one (its table is gone, or the check was removed).
    Missing,
    /// Failing before and now, with the same count.
    Unchanged,
    /// Failing before and now, with fewer violations.
    Improved,
    /// Failing before, passing now.
    Fixed,
    /// Passing in both runs (or new and passing).
    Passing,
}

impl Change {
    /// Made worse: the changes the default rule blocks on.
    pub fn is_worse(self) -> bool {
        matches!(self, Change::New | Change::Regressed | Change::Missing)
    }

    /// The heading reports group this change under.
    pub fn group(self) -> &'static str {
        match self {
            Change::New | Change::Regressed | Change::Missing => "new or worse",
            Change::Unchanged | Change::Improved => "pre-existing",
            Change::Fixed => "fixed",
            Change::Passing => "passing",
        }
    }

    /// The position of this change's group in reports.
    pub fn group_rank(self) -> u8 {
        match self {
            Change::New | Change::Regressed | Change::Missing => 0,
            Change::Unchanged | Change::Improved => 1,
            Change::Fixed => 2,
            Change::Passing => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Regressed => "regressed",
            Change::Missing => "missing",
            Change::Unchanged => "unchanged",
            Change::Improved => "improved",
            Change::Fixed => "fixed",
            Change::Passing => "passing",
        }
    }
}

/// Compares a check's outcome now with an earlier one (None: the check or
/// its table was not there).
pub fn classify(before: Option<Outcome>, now: Outcome) -> Change {
    use Status::{Error, Fail, Pass};
    match (before.map(|b| (b.status, b.violations)), now.status) {
        (None | Some((Pass, _)), Pass) => Change::Passing,
        (Some(_), Pass) => Change::Fixed,
        (None | Some((Pass, _)), _) => Change::New,
        (Some((Error, _)), Error) => Change::Unchanged,
        // A check that could run and now cannot proves nothing any more; one
        // that could not run before has no count to compare with.
        (Some((Fail, _)), Error) | (Some((Error, _)), Fail) => Change::Regressed,
        (Some((Fail, b)), Fail) => match now.violations.cmp(&b) {
            std::cmp::Ordering::Greater => Change::Regressed,
            std::cmp::Ordering::Equal => Change::Unchanged,
            std::cmp::Ordering::Less => Change::Improved,
        },
    }
}

/// Whether a check blocks under `rule`. Only error-severity failures block;
/// a check that cannot run blocks under either rule, since it proves nothing.
pub fn blocks(rule: Rule, severity: Severity, now: Status, change: Change) -> bool {
    match (now, change) {
        (Status::Error, _) => true,
        (_, Change::Missing) => rule == Rule::Regressions && severity == Severity::Error,
        (Status::Pass, _) => false,
        (Status::Fail, change) => severity == Severity::Error && (rule == Rule::Clean || change.is_worse()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(status: Status, violations: u64) -> Outcome {
        Outcome { status, violations }
    }

    #[test]
    fn classifies_every_pair() {
        use Status::{Error, Fail, Pass};
        assert_eq!(classify(None, o(Pass, 0)), Change::Passing);
        assert_eq!(classify(Some(o(Pass, 0)), o(Pass, 0)), Change::Passing);
        assert_eq!(classify(Some(o(Fail, 3)), o(Pass, 0)), Change::Fixed);
        assert_eq!(classify(Some(o(Error, 0)), o(Pass, 0)), Change::Fixed);
        assert_eq!(classify(None, o(Fail, 1)), Change::New);
        assert_eq!(classify(Some(o(Pass, 0)), o(Fail, 1)), Change::New);
        assert_eq!(classify(Some(o(Pass, 0)), o(Error, 0)), Change::New);
        assert_eq!(classify(Some(o(Fail, 5)), o(Fail, 6)), Change::Regressed);
        assert_eq!(classify(Some(o(Fail, 5)), o(Fail, 5)), Change::Unchanged);
        assert_eq!(classify(Some(o(Fail, 5)), o(Fail, 4)), Change::Improved);
        assert_eq!(classify(Some(o(Fail, 5)), o(Error, 0)), Change::Regressed);
        assert_eq!(classify(Some(o(Error, 0)), o(Fail, 1)), Change::Regressed);
        assert_eq!(classify(Some(o(Error, 0)), o(Error, 0)), Change::Unchanged);
    }

    #[test]
    fn only_worse_error_checks_block_by_default() {
        use Severity::{Error as E, Warn as W};
        let r = Rule::Regressions;
        assert!(!blocks(r, E, Status::Fail, Change::Unchanged));
        assert!(!blocks(r, E, Status::Fail, Change::Improved));
        assert!(blocks(r, E, Status::Fail, Change::Regressed));
        assert!(blocks(r, E, Status::Fail, Change::New));
        assert!(!blocks(r, W, Status::Fail, Change::New));
        assert!(blocks(r, E, Status::Pass, Change::Missing));
        assert!(!blocks(r, W, Status::Pass, Change::Missing));
        assert!(blocks(r, W, Status::Error, Change::Unchanged));
        assert!(!blocks(r, E, Status::Pass, Change::Fixed));
    }

    #[test]
    fn the_clean_rule_blocks_every_error_failure() {
        assert!(blocks(Rule::Clean, Severity::Error, Status::Fail, Change::Unchanged));
        assert!(blocks(Rule::Clean, Severity::Error, Status::Fail, Change::Improved));
        assert!(!blocks(Rule::Clean, Severity::Warn, Status::Fail, Change::Unchanged));
        assert!(!blocks(Rule::Clean, Severity::Error, Status::Pass, Change::Missing));
    }
}
