//! Holding a database so that no other process can read or write it while cutover swaps the
//! file: SQLite's exclusive locking mode, kept until released, over a connection that also
//! lets the current file be hashed and compared under that lock.
//!
//! Once a rollback has renamed the files, the connection keeps its WAL when it closes
//! ("persistent WAL"): closing must not delete a `-wal` by name, which by then could belong to
//! the restored database and an application that just opened it. A hold that swapped nothing
//! closes normally and leaves no side file behind.

use crate::shown::shown;
use std::io::{self, Read};
use std::os::raw::{c_int, c_void};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result, is_busy};
use crate::hashing::{self, StreamHash};
use crate::paths;
use crate::platform::DbFile;
use crate::refusal::Refusal;

/// A database held exclusively by this process until [`Hold::release`] (or drop).
pub struct Hold {
    /// Closed first: SQLite's locks go with it.
    conn: Option<Connection>,
    /// Opened before the connection and closed after it: closing any descriptor of the
    /// database would drop this process's POSIX locks, SQLite's included.
    file: Option<DbFile>,
    db: PathBuf,
    mode: String,
    /// The file as it was when its bytes were last proven under this hold.
    stamp: Option<Stamp>,
}

/// What the file system says of the held file: which file the name reaches, its size, its
/// last-modified time and (Unix) its status-change time. A write that bypassed SQLite's locks
/// changes the times (a program may set the modified time back, never the status-change time);
/// a file renamed over the name, the identity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    id: crate::platform::FileId,
    size: u64,
    modified: Option<std::time::SystemTime>,
    changed: Option<(i64, i64)>,
}

impl Stamp {
    fn of(db: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(db).ok()?;
        let id = crate::platform::identity(db).ok()?.id;
        let changed = crate::platform::status_changed(&meta);
        Some(Stamp { id, size: meta.len(), modified: meta.modified().ok(), changed })
    }
}

/// The hold's evidence that the file is untouched, apart from the hold, so it can be asked
/// again inside the plan's transaction, right before its first statement.
#[derive(Debug, Clone)]
pub struct Untouched {
    db: PathBuf,
    wal: bool,
    stamp: Stamp,
}

impl Untouched {
    /// Whether the file is still as stamped and its WAL empty (see [`Hold::untouched`]).
    pub fn holds(&self) -> bool {
        wal_empty(&self.db, self.wal) && Stamp::of(&self.db).as_ref() == Some(&self.stamp)
    }
}

