//! Backup: a byte copy of the idle database, hashed while copied and hashed again from disk.

use crate::backup_ref::BackupRef;
use crate::shown::shown;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hashing;
use crate::hold::Hold;
use crate::progress::Progress;
use crate::refusal::BadArgument;
use crate::{durable, journal, paths, preflight};

/// Where and how to make the backup.
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    /// Folder for the backup; the database's own folder when `None`.
    pub dir: Option<PathBuf>,
}

/// A backup that was written, synced, re-read from disk and found identical.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// The database that was backed up.
    #[serde(with = "crate::ospath")]
    pub database: PathBuf,
    /// The backup file, by its full path.
    #[serde(with = "crate::ospath")]
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of the backup as re-read from disk after fsync.
    pub sha256: String,
    /// SHA-256 of the bytes read from the database while copying.
    pub source_sha256: String,
    /// `MATCH` (a report is only returned for a matching backup).
    pub verdict: &'static str,
    /// What `PRAGMA quick_check` said of the database, run on the locked file while it was
    /// copied: `ok` (a report is only returned for a sound database).
    pub quick_check: String,
    /// The database's journal mode.
    pub journal_mode: String,
    /// Whether the WAL was checkpointed into the main file first.
    pub checkpointed: bool,
    /// When the backup was made, local time, RFC 3339.
    pub created_at: String,
    /// How long the whole phase took.
    pub seconds: f64,
    /// Where the time went.
    pub timings_s: BackupTimings,
}

/// Seconds spent in each step of a backup.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupTimings {
    /// Locking and checkpointing.
    pub lock: f64,
    /// Copying while hashing (SQLite's quick_check runs alongside, until the re-read ends).
    pub copy: f64,
    /// fsync of the copy, the rename and the folder fsync.
    pub sync: f64,
    /// Re-reading the copy from disk and hashing it.
    pub verify: f64,
}

impl From<&BackupReport> for BackupRef {
    fn from(report: &BackupReport) -> BackupRef {
        BackupRef::new(report.path.clone(), report.sha256.clone())
    }
}

/// Backs up `db`, refusing while another process uses it or SQLite finds it damaged.
///
/// The database is checkpointed (WAL) and write-locked so the main file alone is the whole,
/// stable database. Under the lock its bytes are copied to a hidden `.partial` file (inside the
/// kernel where the system can) while hashed, the copy is fsynced and read back from the disk
/// and hashed again, and SQLite's quick_check reads the same bytes on the other core. Only when
/// the hashes agree and quick_check says `ok` is the copy renamed (never over an existing file)
/// to `<db>.backup-YYYYMMDD-HHMMSS` and the folder fsynced; otherwise it is deleted, never
/// offered.
pub fn run(db: &Path, options: &BackupOptions, progress: &mut dyn FnMut(Progress)) -> Result<BackupReport> {
    let (report, hold) = run_holding(db, options, progress)?;
    hold.release()?;
    Ok(report)
}

