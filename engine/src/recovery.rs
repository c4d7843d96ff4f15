//! An unclean shutdown, said out loud: a hot `-journal` (a write cut off mid-way) or a `-wal`
//! holding frames (an application that died before its last checkpoint) is found before SQLite
//! touches the file, a hashed copy of the files *as found* is kept, and only then is SQLite let
//! recover them. Every command that reads the database goes through here first, so even the
//! read-only ones say when they had to recover.

use crate::shown::shown;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result, human_bytes};
use crate::journal::{self, Event};
use crate::progress::Progress;
use crate::refusal::Refusal;
use crate::{durable, hashing, paths, platform};

/// The first bytes of a rollback journal that holds a transaction to undo.
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
/// A WAL header (32 bytes) and at least one frame (24 bytes and the smallest page).
const WAL_WITH_A_FRAME: u64 = 32 + 24 + 512;

/// One file of the copy kept as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptFile {
    /// Its name (the original file's name).
    pub name: String,
    /// Its SHA-256, equal to the original's as found.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
}

/// What a recovery found and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// What was found, in words.
    pub found: String,
    /// The folder holding the copy as found.
    #[serde(with = "crate::ospath")]
    pub kept: PathBuf,
    /// The files copied, each with its hash.
    pub files: Vec<KeptFile>,
}

impl Recovery {
    /// One line a technician reads.
    pub fn notice(&self, db: &Path) -> String {
        format!(
            "{} did not shut down cleanly ({}): a copy as found is kept in {} (SHA256SUMS beside it); SQLite then recovered the database",
            shown(db),
            self.found,
            shown(&self.kept)
        )
    }
}

/// What in the database's folder says it did not shut down cleanly, if anything: a hot
/// journal or a WAL holding frames. Judge it only when no other process holds the file (a
/// running application has a journal or WAL of its own).
pub fn pending(db: &Path) -> Option<String> {
    let journal = paths::side_file(db, "-journal");
    if let Ok(meta) = fs::metadata(&journal)
        && meta.len() >= JOURNAL_MAGIC.len() as u64
        && starts_with_magic(&journal)
    {
        return Some(format!(
            "a hot journal: {} holds {} of a write that was cut off",
            paths::file_name(&journal),
            human_bytes(meta.len())
        ));
    }
    let wal = paths::side_file(db, "-wal");
    match fs::metadata(&wal) {
        Ok(meta) if meta.len() >= WAL_WITH_A_FRAME => Some(format!(
            "{} holds {} of changes never checkpointed into the database file",
            paths::file_name(&wal),
            human_bytes(meta.len())
        )),
        _ => None,
    }
}

/// When [`pending`] finds an unclean shutdown: keeps a hashed copy of the database and its
/// side files as found in `<db>.cutover/as-found-<time>/`, lets SQLite recover (roll back the
/// hot journal, or fold the WAL into the file), and journals it. The caller must have made
/// sure no other process holds the database.
pub fn settle(db: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Option<Recovery>> {
    let Some(found) = pending(db) else { return Ok(None) };
    if !db.is_file() {
        return Ok(None);
    }
    progress(Progress::Step(format!("{} did not shut down cleanly: keeping a copy as found", paths::file_name(db))));
    let (kept, files) = keep_as_found(db, progress)?;
    progress(Progress::Step("letting SQLite recover the database".into()));
    recover(db)?;
    if let Some(still) = pending(db) {
        return Err(Error::NotReady(Refusal::NotRecovered { path: db.to_path_buf(), still: still.to_string(), kept }));
    }
    journal::append(db, Event::Recovered { found: found.clone(), kept: kept.clone() })?;
    let recovery = Recovery { found, kept, files };
    progress(Progress::Notice(recovery.notice(db)));
    Ok(Some(recovery))
}

fn starts_with_magic(path: &Path) -> bool {
    let mut head = [0u8; 8];
    File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok() && head == JOURNAL_MAGIC
}

/// Copies the database and every side file present into a new folder, each through a synced
/// partial file renamed into place, writes SHA256SUMS, and re-reads every copy from the disk.
fn keep_as_found(db: &Path, progress: &mut dyn FnMut(Progress)) -> Result<(PathBuf, Vec<KeptFile>)> {
    let records = journal::ensure_records_dir(db)?;
    let originals: Vec<PathBuf> = paths::with_side_files(db).into_iter().filter(|p| p.is_file()).collect();
    let total: u64 = originals.iter().filter_map(|p| fs::metadata(p).ok()).map(|m| m.len()).sum();
    let available = durable::free_space(&records)
        .map_err(|e| Error::io(format!("reading free space in {}", shown(&records)), e))?;
    let needed = total + (1 << 20);
    if available < needed {
        return Err(Error::DiskSpace { dir: records, needed, available, backup_dir_helps: false });
    }
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut dir = records.join(format!("as-found-{stamp}"));
    let mut n = 2;
    while dir.exists() {
        dir = records.join(format!("as-found-{stamp}-{n}"));
        n += 1;
    }
    let io = |what: String| move |e| Error::io(what, e);
    fs::create_dir(&dir).map_err(|e| Error::writing(&dir, format!("creating {}", shown(&dir)), e))?;
    durable::fsync_dir(&records).map_err(io(format!("flushing {} (fsync)", shown(&records))))?;
    let mut files = Vec::new();
    let mut sums = Vec::new();
    for original in &originals {
        let name = original.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let target = dir.join(&name);
        let partial = dir.join(paths::hidden_name(original, ".partial"));
        let mut src = File::open(original).map_err(io(format!("opening {}", shown(original))))?;
        let size = src.metadata().map(|m| m.len()).unwrap_or(0);
        let mut dst = File::create(&partial).map_err(io(format!("creating {}", shown(&partial))))?;
        let copied = hashing::copy_hashing(&mut src, &mut dst, size, &mut |done, total| {
            progress(Progress::Bytes { stage: "keeping a copy as found", done, total })
        })
        .map_err(io(format!("copying {}", shown(original))))?;
        dst.sync_all().map_err(io(format!("flushing {} (fsync)", shown(&partial))))?;
        drop(dst);
        fs::rename(&partial, &target).map_err(io(format!("naming {}", shown(&target))))?;
        sums.extend_from_slice(copied.sha256.as_bytes());
        sums.extend_from_slice(b"  ");
        sums.extend_from_slice(&platform::path_to_bytes(Path::new(&name)));
        sums.push(b'\n');
        files.push(KeptFile { name: name.to_string_lossy().into_owned(), sha256: copied.sha256, bytes: copied.bytes });
    }
    let list = dir.join("SHA256SUMS");
    let mut out = File::create(&list).map_err(io(format!("creating {}", shown(&list))))?;
    out.write_all(&sums).and_then(|()| out.sync_all()).map_err(io(format!("writing {}", shown(&list))))?;
    durable::fsync_dir(&dir).map_err(io(format!("flushing {} (fsync)", shown(&dir))))?;
    for (file, original) in files.iter().zip(&originals) {
        let reread = hashing::rehash(&dir.join(original.file_name().unwrap_or_default()), progress)?;
        if reread.sha256 != file.sha256 {
            return Err(Error::BackupMismatch { source_sha256: file.sha256.clone(), backup_sha256: reread.sha256 });
        }
    }
    Ok((dir, files))
}

/// Opens the database read-write and reads it, which makes SQLite roll back a hot journal;
/// folds a WAL into the file; closes it.
fn recover(db: &Path) -> Result<()> {
    crate::wal::settle(db).map(|_| ())
}
