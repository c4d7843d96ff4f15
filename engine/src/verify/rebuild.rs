//! The schema check of an isolation rebuild (`constraints_rebuilt`, in place of `schema_diff`):
//! each rebuilt table's CREATE statement is exactly the planned one and SQLite reports exactly
//! the planned unique keys for it, each rescoped index is the planned one, and every other
//! object — the views and triggers made again included — is byte for byte what it was. The
//! usual checks (rows, every value, foreign keys, integrity, views, triggers) do the rest. And
//! `second_tenant`: what the fix is for, a second shop fitting everywhere, tried on a copy.

use std::path::Path;

use rusqlite::Connection;

use crate::audit::schema;
use crate::isolate::probe;
use crate::plan::rebuild::{RebuildSpec, Rescoped};
use crate::sql;
use crate::verify::snapshot::{SchemaObject, Snapshot};
use crate::verify::{Check, Finding, Status};

fn finding(subject: &str, status: Status, detail: impl Into<String>) -> Finding {
    Finding { subject: subject.to_string(), status, detail: detail.into() }
}

/// The unique keys SQLite reports for `table` (constraint keys, not CREATE INDEX ones), each
/// as lower-case columns, sorted.
pub fn unique_keys(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Vec<String>>> {
    let mut keys: Vec<Vec<String>> = schema::indexes(conn, table)?
        .into_iter()
        .filter(|i| i.unique && i.origin != "c")
        .map(|i| i.columns.iter().map(|c| c.to_lowercase()).collect())
        .collect();
    keys.sort();
    Ok(keys)
}

/// Holds the schema after the rebuild to the plan.
pub fn constraints_rebuilt(
    conn: &Connection,
    before: &Snapshot,
    after: &[SchemaObject],
    spec: &RebuildSpec,
) -> rusqlite::Result<Check> {
    let rebuilt = |table: &str| spec.tables.iter().find(|t| t.table == table);
    // A rebuilt table's automatic indexes are its constraints: judged by its keys below.
    let automatic = |o: &SchemaObject| o.kind == "index" && o.sql.is_empty() && rebuilt(&o.table).is_some();
    let key = |o: &SchemaObject| (o.kind.clone(), o.name.clone());
    let mut findings = Vec::new();
    for t in &spec.tables {
        let now = after.iter().find(|o| o.kind == "table" && o.name == t.table);
        let keys = unique_keys(conn, &t.table)?;
        let shown = |k: &[Vec<String>]| k.iter().map(|c| format!("({})", c.join(", "))).collect::<Vec<_>>().join(" ");
        let scoped: Vec<String> =
            spec.keys.iter().filter(|k| k.table == t.table).map(|k| format!("{} → {}", k.before, k.after)).collect();
        findings.push(match now {
            None => finding(&t.table, Status::Fail, "the table is gone"),
            Some(o) if o.sql != t.after => finding(&t.table, Status::Fail, "its CREATE statement is not the planned one"),
            Some(_) if keys != t.keys => finding(
                &t.table,
                Status::Fail,
                format!("SQLite reports the keys {} where the plan made {}", shown(&keys), shown(&t.keys)),
            ),
            Some(_) => finding(&t.table, Status::Pass, scoped.join("; ")),
        });
    }
    for i in &spec.indexes {
        let now = after.iter().find(|o| o.kind == "index" && o.name == i.index);
        findings.push(match now {
            Some(o) if o.sql == i.after => finding(&i.index, Status::Pass, format!("{} → {}", i.before, i.after)),
            Some(_) => finding(&i.index, Status::Fail, "its CREATE statement is not the planned one"),
            None => finding(&i.index, Status::Fail, "the index is gone"),
        });
    }
    let planned = |o: &SchemaObject| {
        (o.kind == "table" && rebuilt(&o.name).is_some())
            || (o.kind == "index" && spec.indexes.iter().any(|i| i.index == o.name))
            || automatic(o)
    };
    for b in before.schema.iter().filter(|o| !planned(o)) {
        match after.iter().find(|a| key(a) == key(b)) {
            None => findings.push(finding(&b.name, Status::Fail, format!("{} was removed", b.kind))),
            Some(a) if a.sql != b.sql => {
                findings.push(finding(&b.name, Status::Fail, format!("{} changed, and the plan did not change it", b.kind)))
            }
            Some(_) => {}
        }
    }
    for a in after.iter().filter(|o| !planned(o)) {
        if !before.schema.iter().any(|b| key(a) == key(b)) {
            findings.push(finding(&a.name, Status::Fail, format!("unexpected new {}", a.kind)));
        }
    }
    let others = before.schema.iter().filter(|o| !planned(o)).count();
    Ok(Check::from_findings("constraints_rebuilt", findings, |status, f| match status {
        Status::Fail => format!(
            "the schema is not what the plan makes: {}",
            f.iter().filter(|x| x.status == Status::Fail).map(|x| x.subject.as_str()).collect::<Vec<_>>().join(", ")
        ),
        _ => format!(
            "{}; the other {others} schema objects are unchanged, {} made again as they were",
            spec.summary(),
            spec.dependents.len()
        ),
    }))
}

/// `second_tenant`: a second shop tried on a scratch copy of the rebuilt file fits everywhere.
/// A FAIL when a key the plan rewrote still refuses it; a WARN for what the plan left (keys not
/// chosen, checks, foreign keys) and for a trigger or view that mixed the shops, which are
/// reported, never rebuilt.
pub fn second_tenant(db: &Path, conn: &Connection, spec: &RebuildSpec, after: &[SchemaObject]) -> Check {
    let mut tables = Vec::new();
    for o in after.iter().filter(|o| o.kind == "table" && !o.name.starts_with("sqlite_")) {
        if !o.sql.to_ascii_uppercase().starts_with("CREATE TABLE") {
            continue;
        }
        let has = schema::columns(conn, &o.name).is_ok_and(|c| c.iter().any(|c| c.name.eq_ignore_ascii_case(&spec.column)));
        if has {
            tables.push(o.name.clone());
        }
    }
    let found = match probe::rehearse(db, &spec.column, &tables) {
        Ok(f) => f,
        Err(e) => return Check::single("second_tenant", Status::Fail, format!("the check could not run: {e}")),
    };
    let mut findings = Vec::new();
    for b in &found.blocked {
        let planned = spec.keys.iter().any(|k| k.table == b.table && refused_by(k, &b.by));
        let (status, what) = if planned {
            (Status::Fail, "a key the plan rewrote still refuses the second shop")
        } else {
            (Status::Warn, "left as it is by the plan")
        };
        findings.push(finding(&b.table, status, format!("{} ({} row{}): {what}", b.by, b.rows, if b.rows == 1 { "" } else { "s" })));
    }
    for l in &found.leaks {
        findings.push(finding(&l.object, Status::Warn, format!("{} — reported, not rebuilt", l.detail)));
    }
    // A key no row of a second shop reached is not proven by one.
    for t in &spec.tables {
        let tried = found.tried_in.iter().find(|(n, _)| n == &t.table).map_or(0, |(_, n)| *n);
        if tried == 0 {
            findings.push(finding(&t.table, Status::Warn, "it has no rows to copy: no second shop's row tried its rewritten key"));
        }
    }
    let before = spec.second_tenant.as_ref().map(|b| format!(" (before the fix: {})", b.short())).unwrap_or_default();
    let now = found.short();
    let probe = sql::literal(&found.probe);
    Check::from_findings("second_tenant", findings, move |status, f| {
        let named = |s: Status| {
            let mut names: Vec<String> = f.iter().filter(|x| x.status == s).map(|x| x.subject.clone()).collect();
            names.dedup();
            names.join(", ")
        };
        match status {
            Status::Pass => format!("a second shop ({probe}) fits everywhere and nothing mixed it: {now}{before}"),
            Status::Warn => format!("the rewritten keys take a second shop; left for a person: {}; {now}{before}", named(Status::Warn)),
            Status::Fail => format!("a rewritten key still refuses a second shop, in {}: {now}{before}", named(Status::Fail)),
        }
    })
}

/// `older_sqlite`: a WARN naming the rebuilt WITHOUT ROWID tables whose layout SQLite 3.40's
/// integrity_check misreads, so the technician who checks the file with the shop's own SQLite
/// is not alarmed by a false report.
pub fn older_sqlite(spec: &RebuildSpec) -> Option<Check> {
    (!spec.older_sqlite.is_empty()).then(|| {
        let names: Vec<String> = spec.older_sqlite.iter().map(|t| sql::ident(t)).collect();
        Check::single(
            "older_sqlite",
            Status::Warn,
            format!(
                "{}: WITHOUT ROWID, the primary key now starting with a column declared after others — SQLite 3.40's integrity_check (seen with 3.40.1) wrongly reports NULL values in such a table; the data is sound and this SQLite ({}) checks it. If the shop's software checks integrity with an old SQLite, roll back or leave these out (--skip)",
                names.join(", "),
                rusqlite::version()
            ),
        )
    })
}

/// Whether SQLite's refusal `by` is the key `k` (as it was before the rebuild).
fn refused_by(k: &Rescoped, by: &str) -> bool {
    let blocked = probe::Blocked { table: k.table.clone(), by: by.to_string(), rows: 0 };
    blocked.is_key(&k.columns, k.index.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(columns: &[&str], index: Option<&str>) -> Rescoped {
        Rescoped {
            table: "t".into(),
            before: String::new(),
            after: String::new(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            index: index.map(str::to_string),
        }
    }

    #[test]
    fn a_refusal_is_told_to_be_the_rewritten_key_only_when_it_is() {
        let sku = key(&["sku"], None);
        assert!(refused_by(&sku, "UNIQUE constraint failed: t.sku"));
        assert!(!refused_by(&sku, "UNIQUE constraint failed: t.tenant_id, t.sku"));
        assert!(!refused_by(&sku, "CHECK constraint failed: sku <> ''"));
        let pair = key(&["a", "b c"], None);
        assert!(refused_by(&pair, "UNIQUE constraint failed: t.a, t.b c"));
        let index = key(&["<expr>"], Some("emails_active"));
        assert!(refused_by(&index, "UNIQUE constraint failed: index 'emails_active'"));
        assert!(!refused_by(&index, "UNIQUE constraint failed: index 'other'"));
    }
}
