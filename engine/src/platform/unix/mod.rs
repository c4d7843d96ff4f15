//! The Unix side of the platform layer: fsync of folders, statvfs, page-cache advice, device
//! and inode identity, renames that never replace a file, and attributes kept on restore.
//! Who holds a file is in `processes`, mounts in `mounts`, extended attributes in `xattr`.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{FileId, Identity};

mod mounts;
mod processes;
mod xattr;

pub use mounts::{is_mount_point, mounted_elsewhere};
pub use processes::{held_lock, process_name, scan_processes};

/// Whether the terminal's default font may lack symbols such as ✓ (no: Unix terminals have them).
pub const LIMITED_CONSOLE_FONT: bool = false;

/// A scan for the processes holding a file sees past this process's own descriptors (it lists
/// processes by pid), so it can run while this process holds the database.
pub const SCAN_PAST_OWN_HANDLES: bool = true;

/// Files can be renamed over while this process holds them open (POSIX semantics).
pub const RENAME_WHILE_OPEN: bool = true;

/// Whether an error means another process holds the file: Unix has no mandatory locks, so
/// no I/O error says that.
pub fn is_held_error(_e: &io::Error) -> bool {
    false
}

/// Whether an error from making a hard link means the file system has none (vfat, exFAT).
pub fn no_hard_links(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(e.kind(), K::Unsupported | K::PermissionDenied) || e.raw_os_error() == Some(nix::libc::EOPNOTSUPP)
}

/// Flushes a folder's entries (new names, renames, removals) to the disk.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Bytes an unprivileged writer may still use in the file system holding `dir`.
pub fn free_space(dir: &Path) -> io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).map_err(io::Error::from)?;
    Ok((stat.blocks_available() as u64).saturating_mul(stat.fragment_size() as u64))
}

/// A file opened to be read back from the device rather than the page cache.
pub struct Uncached(File);

impl Read for Uncached {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Uncached {
    /// The file's size.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

/// Opens a file and asks the kernel to forget its cached pages, so what is read comes from the
/// device.
///
/// Only clean pages can be dropped: call it after `sync_all`. Advice the kernel ignores is not
/// an error; the read that follows is then served from memory, which is still a fresh read of
/// the file's contents through the file system.
pub fn open_uncached(path: &Path) -> io::Result<Uncached> {
    let file = File::open(path)?;
    #[cfg(target_os = "linux")]
    {
        use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
        let _ = posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
    }
    Ok(Uncached(file))
}

/// Renames `from` to `to`, replacing `to`. The folder must be fsynced after.
pub fn rename_replacing(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)
}

/// Renames `from` to `to` only if `to` does not exist (`AlreadyExists` otherwise): a backup
/// is never written over. The folder must be fsynced after.
pub fn rename_new(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use nix::libc;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
        let (a, b) = (c(from)?, c(to)?);
        // The system call itself: glibc and musl do not all wrap it.
        // SAFETY: both paths are NUL-terminated and outlive the call; AT_FDCWD resolves them
        // from the working folder like rename(2).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EEXIST) => return Err(io::Error::from(io::ErrorKind::AlreadyExists)),
            // A file system without RENAME_NOREPLACE: a hard link never replaces either.
            Some(libc::EINVAL | libc::ENOSYS) => {}
            _ => return Err(e),
        }
    }
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from),
        // No hard links either (exFAT, FAT): claim the name with an exclusive create, which
        // fails if anything has it, then rename over our own placeholder.
        Err(e) if no_hard_links(&e) => {
            fs::OpenOptions::new().write(true).create_new(true).open(to)?;
            fs::rename(from, to)
        }
        Err(e) => Err(e),
    }
}

/// A handle on the database for reading it while SQLite holds its locks. On Unix it is a
/// descriptor of our own, opened before the connection and closed after it: closing any
/// descriptor of the file drops every POSIX lock this process holds on it, SQLite's included.
pub struct DbFile(File);

/// Reads the held database from its start; each read names its offset, so the descriptor may
/// serve a copy made inside the kernel at the same time.
pub struct DbReader<'a> {
    file: &'a File,
    at: u64,
}

