//! `cutover audit`: the table list as an aligned table or one JSON object.

use crate::cli::{out, outln};
use cutover::engine::shown;
use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::PreflightReport;
use cutover::engine::Session;
use cutover::engine::human_bytes;
use cutover::engine::{AuditOptions, AuditReport, Decision};
use serde::Serialize;

use crate::cli::progress::StderrProgress;
use crate::cli::table::{self, Align};
use crate::cli::{TenantArgs, print_json};

#[derive(Serialize)]
struct AuditOutput<'a> {
    ok: bool,
    /// Set when the database had not shut down cleanly and SQLite recovered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    recovered: Option<&'a cutover::engine::Recovery>,
    preflight: &'a PreflightReport,
    #[serde(flatten)]
    audit: &'a AuditReport,
}

/// Runs preflight and the audit, and prints them.
pub fn run(db: &Path, args: TenantArgs, json: bool) -> Result<ExitCode> {
    let (pre, report) = preflight_and_audit(db, args)?;
    if json {
        print_json(&AuditOutput { ok: true, recovered: pre.recovered.as_ref(), preflight: &pre, audit: &report })?;
    } else {
        out(render_preflight(&pre))?;
        outln("")?;
        out(render_audit(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Preflight then audit, with progress on stderr.
pub fn preflight_and_audit(db: &Path, args: TenantArgs) -> Result<(PreflightReport, AuditReport)> {
    let session = Session::new(db);
    let mut progress = StderrProgress::new();
    let pre = progress.during(|p| session.preflight(p))?;
    let options = AuditOptions { column: args.column, tenant: args.tenant, exclude: args.exclude };
    let report = progress.during(|p| session.audit(&options, p))?;
    Ok((pre, report))
}

/// The preflight facts as a short block of text.
pub fn render_preflight(p: &PreflightReport) -> String {
    let mut s = String::new();
    s.push_str(&format!("Database   {}\n", shown(&p.path)));
    let wal = if p.wal_size > 0 { format!(" + {} WAL", human_bytes(p.wal_size)) } else { String::new() };
    s.push_str(&format!(
        "File       {}{wal}, {} pages of {} bytes, journal mode {}\n",
        human_bytes(p.file_size),
        table::thousands(p.page_count),
        p.page_size,
        p.journal_mode
    ));
    s.push_str(&format!("Health     quick_check {} · SQLite {}\n", p.quick_check, p.sqlite_version));
    let room = if p.enough_disk { "enough" } else { "NOT ENOUGH" };
    s.push_str(&format!(
        "Disk       {} free, a full run needs about {} ({room})\n",
        human_bytes(p.free_disk),
        human_bytes(p.needed_disk)
    ));
    if p.in_use() {
        let who = p.who();
        s.push_str(&format!("In use     YES, by {who}: stop the application before backup or execute\n"));
    } else if p.uncertain() {
        s.push_str(&format!(
            "In use     UNKNOWN: cutover cannot see inside {} — run as root to check, or confirm with --confirm-stopped\n",
            p.unseen_text()
        ));
    } else {
        s.push_str("In use     no other process has the file open\n");
    }
    if let Some(why) = &p.restore_blocker {
        s.push_str(&format!("Rollback   NOT POSSIBLE: {why}\n"));
    }
    if let Some(r) = &p.recovered {
        s.push_str(&format!("Recovered  {}\n", r.notice(&p.path)));
    }
    s
}

/// The audit as an aligned table with its risks and summary.
pub fn render_audit(r: &AuditReport) -> String {
    let mut s = String::new();
    let tenant = match (&r.tenant, &r.registry, &r.suggested_tenant) {
        (Some(t), Some(reg), Some(sug)) if t == sug => format!("{t} (the only id in {})", reg.table),
        (Some(t), _, _) => t.clone(),
        (None, _, _) => "not known yet (give --tenant)".to_string(),
    };
    s.push_str(&format!("Column     {} · tenant {tenant}\n\n", r.column));

    let rows: Vec<Vec<String>> = r
        .tables
        .iter()
        .map(|t| {
            let has = match &t.tenant_column {
                None => "no".to_string(),
                Some(c) if c.matches => "yes".to_string(),
                Some(_) => "differs".to_string(),
            };
            vec![
                t.name.clone(),
                t.rows.map(table::thousands).unwrap_or_else(|| "?".into()),
                t.kind.label().to_string(),
                has,
                t.risk.label().to_string(),
                format!("{}: {}", t.decision.label(), t.reason),
            ]
        })
        .collect();
    s.push_str(&table::render(
        &["TABLE", "ROWS", "KIND", "COLUMN", "RISK", "DECISION"],
        &[Align::Left, Align::Right, Align::Left, Align::Left, Align::Left, Align::Left],
        &rows,
    ));

    let risky: Vec<String> = r
        .tables
        .iter()
        .filter(|t| t.decision == Decision::Migrate || t.tenant_column.is_some())
        .flat_map(|t| t.unique_risks.iter().map(move |u| format!("  {}: {}", t.name, u.description)))
        .collect();
    if !risky.is_empty() {
        s.push_str(&format!(
            "\nIsolation risks: {} constraint(s) without {} will block a second tenant from reusing a value:\n",
            risky.len(),
            r.column
        ));
        for line in risky {
            s.push_str(&line);
            s.push('\n');
        }
    }
    if !r.views.is_empty() {
        let names: Vec<&str> = r.views.iter().map(|v| v.name.as_str()).collect();
        s.push_str(&format!("\nViews ({}): {}\n", names.len(), names.join(", ")));
    }
    if !r.triggers.is_empty() {
        let names: Vec<String> = r.triggers.iter().map(|t| format!("{} on {}", t.name, t.table)).collect();
        s.push_str(&format!("Triggers ({}): {}\n", names.len(), names.join(", ")));
    }
    for l in &r.ledgers.ledgers {
        s.push_str(&format!(
            "Ledger     {}: the app records its migrations there; give --migrations DIR to check it will start\n",
            l.describe()
        ));
    }
    for n in &r.ledgers.not_ledgers {
        s.push_str(&format!("Not a ledger {}: {}\n", n.table, n.why));
    }
    let m = &r.summary;
    s.push_str(&format!(
        "\nSummary    {} tables: {} to migrate ({} rows), {} skipped, {} excluded; new indexes about {}\n",
        m.tables,
        m.migrate,
        table::thousands(m.rows_to_migrate),
        m.skip,
        m.excluded,
        human_bytes(m.index_bytes_estimate)
    ));
    s
}
