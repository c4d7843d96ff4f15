//! How much disk each step of a run needs beside the database, so every step that writes is
//! refused before it writes when the room is not there — with one figure, the same on the
//! first screen, in the refusal and in JSON.

use std::path::Path;

use crate::error::{Error, Result};
use crate::shown::shown;

/// Room left over beyond what a step writes, so the file system is never filled to the last
/// block: 2% of the database, at least 1 MiB and at most 64 MiB.
fn margin(db_bytes: u64) -> u64 {
    (db_bytes / 50).clamp(1 << 20, 64 << 20)
}

/// A database's file size with its WAL, as the steps copy it.
pub fn database_bytes(db: &Path) -> u64 {
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    size(db) + size(&crate::paths::side_file(db, "-wal"))
}

/// Whether the database is in WAL mode, by its header (write version 2), without opening it.
pub fn wal_mode(db: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(db).and_then(|mut f| f.read_exact(&mut header)).is_ok() && header[18] == 2
}

/// What a plan adds to a file while it runs: the new indexes (`index_bytes`), twice in WAL
/// mode (the WAL holds the new pages until they are folded into the file).
pub fn growth(index_bytes: u64, wal: bool) -> u64 {
    if wal { index_bytes.saturating_mul(2) } else { index_bytes }
}

/// The index estimate before there is a plan: a quarter of the database (a tenant index entry
/// is the short tenant value plus a row id, usually far smaller than a point-of-sale row).
pub fn unplanned_index_bytes(db_bytes: u64) -> u64 {
    db_bytes / 4
}

/// A backup: the copy and the margin.
pub fn for_backup(db_bytes: u64) -> u64 {
    db_bytes.saturating_add(margin(db_bytes))
}

/// A rehearsal: the scratch copy of the backup, what the plan adds to it, and the margin.
pub fn for_rehearsal(db_bytes: u64, growth: u64) -> u64 {
    db_bytes.saturating_add(growth).saturating_add(margin(db_bytes))
}

/// An execute on production: what the plan adds to the file, and the margin.
pub fn for_execute(db_bytes: u64, growth: u64) -> u64 {
    growth.saturating_add(margin(db_bytes))
}

/// A whole run: the backup (kept), then the rehearsal's copy with its growth; production's
/// growth comes after that copy is gone, so it fits in the same room.
pub fn for_run(db_bytes: u64, growth: u64) -> u64 {
    for_backup(db_bytes).saturating_add(db_bytes).saturating_add(growth)
}

/// Refuses when the folder `dir` has less than `needed` bytes free.
pub fn ensure(dir: &Path, needed: u64, backup_dir_helps: bool) -> Result<()> {
    let available =
        crate::durable::free_space(dir).map_err(|e| Error::io(format!("reading free space in {}", shown(dir)), e))?;
    if available < needed {
        return Err(Error::DiskSpace { dir: dir.to_path_buf(), needed, available, backup_dir_helps });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_needs_more_than_its_steps_and_wal_doubles_the_growth() {
        let db = 100 << 20;
        let g = growth(10 << 20, true);
        assert_eq!(g, 20 << 20);
        assert!(for_run(db, g) >= for_backup(db) + for_rehearsal(db, g) - margin(db));
        assert!(for_run(db, g) >= for_backup(db) + for_execute(db, g) - margin(db));
        assert_eq!(for_backup(1000), 1000 + (1 << 20), "at least a MiB to spare");
    }
}
