//! Preflight: is this a healthy SQLite database nobody else is using, and is there room to work?

use crate::shown::shown;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::inuse::{self, Holder, Unseen};
use crate::progress::Progress;
use crate::recovery::{self, Recovery};
use crate::{durable, open, paths, platform, space};

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
    /// The database, resolved to the real file.
    #[serde(with = "crate::ospath")]
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
    /// Processes that could have the file open but could not be looked into.
    pub unseen: Vec<Unseen>,
    /// Why no process could be looked into at all, when that is so.
    pub blind: Option<String>,
    /// Why a rollback could not put a backup back by renaming (so execute is refused).
    pub restore_blocker: Option<String>,
    /// The database had not shut down cleanly and was recovered, a copy as found kept.
    pub recovered: Option<Recovery>,
}

impl PreflightReport {
    /// True when another process has the database open or locked.
    pub fn in_use(&self) -> bool {
        !self.holders.is_empty() || self.locked_by.is_some()
    }

    /// True when some process could hold the file without cutover seeing it.
    pub fn uncertain(&self) -> bool {
        !self.unseen.is_empty() || self.blind.is_some()
    }

    /// Whether a run may start from what this preflight found: nobody holds the file, every
    /// process that could was looked into (or the technician vouched for them,
    /// `stopped_confirmed`), and a rollback could put a backup back. (The disk is checked by
    /// each step that writes.)
    pub fn clear(&self, stopped_confirmed: bool) -> bool {
        !self.in_use() && (!self.uncertain() || stopped_confirmed) && self.restore_blocker.is_none()
    }

    /// Who holds the database, as a person reads it: `pid 4123 (pos-server), pid 77 (python3)`.
    pub fn who(&self) -> String {
        if self.holders.is_empty() {
            return match self.locked_by {
                Some(0) => "another program (it holds a lock)".into(),
                Some(pid) => format!("pid {pid}"),
                None => String::new(),
            };
        }
        self.holders.iter().map(crate::holder::holder_text).collect::<Vec<_>>().join(", ")
    }

    /// The processes cutover could not look into, as a person reads it.
    pub fn unseen_text(&self) -> String {
        if let Some(why) = &self.blind {
            return why.clone();
        }
        let named: Vec<String> =
            self.unseen.iter().take(6).map(|u| format!("pid {} ({}, user {})", u.pid, u.name, u.user)).collect();
        let more = if self.unseen.len() > 6 { format!(" and {} more", self.unseen.len() - 6) } else { String::new() };
        format!("{}{more}", named.join(", "))
    }
}

/// Checks that need no SQLite: the path exists, is a regular non-empty file with the SQLite
/// header, and is as long as its header says. Never creates or changes anything.
///
/// A database with a hot journal or a WAL holding frames is not judged by its size: a write
/// or checkpoint cut off mid-way leaves the main file shorter than its first page says, and
/// SQLite's recovery makes it whole. [`run`] judges it again after recovering.
pub fn check_file(path: &Path) -> Result<FileFacts> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound { path: path.to_path_buf() });
        }
        Err(e) => return Err(Error::io(format!("reading {}", shown(path)), e)),
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
    let cut_short = expected > size || size % u64::from(page_size) != 0;
    if cut_short && recovery::pending(path).is_none() {
        let expected = expected.max(size.div_ceil(u64::from(page_size)) * u64::from(page_size));
        return Err(Error::Truncated { path: path.to_path_buf(), expected, actual: size });
    }
    Ok(FileFacts { size, page_size })
}

/// Runs every preflight check and reports what it found, with progress.
///
/// Bad input (missing, not SQLite, truncated, damaged) is an error; another process using the
/// file is reported, not refused, since only the phases that write must refuse it. When nobody
/// holds the file and it did not shut down cleanly, a copy as found is kept and SQLite
/// recovers it first ([`recovery::settle`]); the report says so.
pub fn run_with(path: &Path, progress: &mut dyn FnMut(Progress)) -> Result<PreflightReport> {
    run_checking(path, true, progress)
}

/// What `quick_check` says in a preflight that left it to the backup.
pub const CHECKED_BY_BACKUP: &str = "run by the backup, on the locked file while it is copied";

/// [`run_with`] for a run that makes a new backup straight after: the backup runs quick_check
/// on the locked file while copying it (on the other core) and refuses a damaged one before
/// anything else is written, so it is not run twice.
pub fn run_before_backup(path: &Path, progress: &mut dyn FnMut(Progress)) -> Result<PreflightReport> {
    run_checking(path, false, progress)
}

