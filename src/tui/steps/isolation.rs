//! Isolation transitions: `i` starts the isolation fix once the tenant column is in place (from
//! the first screen, or from the dashboard after the tenant migration); the Isolation list
//! toggles which unique keys are rebuilt; the plan is the rebuild of the chosen ones. The run
//! goes on through the same backup, dry run, execute and dashboard as the migration.

use std::collections::BTreeSet;

use crate::engine::{Concern, FixRequest, IsolationFinding, KeyChoice};
use crate::tui::app::{App, Effect, Prepared, Results, Step};

impl App {
    /// Whether `i` starts the isolation fix here: on the first screen when a table already has
    /// the tenant column, or on the dashboard of a verified migration.
    pub fn offers_isolation(&self) -> bool {
        if self.choices.isolation || self.script.is_some() || self.view.modal.is_some() {
            return false;
        }
        match self.view.step {
            Step::Preflight => self.prepared.tenant_in_place && self.preflight_clear(),
            Step::Verify => {
                self.results.rolled_back.is_none()
                    && !self.results.undone
                    && self.results.verification.as_ref().is_some_and(|v| v.ok)
                    && (self.prepared.tenant_in_place || self.prepared.plan().is_some_and(|p| p.tenant().is_some()))
            }
            _ => false,
        }
    }

    /// Starts the isolation run: what the migration run produced is set aside (the journal
    /// keeps it), and the file is checked again before its own backup.
    pub(crate) fn start_isolation(&mut self) -> Vec<Effect> {
        if !self.offers_isolation() {
            return Vec::new();
        }
        self.choices.isolation = true;
        self.choices.keys = None;
        let preflight = self.prepared.preflight.take();
        self.prepared = Prepared { preflight, tenant_in_place: true, ..Prepared::default() };
        self.results = Results::default();
        self.move_to(Step::Preflight);
        self.view.notice = Some("isolation: the unique keys that ignore the tenant column, rebuilt per tenant".into());
        self.recheck()
    }

    /// The findings as the Isolation list shows them: the unique keys, which can be rebuilt,
    /// first; then what is reported for a person.
    pub fn isolation_rows(&self) -> Vec<&IsolationFinding> {
        let Some(report) = &self.prepared.isolation else { return Vec::new() };
        let key = |f: &&IsolationFinding| matches!(f.concern, Concern::UniqueKey { .. });
        report.findings.iter().filter(key).chain(report.findings.iter().filter(|f| !key(f))).collect()
    }

    /// Whether the finding's key is chosen for the rebuild (the proposed ones until toggled).
    pub fn key_chosen(&self, f: &IsolationFinding) -> bool {
        let Concern::UniqueKey { table, index, .. } = &f.concern else { return false };
        match &self.choices.keys {
            Some(keys) => keys.contains(&(table.clone(), index.clone())),
            None => f.proposed,
        }
    }

    /// Space on the Isolation list: a unique key in or out of the rebuild. Foreign keys, views
    /// and triggers are reported for a person, never rebuilt.
    pub(crate) fn toggle_key(&mut self) {
        let Some(report) = &self.prepared.isolation else { return };
        let Some(f) = self.isolation_rows().get(self.view.cursor).copied() else { return };
        let Concern::UniqueKey { table, index, natural, .. } = &f.concern else {
            self.view.notice = Some(format!("{}: reported for a person, not rebuilt by cutover", f.written));
            return;
        };
        // A natural key held back (a foreign key points at it, a tenant in its WHERE) stays.
        if *natural && !f.proposed {
            self.view.notice = Some(format!("{} of {table} is held back: {}", f.written, f.fix));
            return;
        }
        let mut keys: BTreeSet<(String, String)> = match &self.choices.keys {
            Some(k) => k.clone(),
            None => report
                .findings
                .iter()
                .filter(|x| x.proposed)
                .filter_map(|x| match &x.concern {
                    Concern::UniqueKey { table, index, .. } => Some((table.clone(), index.clone())),
                    _ => None,
                })
                .collect(),
        };
        let key = (table.clone(), index.clone());
        let notice = if keys.remove(&key) {
            format!("{} of {table} stays as it is", f.written)
        } else {
            keys.insert(key);
            format!("{} of {table} will lead with {}", f.written, report.column)
        };
        self.view.notice = Some(notice);
        self.choices.keys = Some(keys);
        self.prepared.planned = None;
        self.prepared.rehearsed = None;
    }

    /// The rebuild the Isolation list asks for.
    pub(crate) fn fix_request(&mut self) -> Option<FixRequest> {
        let report = self.prepared.isolation.as_ref()?;
        let keys: Vec<KeyChoice> = report
            .findings
            .iter()
            .filter(|f| self.key_chosen(f))
            .filter_map(|f| match &f.concern {
                Concern::UniqueKey { table, index, .. } => {
                    Some(KeyChoice { table: table.clone(), index: index.clone() })
                }
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            self.view.notice = Some("no key is chosen: space puts one in".into());
            self.prepared.planned = None;
            return None;
        }
        Some(FixRequest { column: report.column.clone(), keys: Some(keys), ..FixRequest::default() })
    }
}