/// [`run`], keeping the database held exclusively afterwards: an execute that follows in the
/// same run may then rely on the hold ([`Hold::untouched`]) instead of hashing the file again.
pub fn run_holding(
    db: &Path,
    options: &BackupOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(BackupReport, Hold)> {
    let started = Instant::now();
    let db = &paths::resolve(db)?;
    preflight::check_file(db)?;
    let dir = match &options.dir {
        Some(d) => {
            check_backup_dir(d)?;
            crate::platform::canonicalize(d)
                .map(crate::platform::simplify)
                .map_err(|e| Error::io(format!("resolving {}", shown(d)), e))?
        }
        None => paths::parent_dir(db),
    };
    check_backup_dir(&dir)?;
    preflight::ready_to_write(db, progress)?;

    let mut timings = BackupTimings::default();
    let mut lap = Instant::now();
    let mut split = || {
        let now = Instant::now();
        let secs = now.duration_since(lap).as_secs_f64();
        lap = now;
        secs
    };
    progress(Progress::Step("locking the database (its WAL folded in first)".into()));
    // Held exclusively while copying: no other process reads or writes, and the WAL is proven
    // empty under the lock, so the main file alone is the whole database.
    let mut hold = Hold::acquire(db).map_err(|e| match e {
        Error::Sqlite { source, .. } => preflight::classify_open_error(db, source),
        other => other,
    })?;
    let journal_mode = hold.journal_mode().to_string();
    let checkpointed = journal_mode.eq_ignore_ascii_case("wal");
    let size = hold.size().map_err(|e| Error::io(format!("reading {}", shown(db)), e))?;
    let available =
        durable::free_space(&dir).map_err(|e| Error::io(format!("reading free space in {}", shown(&dir)), e))?;
    let needed = crate::space::for_backup(size);
    if available < needed {
        return Err(Error::DiskSpace { dir, needed, available, backup_dir_helps: true });
    }
    // A backup the journal cannot record is never offered; find out before copying anything.
    let readied = journal::check_writable(db)?;

    let mut partial = paths::Scratch::Backup
        .create(db, &dir)
        .map_err(|e| Error::writing(&dir, format!("creating a file in {}", shown(&dir)), e))?;
    timings.lock = split();
    progress(Progress::Step(format!(
        "copying {} while hashing it, SQLite checking it alongside (quick_check)",
        paths::file_name(db)
    )));
    // Under the lock, SQLite's quick_check reads the same bytes on the other core while they
    // are copied, synced and read back from the disk; the copy gets its name only when all
    // three agree, so no file that could pass for a backup exists before then.
    hold.mark_proven();
    let (pass, health) = hold
        .read_checking(|reader, source| copy_and_prove(reader, source, &mut partial, size, progress), preflight::quick_check)
        .map_err(|e| Error::io("copying the database to the backup", e))?;
    let quick_check = health.map_err(|e| {
        readied.undo(db);
        preflight::classify_open_error(db, e)
    })?;
    if quick_check != "ok" {
        readied.undo(db);
        return Err(Error::Corrupt { path: db.clone(), detail: quick_check });
    }
    let Pass { copied, reread, seconds } = pass;
    (timings.copy, timings.sync, timings.verify) = seconds;
    split();
    if copied.bytes != size {
        return Err(Error::io(
            "copying the database",
            io::Error::other(format!("read {} bytes but the file has {size}", copied.bytes)),
        ));
    }
    let backup_sha256 = match reread? {
        h if h.sha256 == copied.sha256 && h.bytes == copied.bytes => h.sha256,
        h => return Err(Error::BackupMismatch { source_sha256: copied.sha256, backup_sha256: h.sha256 }),
    };
    let created = chrono::Local::now();
    let path = persist(partial, &dir, db, &created.format("%Y%m%d-%H%M%S").to_string())?;
    timings.sync += split();

    // Read through the holding connection: what tells later which recorded state a file that
    // has moved on was written on.
    let schema_sha256 = hold
        .conn()
        .ok()
        .and_then(|c| crate::verify::snapshot::schema(c).ok())
        .map(|o| crate::verify::snapshot::schema_digest(&o));
    if let Err(e) = journal::append(
        db,
        journal::Event::Backup { path: path.clone(), sha256: backup_sha256.clone(), bytes: copied.bytes, schema_sha256 },
    ) {
        // Unrecorded, it would only be a stray copy of the shop's data that nothing can use; but
        // a record that reached the file (only its fsync failed) must keep pointing at it.
        let recorded = journal::read(db).is_ok_and(|entries| {
            entries.iter().any(|x| matches!(&x.event, journal::Event::Backup { path: p, .. } if *p == path))
        });
        if !recorded {
            remove_bad_backup(&path, &dir);
        }
        return Err(e);
    }
    let report = BackupReport {
        database: db.to_path_buf(),
        path,
        bytes: copied.bytes,
        sha256: backup_sha256,
        source_sha256: copied.sha256,
        verdict: "MATCH",
        quick_check,
        journal_mode,
        checkpointed,
        created_at: created.to_rfc3339(),
        seconds: started.elapsed().as_secs_f64(),
        timings_s: timings,
    };
    Ok((report, hold))
}

/// What a copy made and read back: the source's hash as copied, the copy's as re-read from the
/// disk, and the seconds of copying, syncing and re-reading.
struct Pass {
    copied: hashing::StreamHash,
    reread: Result<hashing::StreamHash>,
    seconds: (f64, f64, f64),
}

/// Copies the held file into `partial` (inside the kernel where it can, hashing the source
/// from the page cache meanwhile), fsyncs it and reads it back from the disk.
fn copy_and_prove(
    reader: &mut dyn io::Read,
    source: Option<&fs::File>,
    partial: &mut tempfile::NamedTempFile,
    size: u64,
    progress: &mut dyn FnMut(Progress),
) -> io::Result<Pass> {
    let started = Instant::now();
    let mut report = |done, total| progress(Progress::Bytes { stage: "copying and hashing", done, total });
    let in_kernel = match source {
        Some(file) => hashing::kernel_copy_hashing(reader, file, partial.as_file(), size, &mut report)?,
        None => None,
    };
    let copied = match in_kernel {
        Some(h) => h,
        None => hashing::copy_hashing(reader, partial.as_file_mut(), size, &mut report)?,
    };
    let copy = started.elapsed().as_secs_f64();
    partial.as_file().sync_all()?;
    let sync = started.elapsed().as_secs_f64() - copy;
    progress(Progress::Step("re-reading the backup from disk".into()));
    let reread = hashing::rehash(partial.path(), progress);
    let verify = started.elapsed().as_secs_f64() - copy - sync;
    Ok(Pass { copied, reread, seconds: (copy, sync, verify) })
}

fn check_backup_dir(dir: &Path) -> Result<()> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::InvalidArgument(BadArgument::BackupDirNotFolder { path: dir.to_path_buf() })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(Error::InvalidArgument(BadArgument::BackupDirMissing { path: dir.to_path_buf() }))
        }
        Err(e) => Err(Error::io(format!("reading {}", shown(dir)), e)),
    }
}

/// Gives the synced partial file its final name without ever replacing an existing file, and
/// flushes the folder.
fn persist(partial: tempfile::NamedTempFile, dir: &Path, db: &Path, stamp: &str) -> Result<PathBuf> {
    let mut partial = partial.into_temp_path();
    for attempt in 1..=100 {
        let suffix = if attempt == 1 { format!(".backup-{stamp}") } else { format!(".backup-{stamp}-{attempt}") };
        let candidate = dir.join(paths::name_with(db, &suffix));
        match durable::name_new(partial, &candidate, dir) {
            Ok(()) => return Ok(candidate),
            Err(durable::NamingError::Rename(back, e)) if e.kind() == io::ErrorKind::AlreadyExists => partial = back,
            Err(e) => return Err(Error::io(format!("naming the backup {}", shown(&candidate)), e.into_io())),
        }
    }
    Err(Error::io("naming the backup", io::Error::other("100 backups already exist for this second")))
}

fn remove_bad_backup(path: &Path, dir: &Path) {
    // Best effort: the mismatch is the error to report, and a leftover is caught by its hash.
    let _ = fs::remove_file(path);
    let _ = durable::fsync_dir(dir);
}
