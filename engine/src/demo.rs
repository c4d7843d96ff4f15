//! The demo point-of-sale database: built from `assets/demo.sql` into a fresh file.

use crate::shown::shown;
use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::durable;
use crate::error::{Error, Result};

/// The demo's schema and rows.
pub const DEMO_SQL: &str = include_str!("../../assets/demo.sql");

/// The demo database's file name.
pub const DEMO_FILE: &str = "pos.db";

/// Builds the demo database as `dir/pos.db` (WAL mode, like most point-of-sale apps), creating
/// `dir` if needed. Refuses to replace an existing file. The database is built under a hidden
/// temporary name and renamed into place only once complete and synced.
pub fn create(dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", shown(dir)), e))?;
    let target = dir.join(DEMO_FILE);
    if target.exists() {
        return Err(Error::InvalidArgument(crate::refusal::BadArgument::DemoExists { path: target }));
    }
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{DEMO_FILE}."))
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("creating a file in {}", shown(dir)), e))?;
    let build = |e| Error::sqlite("building the demo database", e);
    let built = (|| {
        let conn = Connection::open(partial.path()).map_err(build)?;
        conn.pragma_update(None, "journal_mode", "wal").map_err(build)?;
        conn.execute_batch(DEMO_SQL).map_err(build)?;
        // Everything into the file itself before it gets its name: a WAL left behind (a full
        // disk) would not follow the rename.
        let folded = crate::wal::fold_in(&conn).map_err(build)?;
        conn.close().map_err(|(_, e)| build(e))?;
        let wal = crate::paths::side_file(partial.path(), "-wal");
        if !folded.complete || std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(Error::io(
                "building the demo database",
                std::io::Error::other("its WAL could not be folded into the file (is the disk full?)"),
            ));
        }
        Ok(())
    })();
    if let Err(e) = built {
        for side in crate::paths::SIDE_SUFFIXES {
            let _ = std::fs::remove_file(crate::paths::side_file(partial.path(), side));
        }
        return Err(e);
    }
    partial.as_file().sync_all().map_err(|e| Error::io("flushing the demo database (fsync)", e))?;
    durable::name_new(partial.into_temp_path(), &target, dir)
        .map_err(|e| Error::io(format!("naming {}", shown(&target)), e.into_io()))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_builds_once_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = create(dir.path()).unwrap();
        let conn = Connection::open(&db).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(tables >= 30, "{tables} tables");
        let problems: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(problems, 0);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        assert!(matches!(create(dir.path()), Err(Error::InvalidArgument(_))));
    }
}