impl Read for DbReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl DbFile {
    /// Opens the database for reading; call it before opening the SQLite connection.
    pub fn open(path: &Path) -> io::Result<DbFile> {
        File::open(path).map(DbFile)
    }

    /// A reader of the file that works under the connection's locks, from the start.
    pub fn reader(&self, _conn: &rusqlite::Connection) -> io::Result<DbReader<'_>> {
        Ok(DbReader { file: &self.0, at: 0 })
    }

    /// The file, for a copy the kernel makes ([`kernel_copy`]): Unix locks do not bar reads.
    pub fn copy_source(&self) -> Option<&File> {
        Some(&self.0)
    }

    /// The file's size.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

/// The file's status-change time (seconds, nanoseconds), which no program can set back.
pub fn status_changed(meta: &Metadata) -> Option<(i64, i64)> {
    Some((meta.ctime(), meta.ctime_nsec()))
}

/// Copies `len` bytes from `offset` of `src` to the same offset of `dst` inside the kernel
/// (`copy_file_range`: no pass through this process's memory). `Ok(false)` when the kernel
/// cannot copy between these files and nothing was copied: the caller copies by reading.
pub fn kernel_copy(src: &File, dst: &File, offset: u64, len: u64) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let start = i64::try_from(offset).map_err(io::Error::other)?;
        let (mut off_in, mut off_out) = (start, start);
        let mut left = len;
        while left > 0 {
            let step = usize::try_from(left).unwrap_or(usize::MAX).min(1 << 30);
            // SAFETY: both descriptors are valid for the life of the borrowed files; the two
            // offsets are plain integers the call reads and advances.
            let n = unsafe {
                nix::libc::copy_file_range(src.as_raw_fd(), &mut off_in, dst.as_raw_fd(), &mut off_out, step, 0)
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                let unsupported = matches!(
                    e.raw_os_error(),
                    Some(nix::libc::ENOSYS | nix::libc::EXDEV | nix::libc::EINVAL | nix::libc::EOPNOTSUPP)
                );
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return if unsupported && left == len { Ok(false) } else { Err(e) };
            }
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the database ended before its size"));
            }
            left -= n as u64;
        }
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (src, dst, offset, len);
        Ok(false)
    }
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

pub(super) fn file_id(meta: &Metadata) -> FileId {
    FileId { device: meta.dev(), inode: meta.ino() }
}

/// The device and inode of a file (symbolic links followed) and its number of names.
pub fn identity(path: &Path) -> io::Result<Identity> {
    let meta = fs::metadata(path)?;
    Ok(Identity { id: file_id(&meta), links: meta.nlink() })
}

/// Gives `target` the permissions and owner of `source` (the file it replaces), so the shop's
/// application can still open it. Best effort: a file we may not chown keeps our ownership.
pub fn keep_attributes(target: &Path, source: &Path) {
    let Ok(meta) = fs::metadata(source) else { return };
    let _ = fs::set_permissions(target, meta.permissions());
    let _ = std::os::unix::fs::chown(target, Some(meta.uid()), Some(meta.gid()));
    // Access control lists and security labels live in extended attributes: without them the
    // application's user may no longer open the restored file.
    for (name, value) in xattr::all(source) {
        if let Err(e) = xattr::set(target, &name, &value) {
            tracing::warn!(attribute = %name.to_string_lossy(), error = %e, "an extended attribute was not kept");
        }
    }
}

