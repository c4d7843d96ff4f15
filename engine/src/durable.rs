//! Durability: fsync of folders, free space, dropping cached pages before a re-read, and
//! renames that are flushed to the disk before they count. The OS-specific calls live in
//! `platform`; this is what phases use.

use std::io;
use std::path::Path;

pub use crate::platform::{free_space, fsync_dir, open_uncached, start_writeback};

/// Why a temp file could not be given its final name.
pub enum NamingError {
    /// The rename failed; the temp file is handed back (to try another name, or to be removed
    /// when dropped).
    Rename(tempfile::TempPath, io::Error),
    /// The file has its name, but the folder could not be flushed.
    Flush(io::Error),
}

impl NamingError {
    /// The I/O error behind it.
    pub fn into_io(self) -> io::Error {
        match self {
            NamingError::Rename(_, e) | NamingError::Flush(e) => e,
        }
    }
}

/// Gives a written and synced temp file its final name, never replacing a file, and flushes
/// the folder.
pub fn name_new(tmp: tempfile::TempPath, target: &Path, dir: &Path) -> Result<(), NamingError> {
    let renamed = crate::platform::rename_new(&tmp, target);
    finish_naming(tmp, renamed, dir)
}

/// Gives a written and synced temp file its final name, replacing what had it (a restore, a
/// report), and flushes the folder.
pub fn name_replacing(tmp: tempfile::TempPath, target: &Path, dir: &Path) -> Result<(), NamingError> {
    let renamed = crate::platform::rename_replacing(&tmp, target);
    finish_naming(tmp, renamed, dir)
}

fn finish_naming(tmp: tempfile::TempPath, renamed: io::Result<()>, dir: &Path) -> Result<(), NamingError> {
    if let Err(e) = renamed {
        return Err(NamingError::Rename(tmp, e));
    }
    // Renamed: the temp name is gone, so there is nothing left for it to delete.
    let _ = tmp.keep();
    fsync_dir(dir).map_err(NamingError::Flush)
}
