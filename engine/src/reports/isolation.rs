//! `isolation.md`: what still ignores the tenant column, why, the fix proposed, and what a
//! second tenant met — and after an isolation fix, the same before and after with the keys
//! the fix rewrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{cell, now, write};
use crate::error::Result;
use crate::isolate::second_tenant::SecondTenant;
use crate::isolate::{Concern, IsolationReport};
use crate::plan::rebuild::RebuildSpec;
use crate::shown::shown;

/// Writes `isolation.md` for the audit `r`.
pub fn write_isolation(db: &Path, r: &IsolationReport) -> Result<PathBuf> {
    let mut s = format!("# Isolation of {}\n\nMade {}.\n\n", shown(db), now());
    audit_section(&mut s, r);
    write(db, "isolation.md", &s)
}

/// Writes `isolation.md` after an isolation fix: the findings and second tenant before, the
/// keys rewritten, and the findings and second tenant after, on the migrated file.
pub fn write_fix(db: &Path, before: &IsolationReport, fix: &RebuildSpec, plan: &str, after: &IsolationReport) -> Result<PathBuf> {
    let mut s = format!(
        "# Isolation of {}: fixed by plan `{plan}`\n\nMade {}: a record of that run (`cutover verify` says where the file stands now; `cutover rollback` restores the file of before it).\n\n## Before the fix\n\n",
        shown(db),
        now()
    );
    audit_section(&mut s, before);
    s.push_str("## The fix: keys rebuilt to lead with the tenant column\n\n| Table | Before | After |\n|---|---|---|\n");
    for k in &fix.keys {
        let _ = writeln!(s, "| `{}` | `{}` | `{}` |", cell(&k.table), cell(&k.before), cell(&k.after));
    }
    if let Some(fk) = &fix.registry {
        let _ = writeln!(s, "\nEach rebuilt table also gained `{}`.", cell(fk));
    }
    if !fix.dependents.is_empty() {
        let _ = writeln!(s, "\nMade again unchanged: {}.", fix.dependents.iter().map(|d| cell(d)).collect::<Vec<_>>().join(", "));
    }
    if !fix.carried.is_empty() {
        s.push_str("\n### Foreign-key violations found before, kept as they were\n\nRows that already pointed at no parent row (the shop's application ran with foreign keys off). The rebuild copied them as they were; its check failed only on a violation it made, and there was none.\n\n| Table | Row | Points at |\n|---|---:|---|\n");
        for v in &fix.carried {
            let row = v.rowid.map_or_else(|| "(no row id)".to_string(), |r| r.to_string());
            let _ = writeln!(s, "| `{}` | {row} | `{}` |", cell(&v.table), cell(&v.parent));
        }
    }
    s.push_str("\n## After the fix\n\n");
    audit_section(&mut s, after);
    write(db, "isolation.md", &s)
}

fn audit_section(s: &mut String, r: &IsolationReport) {
    let _ = writeln!(s, "{}.\n", r.summary());
    let _ = writeln!(
        s,
        "Tenant tables ({}): {}\n",
        r.tenant_tables.len(),
        r.tenant_tables.iter().map(|t| format!("`{}`", cell(t))).collect::<Vec<_>>().join(", ")
    );
    if !r.findings.is_empty() {
        s.push_str("| Proposed | Where | As written | Why it matters | Fix |\n|---|---|---|---|---|\n");
        for f in &r.findings {
            let place = match &f.concern {
                Concern::UniqueKey { table, .. } | Concern::ForeignKey { table, .. } => table.clone(),
                Concern::View { view, .. } => view.clone(),
                Concern::Trigger { on, .. } => on.clone(),
            };
            let _ = writeln!(
                s,
                "| {} | `{}` | `{}` | {} | `{}` |",
                if f.proposed { "yes" } else { "no" },
                cell(&place),
                cell(&f.written),
                cell(&f.why),
                cell(&f.fix)
            );
        }
        s.push('\n');
    }
    if let Some(t) = &r.second_tenant {
        second_tenant_section(s, t);
    }
}

fn second_tenant_section(s: &mut String, t: &SecondTenant) {
    let _ = writeln!(s, "### Second tenant, rehearsed on a scratch copy\n\n{}.\n", cell(&t.summary()));
    if !t.blocked.is_empty() {
        s.push_str("| Table | Refused by | Rows |\n|---|---|---:|\n");
        for b in &t.blocked {
            let _ = writeln!(s, "| `{}` | {} | {} |", cell(&b.table), cell(&b.by), b.rows);
        }
        s.push('\n');
    }
    for l in &t.leaks {
        let _ = writeln!(s, "- {}: {}", cell(&l.object), cell(&l.detail));
    }
    if !t.leaks.is_empty() {
        s.push('\n');
    }
}
