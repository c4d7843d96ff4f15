//! Durability helpers: fsync of folders, free space, dropping cached pages before a re-read.

use std::fs::File;
use std::io;
use std::path::Path;

/// Flushes a folder's entries (new names, renames, removals) to the disk.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Bytes an unprivileged writer may still use in the file system holding `dir`.
pub fn free_space(dir: &Path) -> io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).map_err(io::Error::from)?;
    Ok((stat.blocks_available() as u64).saturating_mul(stat.fragment_size() as u64))
}

/// Asks the kernel to forget the file's cached pages, so the next read comes from the device.
///
/// Only clean pages can be dropped: call it after `sync_all`. Advice the kernel ignores is not
/// an error; the read that follows is then served from memory, which is still a fresh read of
/// the file's contents through the file system.
pub fn drop_cached_pages(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
        let _ = posix_fadvise(file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Starts writing a range of `file` to the disk without waiting, so a later `sync_all` has
/// little left to do. Only a hint: errors surface at that `sync_all`.
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else { return };
        // SAFETY: the descriptor is valid for the life of `file`, and sync_file_range only
        // reads its arguments; SYNC_FILE_RANGE_WRITE starts writeback and returns at once.
        let _ = unsafe { nix::libc::sync_file_range(file.as_raw_fd(), offset, len, nix::libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}
