//! Audit and plan transitions: tables in and out, the tenant value, the plan and the dry run.

use crate::engine::audit::Decision;
use crate::engine::dryrun::BackupRef;
use crate::tui::app::{App, Effect};
use crate::tui::worker::{Job, PlanChoice};

impl App {
    pub(crate) fn toggle_selected(&mut self) {
        let Some((name, decision, reason)) = self.visible_tables().get(self.cursor).map(|t| {
            let (d, r) = self.effective(t);
            (t.name.clone(), d, r)
        }) else {
            return;
        };
        match decision {
            Decision::Migrate => {
                if !self.included.remove(&name) {
                    self.excluded.insert(name.clone());
                }
                self.notice = Some(format!("{name} is out of the migration"));
            }
            Decision::Excluded => {
                if !self.excluded.remove(&name) {
                    self.included.insert(name.clone());
                }
                self.notice = Some(format!("{name} is in the migration"));
            }
            Decision::Skip => {
                self.notice = Some(format!("{name} cannot take part: {reason}"));
                return;
            }
        }
        self.plan = None;
        self.dry_run = None;
    }

    pub(crate) fn replan(&mut self) -> Vec<Effect> {
        self.dry_run = None;
        if let Some(script) = &self.script {
            return self.begin(Job::Script { path: script.clone() });
        }
        if self.tenant.text.is_empty() {
            self.notice = Some("type the tenant value: press t".into());
            self.plan = None;
            return Vec::new();
        }
        let column = self.audit.as_ref().map_or_else(|| "tenant_id".to_string(), |a| a.column.clone());
        let choice = PlanChoice {
            tenant: self.tenant.text.clone(),
            column,
            excluded: self.excluded.iter().cloned().collect(),
            included: self.included.iter().cloned().collect(),
        };
        self.begin(Job::Plan { db: self.db.clone(), choice })
    }

    pub(crate) fn start_dry_run(&mut self) -> Vec<Effect> {
        let (Some(backup), Some(plan)) = (&self.backup, &self.plan) else {
            self.notice = Some("a backup and a plan are needed first".into());
            return Vec::new();
        };
        let job = Job::DryRun {
            db: self.db.clone(),
            backup: BackupRef { path: backup.path.clone(), sha256: backup.sha256.clone() },
            plan: Box::new(plan.clone()),
            audit: self.audit.clone().filter(|_| self.script.is_none()).map(Box::new),
        };
        self.begin(job)
    }
}
