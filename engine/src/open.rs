//! Opening connections to an existing database without ever creating one.
//!
//! rusqlite's default `open` creates a missing file; a mistyped path must not leave an empty
//! database behind that later looks like a real one, so every open here omits SQLITE_OPEN_CREATE.

use crate::shown::shown;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// How long an inspecting connection waits for another process's lock before giving up.
const INSPECT_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens an existing database for reading and writing; it never waits for another's lock.
pub fn read_write(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        if is_permission(&e) {
            Error::ReadOnly { path: path.to_path_buf(), why: e.to_string() }
        } else {
            Error::sqlite(format!("opening {}", shown(path)), e)
        }
    })?;
    // SQLite opens a file it may not write read-only without saying so; writing needs to know.
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(Error::ReadOnly { path: path.to_path_buf(), why: "it opens read-only".into() });
    }
    conn.busy_timeout(std::time::Duration::ZERO).map_err(|e| Error::sqlite("setting the busy timeout", e))?;
    Ok(conn)
}

/// Opens an existing database for inspection only.
///
/// The connection is opened read-write with `query_only` set rather than read-only: a read-only
/// connection to a WAL database leaves `-wal` and `-shm` files behind when it closes, while a
/// read-write one removes them, so inspecting a file leaves its folder as it was. Files this
/// process may not write are opened read-only instead. When the application left frames in the
/// WAL, they stay there: closing the connection does not fold them into the file.
pub fn inspect(path: &Path) -> Result<Connection> {
    let conn = match read_write(path) {
        Ok(c) => c,
        Err(Error::ReadOnly { .. }) => {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Connection::open_with_flags(path, flags)
                .map_err(|e| Error::sqlite(format!("opening {} read-only", shown(path)), e))?
        }
        Err(e) => return Err(e),
    };
    conn.pragma_update(None, "query_only", true).map_err(|e| Error::sqlite("making the connection read-only", e))?;
    // The application's WAL stays as it is: the last connection to close would otherwise fold
    // its frames into the file, and a file only looked at must keep its bytes.
    if std::fs::metadata(crate::paths::side_file(path, "-wal")).is_ok_and(|m| m.len() > 0) {
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(|e| Error::sqlite("keeping the WAL as it is", e))?;
    }
    // Reading may briefly wait for another writer's commit; writing phases never wait.
    conn.busy_timeout(INSPECT_BUSY_TIMEOUT).map_err(|e| Error::sqlite("setting the busy timeout", e))?;
    Ok(conn)
}

/// Opens a file no one may change while it is read (a proven backup) with SQLite's
/// `immutable=1`: no locks, no change detection, and nothing created beside it (no `-wal` or
/// `-shm`, whatever the header's journal mode). `None` when the path cannot be written as the
/// URI this takes (a Windows network path): the caller reads another way.
pub fn immutable(path: &Path) -> Result<Option<Connection>> {
    let Some(uri) = immutable_uri(path) else { return Ok(None) };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(uri, flags)
        .map_err(|e| Error::sqlite(format!("opening {} to read it", shown(path)), e))?;
    Ok(Some(conn))
}

/// `file:` URI of an absolute path with `immutable=1`, every byte but the unreserved ones and
/// `/` percent-encoded; on Windows `file:///C:/…` (SQLite takes no host part).
fn immutable_uri(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    #[cfg(windows)]
    let text = {
        let forward = text.replace('\\', "/");
        let drive = forward.as_bytes();
        if drive.len() < 3 || !drive[0].is_ascii_alphabetic() || drive[1] != b':' || drive[2] != b'/' {
            return None;
        }
        format!("/{forward}")
    };
    if !text.starts_with('/') {
        return None;
    }
    let mut uri = String::from("file:");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') || (cfg!(windows) && b == b':') {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    Some(uri)
}

fn is_permission(e: &rusqlite::Error) -> bool {
    use rusqlite::ffi::ErrorCode;
    matches!(e.sqlite_error_code(), Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_immutable_open_reads_a_wal_database_under_an_awkward_name_and_creates_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("shop 50% #1 é");
        std::fs::create_dir(&folder).unwrap();
        let db = folder.join("pos db.backup");
        {
            let c = Connection::open(&db).unwrap();
            c.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (v); INSERT INTO t VALUES (1), (2);").unwrap();
        }
        let before: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(before.len(), 1, "{before:?}");
        let conn = immutable(&db).unwrap().expect("an absolute path has a URI");
        let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 2);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let during: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
        drop(conn);
        let after: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!((during, after), (before.clone(), before), "journal mode {mode}");
    }

    #[test]
    fn a_relative_path_has_no_immutable_uri() {
        assert_eq!(immutable_uri(Path::new("pos.db")), None);
    }
}
