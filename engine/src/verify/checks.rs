//! Checks that apply to every plan: identical outcome, expectations, row counts, content
//! digests, foreign keys, integrity, the schema diff and the views.

use rusqlite::Connection;

use crate::plan::app::Records;

use crate::apply::StatementRun;
use crate::changes::Changes;
use crate::plan::Plan;
use crate::sql;
use crate::verify::snapshot::{self, SchemaObject, Snapshot, TableState};
use crate::verify::{Check, Finding, Identical, Status};

fn finding(subject: &str, status: Status, detail: impl Into<String>) -> Finding {
    Finding { subject: subject.to_string(), status, detail: detail.into() }
}

fn subjects(findings: &[Finding], status: Status) -> String {
    let names: Vec<&str> = findings.iter().filter(|f| f.status == status).map(|f| f.subject.as_str()).collect();
    if names.len() > 8 { format!("{} and {} more", names[..8].join(", "), names.len() - 8) } else { names.join(", ") }
}

/// Proof by identical outcome: the same starting bytes and the same plan gave the same bytes.
pub fn identical_outcome(i: &Identical) -> Check {
    if i.rehearsal_sha256 == i.actual_sha256 {
        Check::single(
            "identical_outcome",
            Status::Pass,
            format!(
                "MATCH: the result's SHA-256 {} equals the rehearsal copy's, so every check that passed on the copy holds here",
                &i.actual_sha256[..16.min(i.actual_sha256.len())]
            ),
        )
    } else {
        Check::single(
            "identical_outcome",
            Status::Warn,
            "no match with the rehearsal's result (the plan is not deterministic, or the file changed): the full set of checks ran here",
        )
    }
}

/// The script's `-- expect:` assertions.
pub fn expectations(runs: &[StatementRun]) -> Check {
    let findings: Vec<Finding> = runs
        .iter()
        .filter_map(|r| {
            let e = r.expect.as_ref()?;
            let subject = format!("line {}", r.line);
            Some(if e.ok() {
                finding(&subject, Status::Pass, format!("{} = {}", r.sql, e.actual))
            } else {
                finding(&subject, Status::Fail, format!("{}: expected {}, got {}", r.sql, e.expected, e.actual))
            })
        })
        .collect();
    Check::from_findings("expectations", findings, |s, f| match s {
        Status::Fail => format!("expectation failed at {}", subjects(f, Status::Fail)),
        _ => format!("all {} -- expect: assertions hold", f.len()),
    })
}

/// `PRAGMA quick_check`.
pub fn quick_check(conn: &Connection) -> rusqlite::Result<Check> {
    let result = crate::preflight::quick_check(conn)?;
    Ok(if result == "ok" {
        Check::single("quick_check", Status::Pass, "quick_check ok")
    } else {
        Check::single("quick_check", Status::Fail, result)
    })
}

/// `PRAGMA integrity_check`.
pub fn integrity_check(conn: &Connection) -> rusqlite::Result<Check> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(20)")?;
    let lines: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let text = lines.join("; ");
    Ok(if text == "ok" {
        Check::single("integrity_check", Status::Pass, "integrity_check ok")
    } else {
        Check::single("integrity_check", Status::Fail, text)
    })
}

/// What the shop wrote to `table` since the execute, when it wrote anything: a difference
/// there is its work, not the migration's doing.
fn since_execute(changed: Option<&Changes>, table: &str) -> Option<Finding> {
    let change = changed?.tables.iter().find(|t| t.table == table)?;
    Some(finding(table, Status::Warn, format!("changed since the execute: {}", change.describe())))
}

/// Whether `table` is the application's ledger and its rows changed by exactly the rows the
/// plan writes there (what they are is `ledger_recorded`'s to check).
fn ledger_rows_only(ledger: Option<&Records>, table: &str, before: u64, after: u64) -> bool {
    ledger.is_some_and(|r| r.table == table && after as i128 - before as i128 == r.delta())
        || sequence_moved(ledger, table, before, after)
}

/// Whether `table` is `sqlite_sequence`, moved by the rows the plan adds to an AUTOINCREMENT
/// ledger (goose's): its counter, or its first row.
fn sequence_moved(ledger: Option<&Records>, table: &str, before: u64, after: u64) -> bool {
    ledger.is_some_and(|r| !r.removes) && table == "sqlite_sequence" && (after == before || after == before + 1)
}