/// Keeps every other program's SQLite from reading or writing a database file while held: a
/// write lock on SQLite's own lock bytes (the pending byte, the reserved byte and the shared
/// range at 1 GiB), which every connection needs before it reads or writes, in rollback-journal
/// and WAL mode alike. A program that opened the file meanwhile waits; if the file's name is
/// taken from it before the lock goes, SQLite refuses its writes ("the database file moved"),
/// so nothing it writes can vanish unseen. Let go when dropped; nothing else of this process
/// may close a descriptor of the file meanwhile (that would drop the lock).
pub struct Fence(#[allow(dead_code)] File);

impl Fence {
    /// Opens `path` and takes the lock, refusing (would block) when another process holds any
    /// of those bytes.
    pub fn open(path: &Path) -> io::Result<Fence> {
        use nix::fcntl::{FcntlArg, fcntl};
        use nix::libc;
        let file = fs::OpenOptions::new().read(true).write(true).open(path)?;
        let lock = libc::flock {
            l_type: libc::F_WRLCK as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: 0x4000_0000,
            l_len: 512,
            l_pid: 0,
        };
        fcntl(&file, FcntlArg::F_SETLK(&lock)).map_err(io::Error::from)?;
        Ok(Fence(file))
    }
}

/// Why this user could not rename a file over `path`, if it could not: in a folder with the
/// sticky bit (like `/tmp`), only the file's owner, the folder's owner or root may replace or
/// unlink it.
pub fn rename_forbidden(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let file = fs::metadata(path).ok()?;
    let dir = fs::metadata(crate::paths::parent_dir(path)).ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { nix::libc::geteuid() };
    let sticky = dir.mode() & 0o1000 != 0;
    (sticky && me != 0 && me != file.uid() && me != dir.uid()).then(|| {
        format!(
            "its folder has the sticky bit (like /tmp) and the file belongs to another user (uid {}): a rollback could not put the backup in its place — run cutover as that user, or move the database to a folder of its own",
            file.uid()
        )
    })
}

/// What lifts a read-only database's refusal, in the words of this system.
pub const READ_ONLY_FIX: &str = "give this user write permission on it (`chmod u+w`), or run cutover as its owner";

/// Whether the file carries a flag forbidding writes to everyone: none here, where whether
/// this user may write it is for opening it to tell.
pub fn read_only_attribute(_path: &Path) -> bool {
    false
}

/// Makes a file removable: nothing to do here, where removing a name needs only the folder's
/// permission.
pub fn make_removable(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// A path as the bytes the file system stores.
pub fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_bytes().to_vec()
}

/// A path from the bytes [`path_to_bytes`] gave.
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes))
}

/// A path as a POSIX shell takes it when pasted: bare when safe, else in single quotes.
pub fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A command line run by the system's shell (`sh -c`), for the shop's own program.
/// It leads a process group of its own, so [`stop_tree`] stops what it starts too.
pub fn shell_command(line: &str) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(line).process_group(0);
    c
}

/// Stops a program started by [`shell_command`] and every process it started (its group),
/// and waits for it.
pub fn stop_tree(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The real path of a file or folder, every symbolic link followed.
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    fs::canonicalize(path)
}

/// The name the file stored in `folder` has when `name` is typed for it as the last part of
/// `typed`: on Unix, exactly that name.
pub fn name_as_opened(_typed: &Path, _folder: &Path, name: &OsStr) -> OsString {
    name.to_os_string()
}

/// A resolved path as it is best shown and opened: on Unix, as it is.
pub fn simplify(path: PathBuf) -> PathBuf {
    path
}

/// A handle that keeps other processes from writing the file while it is open (Windows); on
/// Unix only a reader, since there the swap runs under SQLite's own lock.
pub struct WriteGuard(File);

impl WriteGuard {
    /// Opens the file for reading.
    pub fn open(path: &Path) -> io::Result<WriteGuard> {
        File::open(path).map(WriteGuard)
    }

    /// The file's size.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl Read for WriteGuard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_known_by_any_of_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let id = identity(&path).unwrap().id;
        fs::hard_link(&path, dir.path().join("g")).unwrap();
        assert_eq!(identity(&dir.path().join("g")).unwrap().id, id);
        assert_eq!(identity(&path).unwrap().links, 2);
    }

    #[test]
    fn rename_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"new").unwrap();
        fs::write(&b, b"kept").unwrap();
        assert_eq!(rename_new(&a, &b).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&b).unwrap(), b"kept");
        fs::remove_file(&b).unwrap();
        rename_new(&a, &b).unwrap();
        assert!(!a.exists() && fs::read(&b).unwrap() == b"new");
    }
}
