//! Preflight: is this a healthy SQLite database nobody else is using, and is there room to work?

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::durable;
use crate::engine::error::{Error, Result};
use crate::engine::inuse::{self, Holder};
use crate::engine::{open, paths};

/// The 16 bytes every SQLite database file starts with.
pub const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What the file itself says before SQLite opens it.
#[derive(Debug, Clone, Serialize)]
pub struct FileFacts {
    /// Size of the main database file in bytes.
    pub size: u64,
    /// Page size from the header.
    pub page_size: u32,
}

/// Everything the first screen shows about the database.
#[derive(Debug, Clone, Serialize)]
pub struct PreflightReport {
    /// The database path as given.
    pub path: PathBuf,
    /// Size of the main file in bytes.
    pub file_size: u64,
    /// Size of the `-wal` file, 0 when there is none.
    pub wal_size: u64,
    /// SQLite page size.
    pub page_size: u32,
    /// Pages in the database.
    pub page_count: u64,
    /// `delete`, `wal`, `truncate`, `persist`, `memory` or `off`.
    pub journal_mode: String,
    /// The SQLite library cutover is built with.
    pub sqlite_version: String,
    /// `ok`, or the first problems `PRAGMA quick_check` names.
    pub quick_check: String,
    /// Free bytes in the database's folder.
    pub free_disk: u64,
    /// Bytes a full run needs there: backup, rehearsal copy and an index estimate.
    pub needed_disk: u64,
    /// Whether `free_disk` covers `needed_disk`.
    pub enough_disk: bool,
    /// Other processes holding the database or its side files open.
    pub holders: Vec<Holder>,
    /// A pid holding a SQLite lock on the file, when the lock probe found one.
    pub locked_by: Option<i32>,
}

impl PreflightReport {
    /// True when another process has the database open or locked.
    pub fn in_use(&self) -> bool {
        !self.holders.is_empty() || self.locked_by.is_some()
    }

    /// Who holds the database, as a person reads it: `pid 4123 (pos-server), pid 77 (python3)`.
    pub fn who(&self) -> String {
        if self.holders.is_empty() {
            return self.locked_by.map(|pid| format!("pid {pid}")).unwrap_or_default();
        }
        self.holders.iter().map(|h| format!("pid {} ({})", h.pid, h.name)).collect::<Vec<_>>().join(", ")
    }
}

/// Checks that need no SQLite: the path exists, is a regular non-empty file with the SQLite
/// header, and is as long as its header says. Never creates or changes anything.
pub fn check_file(path: &Path) -> Result<FileFacts> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound { path: path.to_path_buf() });
        }
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    if meta.is_dir() {
        return Err(Error::IsDirectory { path: path.to_path_buf() });
    }
    if !meta.is_file() {
        return Err(Error::NotRegularFile { path: path.to_path_buf() });
    }
    let size = meta.len();
    if size == 0 {
        return Err(Error::EmptyFile { path: path.to_path_buf() });
    }
    let mut header = [0u8; 100];
    let got = read_prefix(path, &mut header)?;
    if got < SQLITE_HEADER.len() || &header[..16] != SQLITE_HEADER {
        return Err(Error::NotSqlite { path: path.to_path_buf() });
    }
    if got < header.len() {
        return Err(Error::Truncated { path: path.to_path_buf(), expected: header.len() as u64, actual: size });
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n if n >= 512 && n.is_power_of_two() => u32::from(n),
        _ => return Err(Error::NotSqlite { path: path.to_path_buf() }),
    };
    let be32 = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    // The in-header page count is only trustworthy when its "version valid for" matches the
    // change counter (SQLite file format, section 1.3.7).
    let header_pages = (be32(92) == be32(24)).then(|| u64::from(be32(28)));
    let expected = header_pages.map(|n| n * u64::from(page_size)).unwrap_or(0);
    if expected > size || size % u64::from(page_size) != 0 {
        let expected = expected.max(size.div_ceil(u64::from(page_size)) * u64::from(page_size));
        return Err(Error::Truncated { path: path.to_path_buf(), expected, actual: size });
    }
    Ok(FileFacts { size, page_size })
}

/// Runs every preflight check and reports what it found.
///
/// Bad input (missing, not SQLite, truncated, damaged) is an error; another process using the
/// file is reported, not refused, since only the phases that write must refuse it.
pub fn run(path: &Path) -> Result<PreflightReport> {
    let facts = check_file(path)?;
    // Scan and probe before this process opens a connection (see `inuse`).
    let holders = inuse::holders(path);
    let locked_by = inuse::lock_probe(path)?;
    let wal_size = fs::metadata(paths::side_file(path, "-wal")).map(|m| m.len()).unwrap_or(0);

    let conn = open::inspect(path)?;
    let corrupt = |e: rusqlite::Error| classify_open_error(path, e);
    let journal_mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(corrupt)?;
    let page_count: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).map_err(corrupt)?;
    let page_count = page_count.max(0) as u64;
    let quick_check = quick_check(&conn).map_err(corrupt)?;
    drop(conn);
    if quick_check != "ok" {
        return Err(Error::Corrupt { path: path.to_path_buf(), detail: quick_check });
    }

    let dir = paths::parent_dir(path);
    let free_disk =
        durable::free_space(&dir).map_err(|e| Error::io(format!("reading free space in {}", dir.display()), e))?;
    let needed_disk = needed_bytes(facts.size + wal_size);
    Ok(PreflightReport {
        path: path.to_path_buf(),
        file_size: facts.size,
        wal_size,
        page_size: facts.page_size,
        page_count,
        journal_mode,
        sqlite_version: rusqlite::version().to_string(),
        quick_check,
        free_disk,
        needed_disk,
        enough_disk: free_disk >= needed_disk,
        holders,
        locked_by,
    })
}

/// Disk a full run needs beside a database of `db_bytes`: the backup, the rehearsal copy and
/// the new index, estimated at a quarter of the database (a tenant index entry is the short
/// tenant value plus a row id, far smaller than a typical point-of-sale row).
pub fn needed_bytes(db_bytes: u64) -> u64 {
    db_bytes.saturating_mul(2).saturating_add(db_bytes / 4)
}

/// Runs `PRAGMA quick_check` and joins what it reports (at most a few lines).
pub fn quick_check(conn: &rusqlite::Connection) -> rusqlite::Result<String> {
    let mut stmt = conn.prepare("PRAGMA quick_check(5)")?;
    let lines: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(lines.join("; "))
}

/// Turns a SQLite error met while reading a database into the error a technician should see.
pub fn classify_open_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            Error::Corrupt { path: path.to_path_buf(), detail: e.to_string() }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::Locked { path: path.to_path_buf(), pid: None }
        }
        _ => Error::sqlite(format!("reading {}", path.display()), e),
    }
}

fn read_prefix(path: &Path, buf: &mut [u8]) -> Result<usize> {
    let mut file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_in(dir: &Path) -> PathBuf {
        let path = dir.join("t.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1);").unwrap();
        path
    }

    #[test]
    fn healthy_database_passes() {
        let dir = tempfile::tempdir().unwrap();
        let report = run(&db_in(dir.path())).unwrap();
        assert_eq!(report.quick_check, "ok");
        assert_eq!(report.journal_mode, "delete");
        assert_eq!(report.page_count * u64::from(report.page_size), report.file_size);
        assert!(!report.in_use());
    }

    #[test]
    fn a_cut_short_file_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_in(dir.path());
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        assert!(matches!(check_file(&path), Err(Error::Truncated { .. })));
    }
}