/// How many of `findings` passed as the ledger's planned rows.
fn ledger_passes(findings: &[Finding]) -> usize {
    findings.iter().filter(|f| f.status == Status::Pass && f.detail.ends_with("(ledger_recorded)")).count()
}

/// "; _migrations changed only by the 1 row this plan writes" when the ledger passed that way.
fn ledger_note(ledger: Option<&Records>, findings: &[Finding], how: &str) -> String {
    match ledger {
        Some(r) if ledger_passes(findings) > 0 => format!(
            "; {} changed {how} {} row{} this plan {} (ledger_recorded)",
            r.table,
            r.keys.len(),
            if r.keys.len() == 1 { "" } else { "s" },
            if r.removes { "takes out" } else { "writes" }
        ),
        _ => String::new(),
    }
}

/// At most 200 findings, the rest counted in one: a file with thousands of orphans keeps its
/// report readable.
fn capped(findings: &mut Vec<Finding>) {
    const MOST: usize = 200;
    if findings.len() > MOST {
        let more = findings.len() - MOST;
        let status = findings[MOST..].iter().map(|f| f.status).max().unwrap_or(Status::Warn);
        findings.truncate(MOST);
        findings.push(finding("…", status, format!("and {more} more")));
    }
}

/// Rows per table equal before and after. For a script, differences are warnings to read;
/// rows the shop wrote after the execute (`changed`) are reported as such.
pub fn row_counts(
    before: &Snapshot,
    after: &[TableState],
    strict: &dyn Fn(&str) -> bool,
    changed: Option<&Changes>,
    ledger: Option<&Records>,
) -> Check {
    let differ = |table: &str| if strict(table) { Status::Fail } else { Status::Warn };
    let mut findings = Vec::new();
    for b in &before.tables {
        match after.iter().find(|a| a.name == b.name) {
            Some(a) if a.rows == b.rows => findings.push(finding(&b.name, Status::Pass, format!("{} rows", a.rows))),
            Some(a) if ledger_rows_only(ledger, &b.name, b.rows, a.rows) => findings.push(finding(
                &b.name,
                Status::Pass,
                format!("{} → {} rows: the application's migration rows this plan writes (ledger_recorded)", b.rows, a.rows),
            )),
            Some(_) if since_execute(changed, &b.name).is_some() => {
                findings.extend(since_execute(changed, &b.name));
            }
            Some(a) => findings.push(finding(
                &b.name,
                differ(&b.name),
                format!(
                    "{}{} → {} rows ({:+})",
                    if b.name.starts_with("sqlite_stat") { "query-planner statistics (ANALYZE): " } else { "" },
                    b.rows,
                    a.rows,
                    a.rows as i128 - b.rows as i128
                ),
            )),
            None => findings.push(
                since_execute(changed, &b.name)
                    .unwrap_or_else(|| finding(&b.name, differ(&b.name), format!("table gone (had {} rows)", b.rows))),
            ),
        }
    }
    for a in after.iter().filter(|a| before.table(&a.name).is_none()) {
        findings.push(finding(&a.name, Status::Warn, format!("new table with {} rows", a.rows)));
    }
    Check::from_findings("row_counts", findings, |s, f| match s {
        Status::Pass => format!(
            "{} tables have the same number of rows as before{}",
            f.len() - ledger_passes(f),
            ledger_note(ledger, f, "by the number of")
        ),
        Status::Warn => format!("row counts changed: {}", subjects(f, Status::Warn)),
        Status::Fail => format!("row counts differ: {}", subjects(f, Status::Fail)),
    })
}

