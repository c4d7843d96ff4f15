//! The Unix side of the platform layer: fsync of folders, statvfs, page-cache advice, device
//! and inode identity, `/proc` scans for holders, POSIX lock queries, and renames that never
//! replace a file.

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{FileId, Holding, Identity, LockedFile, ProcessScan, Targets, Unseen};

/// Whether the terminal's default font may lack symbols such as ✓ (no: Unix terminals have them).
pub const LIMITED_CONSOLE_FONT: bool = false;

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

/// The owner, group and permission bits of a file, to judge which users could open it.
#[derive(Debug, Clone, Copy)]
struct Access {
    uid: u32,
    gid: u32,
    mode: u32,
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

impl DbFile {
    /// Opens the database for reading; call it before opening the SQLite connection.
    pub fn open(path: &Path) -> io::Result<DbFile> {
        File::open(path).map(DbFile)
    }

    /// A reader of the file that works under the connection's locks, from the start.
    pub fn reader(&mut self, _conn: &rusqlite::Connection) -> io::Result<&mut File> {
        use std::io::{Seek, SeekFrom};
        self.0.seek(SeekFrom::Start(0))?;
        Ok(&mut self.0)
    }

    /// The file's size.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
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

fn file_id(meta: &Metadata) -> FileId {
    FileId { device: meta.dev(), inode: meta.ino() }
}

/// The device and inode of a file (symbolic links followed) and its number of names.
pub fn identity(path: &Path) -> io::Result<Identity> {
    let meta = fs::metadata(path)?;
    Ok(Identity { id: file_id(&meta), links: meta.nlink() })
}

/// Whether this process runs as root, and so may look into every process.
fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Gives `target` the permissions and owner of `source` (the file it replaces), so the shop's
/// application can still open it. Best effort: a file we may not chown keeps our ownership.
pub fn keep_attributes(target: &Path, source: &Path) {
    let Ok(meta) = fs::metadata(source) else { return };
    let _ = fs::set_permissions(target, meta.permissions());
    let _ = std::os::unix::fs::chown(target, Some(meta.uid()), Some(meta.gid()));
    // Access control lists and security labels live in extended attributes: without them the
    // application's user may no longer open the restored file.
    for (name, value) in xattrs(source) {
        if let Err(e) = set_xattr(target, &name, &value) {
            tracing::warn!(attribute = %name.to_string_lossy(), error = %e, "an extended attribute was not kept");
        }
    }
}

/// Every extended attribute of a file: (name, value). Empty where there are none or the file
/// system has none.
fn xattrs(path: &Path) -> Vec<(std::ffi::CString, Vec<u8>)> {
    #[cfg(target_os = "linux")]
    {
        use nix::libc;
        let Ok(p) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return Vec::new() };
        // SAFETY: `p` is a valid NUL-terminated path; a null buffer with size 0 asks for the size.
        let size = unsafe { libc::listxattr(p.as_ptr(), std::ptr::null_mut(), 0) };
        if size <= 0 {
            return Vec::new();
        }
        let mut names = vec![0u8; size as usize];
        // SAFETY: the buffer has exactly `names.len()` writable bytes.
        let got = unsafe { libc::listxattr(p.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        if got <= 0 {
            return Vec::new();
        }
        names.truncate(got as usize);
        names
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
            .filter_map(|n| {
                let name = std::ffi::CString::new(n).ok()?;
                // SAFETY: valid NUL-terminated path and name; a null buffer asks for the size.
                let len = unsafe { libc::getxattr(p.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
                if len < 0 {
                    return None;
                }
                let mut value = vec![0u8; len as usize];
                // SAFETY: the buffer has exactly `value.len()` writable bytes.
                let read = unsafe { libc::getxattr(p.as_ptr(), name.as_ptr(), value.as_mut_ptr().cast(), value.len()) };
                if read < 0 {
                    return None;
                }
                value.truncate(read as usize);
                Some((name, value))
            })
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Vec::new()
    }
}

fn set_xattr(path: &Path, name: &std::ffi::CStr, value: &[u8]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let p = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: valid NUL-terminated path and name; `value` is readable for its length.
        let rc = unsafe { nix::libc::setxattr(p.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
        if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, name, value);
        Ok(())
    }
}

/// A path as the bytes the file system stores.
pub fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_bytes().to_vec()
}

/// A path from the bytes [`path_to_bytes`] gave.
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes))
}

/// Lists the other processes that hold any of `files` open, matched by device and inode so
/// that every name of the file counts (symlinks, hard links, another working directory, a
/// renamed file). With `unseen`, processes whose open files may not be read are listed when
/// their user could open the file at all (by its permissions); kernel threads and zombies hold
/// no files.
pub fn scan_processes(files: &Targets, unseen: bool) -> ProcessScan {
    let targets: Vec<FileId> = files.iter().map(|(id, _)| *id).collect();
    let access = if unseen {
        files.iter().find_map(|(_, p)| fs::metadata(p).ok()).map(|m| Access {
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode(),
        })
    } else {
        None
    };
    let mut scan = ProcessScan::default();
    if targets.is_empty() {
        return scan;
    }
    let procs = match fs::read_dir("/proc") {
        Ok(p) => p,
        Err(e) => {
            scan.blind = Some(format!("the list of running processes cannot be read (/proc: {e})"));
            return scan;
        }
    };
    if unseen
        && !is_root()
        && let Some(option) = proc_hides_processes()
    {
        scan.blind =
            Some(format!("this system hides other users' processes from you (/proc is mounted with {option})"));
    }
    if unseen && in_nested_pid_namespace() {
        scan.blind = Some(
            "cutover runs in a process namespace of its own (a container), so processes outside it cannot be seen"
                .into(),
        );
    }
    let me = std::process::id();
    for entry in procs.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        match fs::read_dir(entry.path().join("fd")) {
            Ok(fds) => {
                for fd in fds.flatten() {
                    // stat follows the descriptor to the open file itself, renamed or not.
                    let Ok(meta) = fs::metadata(fd.path()) else { continue };
                    if let Some(file) = targets.iter().position(|t| *t == file_id(&meta)) {
                        scan.holders.push(Holding { pid, name: process_name(pid), service: None, file });
                        break;
                    }
                }
            }
            Err(e) if unseen && e.kind() == io::ErrorKind::PermissionDenied => {
                let status = fs::read_to_string(entry.path().join("status")).unwrap_or_default();
                if holds_no_files(pid) || !access.is_none_or(|a| could_open(&status, a)) {
                    continue;
                }
                let uid = status_ids(&status, "Uid:").get(1).copied();
                scan.unseen.push(Unseen { pid, name: process_name(pid), user: uid.map_or("?".into(), user_name) });
            }
            // The process ended while we looked.
            Err(_) => continue,
        }
    }
    scan.holders.sort_by_key(|h| h.pid);
    // The shop's application usually runs as a service user of its own: list those first.
    scan.unseen.sort_by_key(|u| (u.user == "root", u.pid));
    scan
}

