//! Audit and plan transitions: tables in and out, the tenant value, the plan and the dry run.

use crate::engine::Decision;
use crate::engine::{PlanRequest, TenantChoice};
use crate::tui::app::{App, Effect};
use crate::tui::worker::Job;

impl App {
    pub(crate) fn toggle_selected(&mut self) {
        if self.choices.isolation {
            return self.toggle_key();
        }
        let Some((name, decision, reason)) = self.visible_tables().get(self.view.cursor).map(|t| {
            let (d, r) = self.effective(t);
            (t.name.clone(), d, r)
        }) else {
            return;
        };
        match decision {
            Decision::Migrate => {
                if !self.choices.included.remove(&name) {
                    self.choices.excluded.insert(name.clone());
                }
                self.view.notice = Some(format!("{name} is out of the migration"));
            }
            Decision::Excluded => {
                if !self.choices.excluded.remove(&name) {
                    self.choices.included.insert(name.clone());
                }
                self.view.notice = Some(format!("{name} is in the migration"));
            }
            Decision::Skip => {
                self.view.notice = Some(format!("{name} cannot take part: {reason}"));
                return;
            }
        }
        self.prepared.planned = None;
        self.prepared.rehearsed = None;
    }

    pub(crate) fn replan(&mut self) -> Vec<Effect> {
        self.prepared.rehearsed = None;
        let request = match &self.script {
            _ if self.choices.isolation => match self.fix_request() {
                Some(fix) => PlanRequest::Isolate(fix),
                None => return Vec::new(),
            },
            Some(script) => PlanRequest::Script(script.clone()),
            None if self.choices.app_plan => PlanRequest::Migrations,
            None if self.choices.tenant.text.is_empty() => {
                self.view.notice = Some("type the tenant value: press t".into());
                self.prepared.planned = None;
                return Vec::new();
            }
            None => {
                let mut choice = TenantChoice::new(self.choices.tenant.text.clone());
                if let Some(a) = &self.prepared.audit {
                    choice.column = a.column.clone();
                }
                choice.exclude = self.choices.excluded.iter().cloned().collect();
                choice.include = self.choices.included.iter().cloned().collect();
                PlanRequest::Tenant(choice)
            }
        };
        let side = Box::new(self.side.clone());
        self.begin(Job::Plan { db: self.db.clone(), request, hold: self.hold.clone(), side })
    }

    pub(crate) fn start_dry_run(&mut self) -> Vec<Effect> {
        let (Some(backup), Some(planned)) = (self.prepared.backup_ref(), &self.prepared.planned) else {
            self.view.notice = Some("a backup and a plan are needed first".into());
            return Vec::new();
        };
        let job = Job::DryRun {
            db: self.db.clone(),
            backup,
            planned: Box::new(planned.clone()),
            hold: self.hold.clone(),
            side: Box::new(self.side.clone()),
        };
        self.begin(job)
    }
}