/// The content digest over each table's original columns equals the one taken before: no
/// value changed, not just no row lost. Tables the shop wrote to after the execute
/// (`changed`) are reported as changed since, not as damage.
pub fn content_digest(
    before: &Snapshot,
    after: &[TableState],
    strict: &dyn Fn(&str) -> bool,
    changed: Option<&Changes>,
    ledger: Option<&Records>,
) -> Check {
    let differ = |table: &str| if strict(table) { Status::Fail } else { Status::Warn };
    let mut findings = Vec::new();
    for b in before.tables.iter().filter(|b| b.digest.is_some()) {
        let Some(a) = after.iter().find(|a| a.name == b.name) else {
            findings.push(
                since_execute(changed, &b.name).unwrap_or_else(|| finding(&b.name, differ(&b.name), "table gone")),
            );
            continue;
        };
        findings.push(if a.digest == b.digest {
            finding(&b.name, Status::Pass, format!("{} columns unchanged", b.columns.len()))
        } else if let Some(f) = since_execute(changed, &b.name) {
            f
        } else if sequence_moved(ledger, &b.name, b.rows, a.rows) {
            finding(&b.name, Status::Pass, "the ledger's AUTOINCREMENT counter, moved by the rows this plan writes there (ledger_recorded)")
        } else if ledger_rows_only(ledger, &b.name, b.rows, a.rows) {
            finding(&b.name, Status::Pass, "changed by the application's migration rows this plan writes, and by nothing else (ledger_recorded)")
        } else if !strict(&b.name) && b.name.starts_with("sqlite_stat") {
            finding(&b.name, Status::Warn, "query-planner statistics (ANALYZE), which go with the indexes the plan dropped or rebuilt; no shop data")
        } else {
            finding(&b.name, differ(&b.name), "content over the original columns changed")
        });
    }
    Check::from_findings("content_digest", findings, |s, f| match s {
        Status::Pass => format!(
            "every value of {} tables is unchanged (SHA-256 over the original columns){}",
            f.len() - ledger_passes(f),
            ledger_note(ledger, f, "only by the")
        ),
        Status::Warn => format!("content changed in: {}", subjects(f, Status::Warn)),
        Status::Fail => format!("content CHANGED in: {}", subjects(f, Status::Fail)),
    })
}

/// `PRAGMA foreign_key_check`: violations that were there before are reported, not failed.
pub fn foreign_keys(conn: &Connection, before: &Snapshot) -> rusqlite::Result<Check> {
    let (now, unchecked) = super::violations::read_all(conn)?;
    // Each violation found before answers for one now, told by its row, key and values.
    let (new, old) = super::violations::new_since(&before.fk_violations, &now);
    let row = |v: &snapshot::FkViolation| v.described();
    let check = if !new.is_empty() {
        let tables: std::collections::BTreeSet<&str> = new.iter().map(|v| v.table.as_str()).collect();
        let mut findings: Vec<Finding> = new.iter().map(|v| finding(&v.table, Status::Fail, format!("new: {}", row(v)))).collect();
        findings.extend(old.iter().map(|v| finding(&v.table, Status::Warn, format!("found before, still there: {}", row(v)))));
        capped(&mut findings);
        let detail = format!("{} new violations in: {}", new.len(), tables.into_iter().collect::<Vec<_>>().join(", "));
        Check { name: "foreign_keys".into(), status: Status::Fail, detail, findings }
    } else if !old.is_empty() {
        let mut findings = old.iter().map(|v| finding(&v.table, Status::Warn, format!("found before, still there: {}", row(v)))).collect();
        capped(&mut findings);
        let detail = format!(
            "no new violations; {} found before, still there (not caused by this migration)",
            old.len()
        );
        Check { name: "foreign_keys".into(), status: Status::Warn, detail, findings }
    } else {
        Check::single("foreign_keys", Status::Pass, "foreign_key_check finds no violations")
    };
    Ok(with_unchecked(check, &unchecked))
}

/// A check that could not look at every table says which it could not, and why: never PASS.
fn with_unchecked(mut check: Check, unchecked: &[(String, String)]) -> Check {
    if unchecked.is_empty() {
        return check;
    }
    let tables: Vec<&str> = unchecked.iter().map(|(t, _)| t.as_str()).collect();
    for (table, why) in unchecked {
        check.findings.push(finding(
            table,
            Status::Warn,
            format!("SQLite cannot check its foreign keys ({why}): a parent key that is not unique"),
        ));
    }
    check.detail = format!("{}; not checked: {} (a foreign key whose parent key is not unique)", check.detail, tables.join(", "));
    check.status = check.status.max(Status::Warn);
    check
}

