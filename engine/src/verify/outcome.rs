//! What a verification found, as plain data: each check's verdict and detail, per table. An
//! error after a commit can carry it, so a face shows the checks that ran.

use serde::{Deserialize, Serialize};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The check holds.
    Pass,
    /// Worth a look; not a failure.
    Warn,
    /// The check does not hold.
    Fail,
}

impl Status {
    /// The verdict as printed.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One finding about one table (or object) inside a check, for drill-down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The table or object.
    pub subject: String,
    /// Its verdict.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

/// One check of the verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Short machine name: `column_present`, `content_digest`, …
    pub name: String,
    /// The worst verdict of its findings.
    pub status: Status,
    /// One line a person reads.
    pub detail: String,
    /// Per table, where the check is per table.
    pub findings: Vec<Finding>,
}

impl Check {
    /// A check from its findings: the worst finding decides, `summary` says it in words.
    pub fn from_findings(
        name: &str,
        findings: Vec<Finding>,
        summary: impl FnOnce(Status, &[Finding]) -> String,
    ) -> Check {
        let status = findings.iter().map(|f| f.status).max().unwrap_or(Status::Pass);
        let detail = summary(status, &findings);
        // Keep drill-down lean: the passing findings of a big schema add nothing but bulk.
        Check { name: name.into(), status, detail, findings }
    }

    /// A check without per-table findings.
    pub fn single(name: &str, status: Status, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status, detail: detail.into(), findings: Vec::new() }
    }
}

/// How much to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every check.
    Full,
    /// After proof by identical outcome: the cheap checks only.
    Cheap,
}

/// The outcome of comparing production's resulting hash with the rehearsal's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identical {
    /// The rehearsal copy's SHA-256 after its commit.
    pub rehearsal_sha256: String,
    /// This database's SHA-256 after its commit.
    pub actual_sha256: String,
}

/// All the checks of one verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Full or cheap.
    pub scope: Scope,
    /// The checks in order.
    pub checks: Vec<Check>,
    /// No check failed.
    pub ok: bool,
    /// Seconds it took.
    pub seconds: f64,
}

impl Verification {
    /// The names of the checks with the given verdict.
    pub fn names(&self, status: Status) -> Vec<String> {
        self.checks.iter().filter(|c| c.status == status).map(|c| c.name.clone()).collect()
    }

    /// A one-line summary: "12 PASS, 1 WARN, 0 FAIL".
    pub fn summary(&self) -> String {
        let n = |s| self.checks.iter().filter(|c| c.status == s).count();
        format!("{} PASS, {} WARN, {} FAIL", n(Status::Pass), n(Status::Warn), n(Status::Fail))
    }
}
