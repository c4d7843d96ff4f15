//! `ledger_recorded`: the rows a plan writes to the application's migration ledger are there
//! (or, for an undo, gone), each exactly once.

use rusqlite::Connection;

use super::{Check, Finding, Status};
use crate::plan::app::Records;

/// Each key the plan records is in the ledger once as its runner reads it (an undo's: not at
/// all) — goose's history rows and Prisma's rolled-back ones are history, not applied.
pub fn recorded(conn: &Connection, records: &Records) -> rusqlite::Result<Check> {
    let found = crate::ledger::detect_for(conn, Some(records.kind))?;
    let ledger = found.ledgers.iter().find(|l| l.kind == records.kind && l.table.eq_ignore_ascii_case(&records.table));
    let Some(ledger) = ledger else {
        return Ok(Check::single(
            "ledger_recorded",
            Status::Fail,
            format!("the {} ledger {} is no longer there", records.kind, records.table),
        ));
    };
    let norm = |k: &str| crate::ledger::pending::norm(records.kind, k);
    let mut findings = Vec::new();
    for key in &records.keys {
        let n = ledger.entries.iter().filter(|e| norm(&e.key) == norm(key)).count();
        let (status, detail) = match (records.removes, n) {
            (false, 1) => (Status::Pass, format!("recorded in {}", records.table)),
            (false, 0) => (Status::Fail, format!("NOT recorded in {}: the app would run it again", records.table)),
            (false, n) => (Status::Fail, format!("recorded {n} times in {}", records.table)),
            (true, 0) => (Status::Pass, format!("taken out of {}", records.table)),
            (true, _) => (Status::Fail, format!("still recorded in {}: the app would count it as applied", records.table)),
        };
        findings.push(Finding { subject: key.clone(), status, detail });
    }
    Ok(Check::from_findings("ledger_recorded", findings, |s, f| match (s, records.removes) {
        (Status::Pass, false) => format!(
            "the {} ledger {} records the {} migration{} as its runner would",
            records.kind,
            records.table,
            f.len(),
            if f.len() == 1 { "" } else { "s" }
        ),
        (Status::Pass, true) => format!("the {} ledger {} no longer records the plan it undoes", records.kind, records.table),
        _ => format!(
            "the ledger {} does not hold what the plan writes: {}",
            records.table,
            f.iter().filter(|x| x.status != Status::Pass).map(|x| format!("{} {}", x.subject, x.detail)).collect::<Vec<_>>().join("; ")
        ),
    }))
}
