//! `cutover isolate`: what still ignores the tenant column once it is in place — unique keys,
//! foreign keys, views and triggers — with why each matters and the fix proposed. Read-only;
//! exit 1 while findings remain.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::{Concern, Session, shown};

use crate::cli::progress::StderrProgress;
use crate::cli::{out, print_json};

/// Reports the isolation findings of `db` for the tenant column `column`.
pub fn run(db: &Path, column: &str, json: bool) -> Result<ExitCode> {
    let (report, written) = StderrProgress::new().during(|p| Session::new(db).isolate(column, p))?;
    let clean = report.clean();
    if json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("ok".into(), clean.into());
            o.insert("summary".into(), report.summary().into());
            o.insert("reports".into(), serde_json::json!([written]));
        }
        print_json(&v)?;
    } else {
        // A finding a block: its lines wrap in any terminal instead of one table hundreds wide.
        let mut text = format!("Isolation of {}: {}.\n", shown(db), report.summary());
        for f in &report.findings {
            let (kind, place) = match &f.concern {
                Concern::UniqueKey { table, .. } => ("unique key", table.clone()),
                Concern::ForeignKey { table, .. } => ("foreign key", table.clone()),
                Concern::View { view, .. } => ("view", view.clone()),
                Concern::Trigger { on, .. } => ("trigger", on.clone()),
            };
            let mark = if f.proposed { "* " } else { "  " };
            text.push_str(&format!(
                "\n{mark}{kind} of {place}: {}\n    why: {}\n    fix: {}\n",
                f.written, f.why, f.fix
            ));
        }
        if !report.findings.is_empty() {
            text.push_str("\n* proposed for per-tenant scoping (natural keys); the rest is for a person to decide.\n");
        }
        text.push_str(&format!("Report     {}\n", shown(&written)));
        out(text)?;
    }
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(cutover::engine::ExitKind::Stopped as u8) })
}
