//! The result of a headless phase: one JSON object for fleet tooling, or a readable summary.

use cutover::engine::shown;
use std::path::PathBuf;

use cutover::engine::BackupRef;
use cutover::engine::Changes;
use cutover::engine::StatementRun;
use cutover::engine::{Check, Verification};
use serde::Serialize;

use crate::cli::table::{self, Align};

/// Seconds per phase that ran.
#[derive(Debug, Default, Serialize)]
pub struct PhaseTimings {
    /// Making (or checking) the backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<f64>,
    /// The rehearsal, its checks included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<f64>,
    /// Production's transaction and result hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execute: Option<f64>,
    /// Production's checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<f64>,
    /// Restoring the backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<f64>,
}

/// What a phase reports, as JSON and as text.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// Everything passed.
    pub ok: bool,
    /// `dry_run`, `execute`, `verify` or `rollback`.
    pub phase: &'static str,
    /// The database.
    #[serde(with = "cutover::engine::ospath")]
    pub database: PathBuf,
    /// The plan's SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// The backup made or used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupRef>,
    /// The checks, each with `name`, `status`, `detail` and per-table findings.
    pub checks: Vec<Check>,
    /// Seconds per phase.
    pub timings_s: PhaseTimings,
    /// The database's (or the copy's) SHA-256 after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_sha256: Option<String>,
    /// Production's result equals the rehearsal's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identical: Option<bool>,
    /// The statements as they ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementRun>,
    /// Notes and warnings about the plan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Reports written.
    #[serde(skip_serializing_if = "Vec::is_empty", with = "cutover::engine::ospath::list")]
    pub reports: Vec<PathBuf>,
    /// What the shop wrote since the execute (verify), table by table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// What a rollback discarded, as the technician asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded: Option<Changes>,
    /// The plan had nothing to do.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nothing_to_do: bool,
    /// The database already carries this very plan's verified result (a re-run).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already_done: bool,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One line saying where the database stands.
    pub summary: String,
}

impl Outcome {
    /// Takes the checks of a verification.
    pub fn with_checks(mut self, v: &Verification) -> Self {
        self.checks = v.checks.clone();
        self
    }

    /// The outcome as text for a person.
    pub fn render(&self) -> String {
        let mut s = format!("{}\n", self.summary);
        if let Some(b) = &self.backup {
            s.push_str(&format!("Backup     {}\n           sha256 {}\n", shown(&b.path), b.sha256));
        }
        if let Some(p) = &self.plan_sha256 {
            s.push_str(&format!("Plan       sha256 {p}\n"));
        }
        if let Some(r) = &self.result_sha256 {
            let same = match self.identical {
                Some(true) => "  (MATCH with the rehearsal)",
                Some(false) => "  (differs from the rehearsal)",
                None => "",
            };
            s.push_str(&format!("Result     sha256 {r}{same}\n"));
        }
        if !self.checks.is_empty() {
            s.push('\n');
            let rows: Vec<Vec<String>> = self
                .checks
                .iter()
                .map(|c| vec![c.name.clone(), c.status.label().to_string(), c.detail.clone()])
                .collect();
            s.push_str(&table::render(&["CHECK", "RESULT", "DETAIL"], &[Align::Left, Align::Left, Align::Left], &rows));
            for c in &self.checks {
                for f in c.findings.iter().filter(|f| f.status != cutover::engine::Status::Pass).take(10) {
                    s.push_str(&format!("  {} · {}: {} — {}\n", c.name, f.subject, f.status.label(), f.detail));
                }
            }
        }
        let t = &self.timings_s;
        let parts: Vec<String> = [
            ("backup", t.backup),
            ("dry run", t.dry_run),
            ("execute", t.execute),
            ("verify", t.verify),
            ("rollback", t.rollback),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| format!("{n} {v:.2} s")))
        .collect();
        if !parts.is_empty() {
            s.push_str(&format!("\nTime       {}\n", parts.join(", ")));
        }
        for r in &self.reports {
            s.push_str(&format!("Report     {}\n", shown(r)));
        }
        s
    }
}
