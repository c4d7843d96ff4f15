//! What the screens ask of the state: the dashboard's checks, the audit list as filtered and
//! toggled, the word to type before execute, and where production stands.

use super::{App, Step};
use crate::engine::Check;
use crate::engine::Rehearsal;
use crate::engine::file_name;
use crate::engine::{Decision, TableAudit};

impl App {
    /// The checks the dashboard lists: production's, then, when production's bytes equal the
    /// rehearsal's, the rehearsal's checks, which that MATCH proves for production too.
    pub fn dashboard_checks(&self) -> Vec<Check> {
        let Some(v) = &self.results.verification else { return Vec::new() };
        let mut checks = v.checks.clone();
        let proven = self.results.execute().is_some_and(|x| x.identical);
        if let (true, Some(d)) = (proven, self.prepared.dry_run()) {
            for c in &d.verification.checks {
                let mut c = c.clone();
                c.detail = format!("on copy: {}", c.detail);
                checks.push(c);
            }
        }
        checks
    }

    /// The tables as the audit list shows them, filtered.
    pub fn visible_tables(&self) -> Vec<&TableAudit> {
        let needle = self.choices.filter.text.to_lowercase();
        self.prepared
            .audit
            .as_ref()
            .map(|a| a.tables.iter().filter(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle)).collect())
            .unwrap_or_default()
    }

    /// A table's decision after the technician's toggles, with its reason.
    pub fn effective(&self, t: &TableAudit) -> (Decision, String) {
        if self.choices.excluded.contains(&t.name) {
            (Decision::Excluded, "excluded by you".into())
        } else if self.choices.included.contains(&t.name) {
            (Decision::Migrate, "included by you".into())
        } else {
            (t.decision, t.reason.clone())
        }
    }

    /// The text the technician must type to execute.
    pub fn confirmation_text(&self) -> String {
        match self.prepared.plan().and_then(|p| p.tenant()) {
            Some(spec) => spec.tenant.clone(),
            None => file_name(&self.db),
        }
    }

    /// Whether the database now holds a committed change that was not rolled back: executed
    /// in this session (even if a step after the commit failed), or found so in the journal.
    pub fn migrated(&self) -> bool {
        let r = &self.results;
        let resumed = r.resume.as_ref().is_some_and(|s| s.standing.live_execute().is_some_and(|x| x.committed));
        r.rolled_back.is_none() && (r.executed.is_some() || r.committed_unverified || resumed)
    }

    /// Whether it is migrated without a passing verification in this session.
    pub fn migrated_unverified(&self) -> bool {
        self.migrated() && !self.results.verification.as_ref().is_some_and(|v| v.ok)
    }

    /// A passed rehearsal of the current plan, the one thing execute may start from.
    pub fn rehearsal(&self) -> Option<Rehearsal> {
        let plan = self.prepared.plan()?;
        self.prepared.dry_run().filter(|d| d.ok && d.plan_sha256 == plan.sha256).map(Rehearsal::from)
    }

    pub(super) fn list_len(&self) -> usize {
        match self.view.step {
            Step::Audit if self.choices.isolation => self.isolation_rows().len(),
            Step::Audit => self.visible_tables().len(),
            Step::Plan => self.prepared.plan().map_or(0, |p| p.statements.len()),
            Step::DryRun => self.prepared.dry_run().map_or(0, |d| d.verification.checks.len()),
            Step::Verify => self.dashboard_checks().len(),
            _ => 0,
        }
    }
}
