//! Where a database stands after an interruption: an execute the journal saw start but not
//! end is settled by looking at the file itself. SQLite rolls an unfinished transaction back on
//! the next open, and a finished one gives exactly the rehearsal's bytes, so the file's SHA-256
//! says which happened.

use std::path::Path;

use serde::Serialize;

use crate::engine::error::{Error, Result};
use crate::engine::journal::{self, Event, Standing};
use crate::engine::{hashing, inuse, open};

/// What an interrupted execute left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    /// The file equals the backup: the transaction never committed.
    Unchanged,
    /// The file equals the rehearsal's result: the transaction committed.
    Migrated,
    /// Neither: the full verification must tell.
    Unknown,
}

/// Reads the journal and, when an execute started but its end was never recorded, settles it
/// from the file and records the outcome. Refuses while another process holds the database.
pub fn reconcile(db: &Path) -> Result<(Standing, Option<Settled>)> {
    let standing = journal::standing(&journal::read(db)?);
    let Some(exec) = standing.execute.as_ref().filter(|x| x.committed.is_none() && !x.rolled_back) else {
        return Ok((standing, None));
    };
    inuse::ensure_not_in_use(db)?;
    let sha256 = settle_and_hash(db)?;
    let rehearsal = standing.dry_run.as_ref().filter(|d| d.plan.sha256 == exec.plan_sha256);
    let settled = if sha256 == exec.backup_sha256 {
        journal::append(
            db,
            Event::ExecuteRolledBack {
                plan_sha256: exec.plan_sha256.clone(),
                error: "interrupted before its commit: SQLite rolled it back; the database equals the backup".into(),
            },
        )?;
        Settled::Unchanged
    } else if rehearsal.is_some_and(|d| d.result_sha256 == sha256) {
        journal::append(db, Event::ExecuteCommitted { plan_sha256: exec.plan_sha256.clone(), result_sha256: sha256 })?;
        Settled::Migrated
    } else {
        Settled::Unknown
    };
    Ok((journal::standing(&journal::read(db)?), Some(settled)))
}

/// Lets SQLite finish its own recovery (a hot journal is rolled back on the first read, a WAL
/// is folded into the file), then hashes the main file.
pub fn settle_and_hash(db: &Path) -> Result<String> {
    let conn = open::read_write(db)?;
    let recover = |e| Error::sqlite(format!("recovering {}", db.display()), e);
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).map_err(recover)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(recover)?;
    if mode.eq_ignore_ascii_case("wal") {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)).map_err(recover)?;
    }
    conn.close().map_err(|(_, e)| recover(e))?;
    Ok(hashing::hash_file(db).map_err(|e| Error::io(format!("hashing {}", db.display()), e))?.sha256)
}
