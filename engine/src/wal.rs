//! Folding a database's write-ahead log into its main file: the one checkpoint every phase
//! uses, and letting SQLite finish its own recovery of a file left by a crash.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::open;
use crate::shown::shown;

/// What a fold left: the database's journal mode, and whether every WAL frame reached the main
/// file (always so when the database is not in WAL mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    /// `wal`, `delete`, `truncate`, … as SQLite reports it.
    pub journal_mode: String,
    /// No frame is left in the WAL: the main file alone is the whole database.
    pub complete: bool,
}

impl Folded {
    /// Whether the database is in WAL mode.
    pub fn is_wal(&self) -> bool {
        self.journal_mode.eq_ignore_ascii_case("wal")
    }
}

/// When `conn`'s main database is in WAL mode, checkpoints it with TRUNCATE, so every frame is
/// in the main file and the WAL is empty — unless another connection reads an older snapshot,
/// which leaves `complete` false.
pub fn fold_in(conn: &Connection) -> rusqlite::Result<Folded> {
    let journal_mode: String = conn.query_row("PRAGMA main.journal_mode", [], |r| r.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Ok(Folded { journal_mode, complete: true });
    }
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(Folded { journal_mode, complete: busy == 0 && log == done })
}

/// Opens `db` read-write and reads it, which makes SQLite roll back a hot journal, folds a WAL
/// into the file, and closes it: afterwards the main file is the database as SQLite reads it
/// (unless `complete` is false: another process still reads the WAL).
pub fn settle(db: &Path) -> Result<Folded> {
    let conn = open::read_write(db)?;
    let failed = |e| Error::sqlite(format!("recovering {}", shown(db)), e);
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).map_err(failed)?;
    let folded = fold_in(&conn).map_err(failed)?;
    conn.close().map_err(|(_, e)| failed(e))?;
    Ok(folded)
}