impl Hold {
    /// Takes the exclusive lock, folding a WAL into the file first, and proves under the lock
    /// that the WAL is empty, so the main file alone is the whole database. Another process
    /// holding the file makes this fail at once with `Locked`.
    pub fn acquire(db: &Path) -> Result<Hold> {
        let file = DbFile::open(db).map_err(|e| Error::io(format!("opening {}", shown(db)), e))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn =
            Connection::open_with_flags(db, flags).map_err(|e| Error::sqlite(format!("opening {}", shown(db)), e))?;
        // SQLite opens a file it may not write read-only without saying so.
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(Error::ReadOnly { path: db.to_path_buf(), why: "it opens read-only".into() });
        }
        let locked = |e: rusqlite::Error| {
            if is_busy(&e) {
                Error::Locked { path: db.to_path_buf(), pid: None }
            } else {
                Error::sqlite(format!("locking {}", shown(db)), e)
            }
        };
        conn.busy_timeout(std::time::Duration::ZERO).map_err(locked)?;
        conn.pragma_update(Some("main"), "locking_mode", "EXCLUSIVE").map_err(locked)?;
        let folded = crate::wal::fold_in(&conn).map_err(locked)?;
        if !folded.complete {
            return Err(Error::Locked { path: db.to_path_buf(), pid: None });
        }
        let mode = folded.journal_mode;
        // In exclusive locking mode the lock a write transaction takes is kept after it ends.
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(locked)?;
        let hold = Hold { conn: Some(conn), file: Some(file), db: db.to_path_buf(), mode, stamp: None };
        if !hold.wal_is_empty() {
            return Err(Error::NotReady(Refusal::WalNotEmpty { path: db.to_path_buf() }));
        }
        Ok(hold)
    }

    /// The connection holding the lock, for reads under it.
    pub fn conn(&self) -> Result<&Connection> {
        self.conn.as_ref().ok_or_else(|| Error::NotReady(Refusal::NotHeld))
    }

    /// The held file and its connection, for running a plan on it and hashing the result.
    pub fn parts_mut(&mut self) -> Result<(&DbFile, &mut Connection)> {
        match (self.file.as_ref(), self.conn.as_mut()) {
            (Some(file), Some(conn)) => Ok((file, conn)),
            _ => Err(Error::NotReady(Refusal::NotHeld)),
        }
    }

    /// Records the file as it is now, under this hold, just before its bytes are copied and
    /// hashed.
    pub fn mark_proven(&mut self) {
        self.stamp = Stamp::of(&self.db);
    }

    /// Whether the file is still the one proven by [`Hold::mark_proven`], untouched: the same
    /// file under the name, of the same size and modification time, its WAL empty, and this
    /// hold's lock never let go. Then no process that honours SQLite's locks can have written
    /// to it, and the file still equals the bytes proven then without hashing it again.
    pub fn untouched(&self) -> bool {
        self.conn.is_some() && self.file.is_some() && self.evidence().is_some_and(|u| u.holds())
    }

    /// The evidence [`Hold::untouched`] judges, to be judged again later.
    pub fn evidence(&self) -> Option<Untouched> {
        let stamp = self.stamp.clone()?;
        Some(Untouched { db: self.db.clone(), wal: self.mode.eq_ignore_ascii_case("wal"), stamp })
    }

    /// The database's journal mode (`wal`, `delete`, …).
    pub fn journal_mode(&self) -> &str {
        &self.mode
    }

    /// The main file's size.
    pub fn size(&self) -> io::Result<u64> {
        self.file.as_ref().ok_or_else(|| io::Error::other("the database is no longer held"))?.size()
    }

    /// Reads the main file from its start under the lock (through SQLite's own handle where
    /// the operating system's locks are mandatory).
    pub fn read<T>(&mut self, with: impl FnOnce(&mut dyn Read) -> io::Result<T>) -> io::Result<T> {
        let (Some(file), Some(conn)) = (self.file.as_ref(), self.conn.as_ref()) else {
            return Err(io::Error::other("the database is no longer held"));
        };
        let mut reader = file.reader(conn)?;
        with(&mut reader)
    }

    /// Reads the main file under the lock, as [`Hold::read`], while `check` runs on the holding
    /// connection on a second thread: SQLite checks the very bytes being read, on the other
    /// core. `with` also gets the file itself where the kernel may copy it
    /// ([`DbFile::copy_source`]). A read that fails interrupts the check.
    pub fn read_checking<T, C: Send>(
        &mut self,
        with: impl FnOnce(&mut dyn Read, Option<&std::fs::File>) -> io::Result<T>,
        check: impl FnOnce(&Connection) -> C + Send,
    ) -> io::Result<(T, C)> {
        if self.file.is_none() || self.conn.is_none() {
            return Err(io::Error::other("the database is no longer held"));
        }
        let (Some(file), Some(conn)) = (self.file.as_ref(), self.conn.take()) else {
            return Err(io::Error::other("the database is no longer held"));
        };
        let mut reader = match file.reader(&conn) {
            Ok(r) => r,
            Err(e) => {
                self.conn = Some(conn);
                return Err(e);
            }
        };
        let interrupt = conn.get_interrupt_handle();
        let (read, checked) = std::thread::scope(|scope| {
            let checker = scope.spawn(move || {
                let outcome = check(&conn);
                (conn, outcome)
            });
            let read = with(&mut reader, file.copy_source());
            if read.is_err() {
                interrupt.interrupt();
            }
            (read, checker.join())
        });
        // A check that panicked took the connection, and SQLite's lock, with it.
        let (conn, outcome) = checked.map_err(|_| io::Error::other("SQLite's check stopped unexpectedly"))?;
        self.conn = Some(conn);
        Ok((read?, outcome))
    }

    /// SHA-256 of the main file, read under the lock.
    pub fn hash_main(&mut self) -> Result<StreamHash> {
        let db = shown(&self.db).to_string();
        let total = self.size().map_err(|e| Error::io(format!("hashing {db}"), e))?;
        self.read(|r| hashing::hash_reader(r, total, &mut |_, _| {})).map_err(|e| Error::io(format!("hashing {db}"), e))
    }

    /// Whether this hold's WAL must outlive it: set before the files are renamed, cleared
    /// when a swap is undone (see the module note).
    pub fn keep_wal(&mut self, keep: bool) -> Result<()> {
        if let Some(conn) = &self.conn {
            persist_wal(conn, keep).map_err(|e| Error::sqlite("keeping the WAL of the replaced database", e))?;
        }
        Ok(())
    }

    /// Whether the WAL holds nothing (or there is none).
    pub fn wal_is_empty(&self) -> bool {
        wal_empty(&self.db, self.mode.eq_ignore_ascii_case("wal"))
    }

    /// Lets go of the database: the connection closes (its lock goes), then the file handle.
    pub fn release(mut self) -> Result<()> {
        let closed = match self.conn.take() {
            Some(conn) => conn.close().map_err(|(_, e)| Error::sqlite(format!("releasing {}", shown(&self.db)), e)),
            None => Ok(()),
        };
        self.file.take();
        closed
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // The connection must close before the file handle (see the field notes).
        self.conn.take();
        self.file.take();
    }
}

/// Whether the WAL of `db` holds nothing (or the database is not in WAL mode, or has none).
fn wal_empty(db: &Path, wal: bool) -> bool {
    !wal || std::fs::metadata(paths::side_file(db, "-wal")).map_or(true, |m| m.len() == 0)
}

/// SQLITE_FCNTL_PERSIST_WAL: closing the last connection leaves the WAL and its index in place
/// instead of deleting them by name.
fn persist_wal(conn: &Connection, persist: bool) -> rusqlite::Result<()> {
    let mut on: c_int = c_int::from(persist);
    // SAFETY: the handle is valid for the life of `conn`; "main" is a NUL-terminated schema
    // name; PERSIST_WAL reads and writes one int through the pointer, which outlives the call.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut on as *mut c_int).cast::<c_void>(),
        )
    };
    if rc == rusqlite::ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rc), Some("setting a persistent WAL".into())))
    }
}
