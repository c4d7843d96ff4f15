//! Durability: fsync of folders, free space, dropping cached pages before a re-read, and
//! renames that are flushed to the disk before they count. The OS-specific calls live in
//! `platform`; this is what phases use.

use std::io;
use std::path::Path;

pub use crate::engine::platform::{drop_cached_pages, free_space, fsync_dir, start_writeback};

/// Renames `from` over `to` (replacing it) and flushes the folder, so the new name survives a
/// power cut. Both must be in `dir`.
pub fn rename_replacing(from: &Path, to: &Path, dir: &Path) -> io::Result<()> {
    std::fs::rename(from, to)?;
    fsync_dir(dir)
}