/// The schema changed only as planned: for a tenant plan, each planned table gained exactly the
/// column and each planned index appeared; nothing else was added, removed or changed.
pub fn schema_diff(
    conn: &Connection,
    before: &Snapshot,
    after: &[SchemaObject],
    plan: &Plan,
) -> rusqlite::Result<Check> {
    let key = |o: &SchemaObject| (o.kind.clone(), o.name.clone());
    let removed: Vec<&SchemaObject> =
        before.schema.iter().filter(|b| !after.iter().any(|a| key(a) == key(b))).collect();
    let added: Vec<&SchemaObject> = after.iter().filter(|a| !before.schema.iter().any(|b| key(a) == key(b))).collect();
    let changed: Vec<&SchemaObject> =
        after.iter().filter(|a| before.schema.iter().any(|b| key(a) == key(b) && a.sql != b.sql)).collect();
    let Some(spec) = plan.tenant() else {
        let status =
            if removed.is_empty() && added.is_empty() && changed.is_empty() { Status::Pass } else { Status::Warn };
        let names =
            |v: &[&SchemaObject]| v.iter().map(|o| format!("{} {}", o.kind, o.name)).collect::<Vec<_>>().join(", ");
        return Ok(Check::single(
            "schema_diff",
            status,
            format!("added: [{}]; removed: [{}]; changed: [{}]", names(&added), names(&removed), names(&changed)),
        ));
    };
    let mut findings = Vec::new();
    for o in &removed {
        findings.push(finding(&o.name, Status::Fail, format!("{} was removed", o.kind)));
    }
    for o in &added {
        let planned = o.kind == "index" && spec.tables.iter().any(|t| t.index.as_deref() == Some(o.name.as_str()));
        findings.push(if planned {
            finding(&o.name, Status::Pass, format!("new index on {}", o.table))
        } else {
            finding(&o.name, Status::Fail, format!("unexpected new {}", o.kind))
        });
    }
    for o in &changed {
        let planned = spec.tables.iter().find(|t| t.add_column && t.table == o.name && o.kind == "table");
        let Some(_) = planned else {
            findings.push(finding(&o.name, Status::Fail, format!("{} changed unexpectedly", o.kind)));
            continue;
        };
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1, 'main') ORDER BY cid")?;
        let now: Vec<String> = stmt.query_map([&o.name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let mut expected = before.table(&o.name).map(|t| t.columns.clone()).unwrap_or_default();
        expected.push(spec.column.clone());
        findings.push(if now == expected {
            finding(&o.name, Status::Pass, format!("gained {} only", sql::ident(&spec.column)))
        } else {
            finding(&o.name, Status::Fail, format!("columns are now: {}", now.join(", ")))
        });
    }
    for t in &spec.tables {
        if let Some(index) = &t.index
            && !after.iter().any(|o| o.kind == "index" && &o.name == index)
        {
            findings.push(finding(index, Status::Fail, format!("the planned index on {} is missing", t.table)));
        }
        if t.add_column && !changed.iter().any(|o| o.name == t.table && o.kind == "table") {
            findings.push(finding(&t.table, Status::Fail, "the planned column was not added"));
        }
    }
    Ok(Check::from_findings("schema_diff", findings, |s, f| match s {
        Status::Pass => format!("only the planned additions: {} changes", f.len()),
        _ => format!("unexpected schema changes: {}", subjects(f, Status::Fail)),
    }))
}

/// Every view still compiles against the new schema.
pub fn views_compile(conn: &Connection, after: &[SchemaObject]) -> Check {
    let findings: Vec<Finding> = after
        .iter()
        .filter(|o| o.kind == "view")
        .map(|v| match conn.prepare(&format!("SELECT * FROM main.{} LIMIT 0", sql::ident(&v.name))) {
            Ok(_) => finding(&v.name, Status::Pass, "compiles"),
            Err(e) => finding(&v.name, Status::Fail, e.to_string()),
        })
        .collect();
    Check::from_findings("views_compile", findings, |s, f| match s {
        Status::Pass => format!("all {} views compile", f.len()),
        _ => format!("broken views: {}", subjects(f, Status::Fail)),
    })
}