fn run_checking(path: &Path, quick: bool, progress: &mut dyn FnMut(Progress)) -> Result<PreflightReport> {
    check_file(path)?;
    // Scan and probe before this process opens a connection (see `inuse`).
    let seen = inuse::scan(path)?;
    if !seen.in_use() {
        crate::leftovers::remove(path, progress);
    }
    let recovered = if seen.in_use() { None } else { recovery::settle(path, progress)? };
    let facts = check_file(path)?;
    let wal_size = fs::metadata(paths::side_file(path, "-wal")).map(|m| m.len()).unwrap_or(0);

    let conn = open::inspect(path)?;
    let corrupt = |e: rusqlite::Error| classify_open_error(path, e);
    let journal_mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(corrupt)?;
    let page_count: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).map_err(corrupt)?;
    let page_count = page_count.max(0) as u64;
    let quick_check = if quick { quick_check(&conn).map_err(corrupt)? } else { CHECKED_BY_BACKUP.to_string() };
    drop(conn);
    if quick && quick_check != "ok" {
        return Err(Error::Corrupt { path: path.to_path_buf(), detail: quick_check });
    }

    let dir = paths::parent_dir(path);
    let free_disk =
        durable::free_space(&dir).map_err(|e| Error::io(format!("reading free space in {}", shown(&dir)), e))?;
    let db_bytes = facts.size + wal_size;
    let wal = journal_mode.eq_ignore_ascii_case("wal");
    let needed_disk = space::for_run(db_bytes, space::growth(space::unplanned_index_bytes(db_bytes), wal));
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
        holders: seen.holders,
        locked_by: seen.locked_by,
        unseen: seen.unseen,
        blind: seen.blind,
        restore_blocker: restore_blocker(path, None),
        recovered,
    })
}

/// Makes the database ready for a phase that writes: the file checks, nobody else holding it
/// (or the technician's confirmation for what cannot be seen), and an unclean shutdown
/// recovered with a copy kept as found. Returns the recovery, if one was needed.
pub fn ready_to_write(path: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Option<Recovery>> {
    check_file(path)?;
    inuse::ensure_not_in_use(path)?;
    crate::leftovers::remove(path, progress);
    let recovered = recovery::settle(path, progress)?;
    check_file(path)?;
    Ok(recovered)
}

/// Refuses, before anything is written beside it, a database file this process may not write
/// (a read-only attribute or permissions). It opens the file for writing and closes it again,
/// so it must run while this process holds no SQLite connection to the file (closing any
/// descriptor of it would drop that connection's locks on Unix).
pub fn ensure_writable(db: &Path) -> Result<()> {
    let read_only = || Error::ReadOnly { path: db.to_path_buf(), why: format!("it is read-only: {}", platform::READ_ONLY_FIX) };
    // Windows' read-only attribute forbids writing to everyone, an administrator too.
    if platform::read_only_attribute(db) {
        return Err(read_only());
    }
    match fs::OpenOptions::new().write(true).open(db) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && !platform::is_held_error(&e) => Err(read_only()),
        Err(e) if platform::is_held_error(&e) => Err(Error::InUse { path: db.to_path_buf(), holders: Vec::new() }),
        Err(e) => Err(Error::io(format!("opening {} for writing", shown(db)), e)),
    }
}

/// Why a backup could not be put back over this file by renaming, if it could not: the
/// file has more names than one (hard links; `ours` is a second name cutover itself made
/// during a rollback that was cut off), or it is mounted on its own. A rollback must always be
/// possible, so execute refuses such a file up front.
pub fn restore_blocker(db: &Path, ours: Option<&Path>) -> Option<String> {
    let me = platform::identity(db).ok()?;
    let our_link = ours.is_some_and(|p| platform::same_file(p, db));
    if me.links > 1 + u64::from(our_link) {
        return Some(format!(
            "the file has {} names (hard links): a rollback puts the backup in place by renaming, which would leave the other names on the migrated data — remove the other links, or copy the database to a file of its own, then run cutover again",
            me.links
        ));
    }
    let dir = paths::parent_dir(db);
    let dir_device = platform::identity(&dir).ok().map(|i| i.id.device);
    if platform::is_mount_point(db) || dir_device.is_some_and(|d| d != me.id.device) {
        return Some(
            "the file is mounted on its own (a bind mount, as container volumes do): a rollback could not rename a backup over it — mount its folder instead of the single file, or copy the database into a folder of its own"
                .into(),
        );
    }
    if let Some(other) = platform::mounted_elsewhere(db) {
        return Some(format!(
            "the file is also mounted on its own at {} (a bind mount, as container volumes do): a rollback renames a new file into place here, which that mount would not see, and the application there keeps its own -wal — stop it and mount the folder instead of the single file",
            shown(&other)
        ));
    }
    platform::rename_forbidden(db)
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
        _ => Error::sqlite(format!("reading {}", shown(path)), e),
    }
}

fn read_prefix(path: &Path, buf: &mut [u8]) -> Result<usize> {
    let mut file = File::open(path).map_err(|e| Error::io(format!("opening {}", shown(path)), e))?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", shown(path)), e)),
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
        let report = run_with(&db_in(dir.path()), &mut |_| {}).unwrap();
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