/// Asks the kernel whether another process holds a POSIX lock anywhere on the file (the
/// database's or its `-shm`'s); returns the pid it names (0 when it cannot name one, as for a
/// process in another pid namespace).
pub fn held_lock(file: &File, _which: LockedFile) -> io::Result<Option<i32>> {
    use nix::fcntl::{FcntlArg, fcntl};
    use nix::libc;

    // Ask for a write lock over the whole file: any lock another process holds conflicts with it.
    let mut query = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(file, FcntlArg::F_GETLK(&mut query)).map_err(io::Error::from)?;
    if query.l_type == libc::F_UNLCK as libc::c_short { Ok(None) } else { Ok(Some(query.l_pid)) }
}

/// The command name of a process, `unknown` once it is gone.
pub fn process_name(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Kernel threads and zombies have an empty command line and no open files.
fn holds_no_files(pid: u32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline")).map_or(true, |c| c.is_empty())
}

/// Whether a process with this `/proc/<pid>/status` could open a file with `access`: root can,
/// otherwise the owner, group or other permission bits decide. Unknown ids count as able.
fn could_open(status: &str, access: Access) -> bool {
    let uids = status_ids(status, "Uid:");
    let Some(&uid) = uids.get(1) else { return true };
    if uid == 0 {
        return true;
    }
    if uid == access.uid {
        return access.mode & 0o600 != 0;
    }
    let gids = status_ids(status, "Gid:");
    let groups = status_ids(status, "Groups:");
    if gids.get(1) == Some(&access.gid) || groups.contains(&access.gid) {
        return access.mode & 0o060 != 0;
    }
    access.mode & 0o006 != 0
}

fn status_ids(status: &str, key: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|rest| rest.split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default()
}

fn user_name(uid: u32) -> String {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Whether `path` is itself a mount point (a file bind-mounted on its own, as container
/// volumes do): no file can be renamed over it or linked to it from its folder.
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(mounts) = fs::read_to_string("/proc/self/mountinfo") else { return false };
    let wanted = path.as_os_str().as_bytes();
    mounts.lines().filter_map(|line| line.split(' ').nth(4)).any(|point| unescape_mount(point) == wanted)
}

/// Another place the file is mounted on its own (the host side of a single-file bind mount:
/// the container sees it under that name, with side files of its own).
pub fn mounted_elsewhere(path: &Path) -> Option<PathBuf> {
    let me = identity(path).ok()?.id;
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().filter_map(|line| line.split(' ').nth(4)).find_map(|point| {
        let point = PathBuf::from(OsString::from_vec(unescape_mount(point)));
        let meta = fs::metadata(&point).ok()?;
        (meta.is_file() && file_id(&meta) == me && point != path).then_some(point)
    })
}

/// Undoes the octal escapes (`\040` for a space) of a mountinfo path.
fn unescape_mount(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 4]).ok().and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Whether this process sees only part of the system's processes: it is not in the initial
/// pid namespace, whose inode the kernel fixes (PROC_PID_INIT_INO, 0xEFFFFFFC).
fn in_nested_pid_namespace() -> bool {
    const INITIAL: &str = "pid:[4026531836]";
    fs::read_link("/proc/self/ns/pid").is_ok_and(|ns| ns.as_os_str() != INITIAL)
}

/// The `hidepid` option of the /proc mount, when it hides other users' processes.
fn proc_hides_processes() -> Option<String> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split(' ');
        let mount_point = fields.nth(4)?;
        if mount_point != "/proc" {
            return None;
        }
        line.split([',', ' ']).find_map(|opt| {
            let value = opt.strip_prefix("hidepid=")?;
            (!matches!(value, "0" | "off")).then(|| opt.to_string())
        })
    })
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

/// The real path of a file or folder, every symbolic link followed.
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    fs::canonicalize(path)
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
    fn permissions_decide_who_could_open_a_file() {
        let status = "Name:\tpos\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nGroups:\t100 27\n";
        let file = |uid, gid, mode| Access { uid, gid, mode };
        assert!(could_open(status, file(1000, 5, 0o600)), "the owner");
        assert!(!could_open(status, file(1000, 5, 0o000)));
        assert!(could_open(status, file(0, 27, 0o660)), "a supplementary group");
        assert!(!could_open(status, file(0, 0, 0o660)), "neither owner nor group");
        assert!(could_open(status, file(0, 0, 0o664)), "anyone may read it");
        assert!(could_open("Uid:\t0\t0\t0\t0\n", file(1000, 1000, 0o600)), "root may open anything");
    }

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape_mount("/srv/pos\\040data/pos.db"), b"/srv/pos data/pos.db");
        assert!(is_mount_point(Path::new("/")) || !Path::new("/proc/self/mountinfo").exists());
    }

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
