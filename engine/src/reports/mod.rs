//! Reports a person can hand over: Markdown for the shop owner and the engineer, and the same
//! facts as JSON, written atomically to `<db>.cutover/reports/`.

use crate::shown::shown;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::apply::StatementRun;
use crate::audit::AuditReport;
use crate::dryrun::DryRunReport;
use crate::error::{Error, Result, human_bytes};
use crate::execute::ExecuteReport;
use crate::plan::{Plan, PlanSource};
use crate::verify::Verification;
use crate::{durable, journal};

mod isolation;

pub use isolation::{write_fix, write_isolation};

/// The reports folder of a database.
pub fn dir(db: &Path) -> PathBuf {
    journal::records_dir(db).join("reports")
}

/// Writes `name` in the reports folder: temp file, fsync, rename over, fsync the folder.
pub fn write(db: &Path, name: &str, contents: &str) -> Result<PathBuf> {
    journal::ensure_records_dir(db)?;
    let dir = dir(db);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", shown(&dir)), e))?;
    let target = dir.join(name);
    let io = |e| Error::io(format!("writing {}", shown(&target)), e);
    let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.")).tempfile_in(&dir).map_err(io)?;
    tmp.write_all(contents.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    durable::name_replacing(tmp.into_temp_path(), &target, &dir).map_err(|e| io(e.into_io()))?;
    Ok(target)
}

/// Escapes text for a Markdown table cell.
pub(crate) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub(crate) fn now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// The audit as Markdown.
pub fn audit_markdown(r: &AuditReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Audit of {}\n", shown(&r.database));
    let _ = writeln!(s, "Made {} with cutover {}, SQLite {}.\n", now(), env!("CARGO_PKG_VERSION"), rusqlite::version());
    let tenant = r.tenant.as_deref().unwrap_or("(not given)");
    let _ = writeln!(s, "Tenant column `{}`, tenant value `{}`.\n", r.column, tenant);
    let m = &r.summary;
    let _ = writeln!(
        s,
        "**{} tables: {} to migrate ({} rows), {} skipped, {} excluded.** New indexes about {}.\n",
        m.tables,
        m.migrate,
        m.rows_to_migrate,
        m.skip,
        m.excluded,
        human_bytes(m.index_bytes_estimate)
    );
    s.push_str("| Table | Rows | Kind | Has column | Risk | Decision | Reason |\n|---|---:|---|---|---|---|---|\n");
    for t in &r.tables {
        let has = match &t.tenant_column {
            None => "no",
            Some(c) if c.matches => "yes",
            Some(_) => "differs",
        };
        let rows = t.rows.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
        let _ = writeln!(
            s,
            "| {} | {rows} | {} | {has} | {} | {} | {} |",
            cell(&t.name),
            t.kind.label(),
            t.risk.label(),
            t.decision.label(),
            cell(&t.reason)
        );
    }
    let risks: Vec<String> = r
        .tables
        .iter()
        .flat_map(|t| t.unique_risks.iter().map(move |u| format!("- `{}`: {}", cell(&t.name), cell(&u.description))))
        .collect();
    if !risks.is_empty() {
        let _ = writeln!(
            s,
            "\n## Isolation risks\n\nThese constraints do not include `{}`: once a second tenant's rows arrive, a value one tenant uses blocks every other tenant from using it.\n",
            r.column
        );
        s.push_str(&risks.join("\n"));
        s.push('\n');
    }
    if !r.views.is_empty() || !r.triggers.is_empty() {
        s.push_str("\n## Views and triggers\n\n");
        for v in &r.views {
            let _ = writeln!(s, "- view `{}`", cell(&v.name));
        }
        for t in &r.triggers {
            let _ = writeln!(s, "- trigger `{}` on `{}`", cell(&t.name), cell(&t.table));
        }
    }
    s
}

fn plan_section(s: &mut String, plan: &Plan) {
    let _ = writeln!(s, "## Plan `{}`\n", plan.short_hash());
    let _ = writeln!(s, "SHA-256 `{}`, {} statements.\n", plan.sha256, plan.statements.len());
    for n in &plan.notices {
        let _ = writeln!(s, "> Note: {}\n", cell(n));
    }
    for st in plan.destructive() {
        let _ = writeln!(
            s,
            "> **Destroys data** (line {}): {} — {}\n",
            st.line,
            cell(&st.sql),
            cell(st.destructive.as_deref().unwrap_or(""))
        );
    }
    let way_back = match &plan.source {
        PlanSource::Tenant(spec) => {
            let indexes = spec.tables.iter().filter(|t| t.index.is_some()).count();
            let columns = spec.tables.iter().filter(|t| t.add_column).count();
            format!(
                "Its inverse, `cutover rollback --undo`, drops these {indexes} indexes and the column from these {columns} tables, keeping every row written after it; `cutover rollback` restores the backup instead."
            )
        }
        PlanSource::Script { .. } => {
            "A script has no inverse cutover knows: the way back is restoring the backup (`cutover rollback`).".into()
        }
        PlanSource::Rebuild(spec) => {
            let mut t = String::from("Keys scoped per tenant:\n\n| Table | Before | After |\n|---|---|---|\n");
            for k in &spec.keys {
                let _ = writeln!(t, "| {} | `{}` | `{}` |", cell(&k.table), cell(&k.before), cell(&k.after));
            }
            if let Some(fk) = &spec.registry {
                let _ = writeln!(t, "\nEach rebuilt table also gains `{}`.", cell(fk));
            }
            t.push_str("\nThe way back is restoring the backup (`cutover rollback`): a rebuild has no undo in place.");
            t
        }
        PlanSource::Migrations(spec) => format!(
            "The application's migrations have no inverse cutover knows (their down files are the application's own): the way back is restoring the backup (`cutover rollback`), which takes the {} rows in `{}` back with everything else.",
            spec.migrations.len(),
            cell(&spec.table)
        ),
        PlanSource::Undo(_) => {
            "This undo is taken back by restoring the backup it made (`cutover rollback`), or by running the tenant migration again.".into()
        }
    };
    let _ = writeln!(s, "{way_back}\n");
}

fn statements_section(s: &mut String, runs: &[StatementRun]) {
    s.push_str("| # | Line | Statement | Rows changed | Seconds |\n|---:|---:|---|---:|---:|\n");
    for r in runs {
        let _ = writeln!(s, "| {} | {} | `{}` | {} | {:.3} |", r.index, r.line, cell(&r.sql), r.changes, r.seconds);
    }
    s.push('\n');
}

fn checks_section(s: &mut String, v: &Verification) {
    let _ = writeln!(s, "## Checks: {} ({:?} set, {:.2} s)\n", v.summary(), v.scope, v.seconds);
    s.push_str("| Check | Result | Detail |\n|---|---|---|\n");
    for c in &v.checks {
        let _ = writeln!(s, "| {} | **{}** | {} |", c.name, c.status.label(), cell(&c.detail));
    }
    let problems: Vec<String> = v
        .checks
        .iter()
        .flat_map(|c| {
            c.findings.iter().filter(|f| f.status != crate::verify::Status::Pass).map(move |f| {
                format!("- {} · `{}`: {} — {}", c.name, cell(&f.subject), f.status.label(), cell(&f.detail))
            })
        })
        .collect();
    if !problems.is_empty() {
        s.push_str("\n### Findings to read\n\n");
        s.push_str(&problems.join("\n"));
        s.push('\n');
    }
    s.push('\n');
}

/// The dry run (test) report as Markdown.
pub fn dry_run_markdown(db: &Path, plan: &Plan, r: &DryRunReport) -> String {
    let mut s = String::new();
    let verdict = if r.ok { "PASSED" } else { "FAILED" };
    let _ = writeln!(s, "# Dry run (test) of {}: {verdict}\n", shown(db));
    let _ = writeln!(
        s,
        "Made {} on a scratch copy of the backup; the database itself was not opened for writing.\n",
        now()
    );
    let _ = writeln!(
        s,
        "- Backup: `{}`\n- Backup SHA-256: `{}`\n- Copy's SHA-256 after the plan: `{}`\n",
        shown(&r.backup.path),
        r.backup.sha256,
        r.result_sha256
    );
    plan_section(&mut s, plan);
    statements_section(&mut s, &r.statements);
    checks_section(&mut s, &r.verification);
    let t = &r.timings_s;
    let _ = writeln!(
        s,
        "Time: {:.2} s (copy {:.2}, read before {:.2}{}, plan {:.2}, verify {:.2}).",
        r.seconds,
        t.copy,
        t.snapshot,
        if t.snapshot_alongside { " from the backup, alongside the copy and plan" } else { "" },
        t.apply,
        t.verify
    );
    s
}

/// The execution (production) report as Markdown.
pub fn execution_markdown(db: &Path, plan: &Plan, r: &ExecuteReport) -> String {
    let mut s = String::new();
    let done = if plan.undo().is_some() { "undone in place" } else { "migrated" };
    let verdict = if r.verification.ok { format!("{done} and verified") } else { format!("{done}, verification FAILED") };
    let _ = writeln!(s, "# Execution (production) of {}: {verdict}\n", shown(db));
    let _ = writeln!(s, "Made {}.\n", now());
    let _ = writeln!(
        s,
        "- Backup to roll back to: `{}`\n- Backup SHA-256: `{}`\n- Database equal to the backup before the change: {}\n- Database SHA-256 after the change: `{}`\n- Same result as the rehearsal: **{}**\n",
        shown(&r.backup.path),
        r.backup.sha256,
        if r.held_since_backup {
            "held exclusively since the backup and proven untouched (not hashed again)"
        } else {
            "hashed under the lock, and the hash matched"
        },
        r.result_sha256,
        if r.identical { "MATCH" } else { "no" }
    );
    plan_section(&mut s, plan);
    statements_section(&mut s, &r.statements);
    checks_section(&mut s, &r.verification);
    let t = &r.timings_s;
    let _ = writeln!(
        s,
        "Time: {:.2} s (check {:.2}, plan {:.2}, hash {:.2}, verify {:.2}).\n",
        r.seconds, t.check, t.apply, t.hash, t.verify
    );
    let _ = writeln!(
        s,
        "To undo: `cutover rollback {} --yes` restores the backup above (the migrated file is kept aside).",
        crate::platform::shell_quote(db)
    );
    s
}

/// The run as JSON: the plan, the rehearsal and the execution, for tools and engineers.
pub fn json(plan: &Plan, dry: Option<&DryRunReport>, done: Option<&ExecuteReport>) -> Result<String> {
    let value = serde_json::json!({
        "cutover": env!("CARGO_PKG_VERSION"),
        "sqlite": rusqlite::version(),
        "written_at": chrono::Local::now().to_rfc3339(),
        "plan": plan,
        "dry_run": dry,
        "execute": done,
    });
    serde_json::to_string_pretty(&value).map_err(|e| Error::io("writing report.json", std::io::Error::other(e)))
}

/// Writes what a rehearsal leaves for people: `audit.md` (tenant plans), `dry-run.md` and
/// `report.json`. Returns the files written.
pub fn write_rehearsal(
    db: &Path,
    plan: &Plan,
    audit: Option<&AuditReport>,
    dry: &DryRunReport,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if let Some(a) = audit {
        written.push(write(db, "audit.md", &audit_markdown(a))?);
    }
    written.push(write(db, "dry-run.md", &dry_run_markdown(db, plan, dry))?);
    written.push(write(db, "report.json", &json(plan, Some(dry), None)?)?);
    Ok(written)
}

/// Writes what an execution leaves: `execution.md` and `report.json` (rehearsal included).
/// It runs after the commit, so a failure says the change is in.
pub fn write_execution(db: &Path, plan: &Plan, dry: &DryRunReport, done: &ExecuteReport) -> Result<Vec<PathBuf>> {
    let written = (|| {
        Ok(vec![
            write(db, "execution.md", &execution_markdown(db, plan, done))?,
            write(db, "report.json", &json(plan, Some(dry), Some(done))?)?,
        ])
    })();
    written.map_err(|e: Error| Error::AfterCommit {
        verification: Some(Box::new(done.verification.clone())),
        path: db.to_path_buf(),
        what: "writing the execution report".into(),
        cause: e.to_string(),
    })
}

/// Writes `verification.md` for a verification from the journal. Returns the file written.
pub fn write_verification(db: &Path, done: &crate::reverify::Reverification) -> Result<PathBuf> {
    let mut markdown = format!("# Verification of {}\n\n{}\n\n", shown(db), done.summary());
    for c in &done.verification.checks {
        markdown.push_str(&format!("- **{}** {}: {}\n", c.status.label(), c.name, c.detail));
    }
    write(db, "verification.md", &markdown)
}

