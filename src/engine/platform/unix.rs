//! The Unix side of the platform layer: fsync of folders, statvfs, page-cache advice, device
//! and inode identity, `/proc` scans for holders, and POSIX lock queries.

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Access, FileId, Holding, ProcessScan, Unseen};

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

/// The device and inode of a file.
pub fn file_id(meta: &Metadata) -> FileId {
    FileId { device: meta.dev(), inode: meta.ino() }
}

/// How many names (hard links) the file has.
pub fn link_count(meta: &Metadata) -> u64 {
    meta.nlink()
}

/// Whether this process runs as root, and so may look into every process.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Gives `path` the permissions and owner of the file it replaces, so the shop's application
/// can still open it. Best effort: a file we may not chown keeps our ownership.
pub fn keep_attributes(path: &Path, meta: &Metadata) {
    let _ = fs::set_permissions(path, meta.permissions());
    let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
}

/// A path as the bytes the file system stores.
pub fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_bytes().to_vec()
}

/// A path from the bytes [`path_to_bytes`] gave.
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes))
}

/// Which file `Access` a file has, for [`scan_processes`].
pub fn access_of(meta: &Metadata) -> Access {
    Access { uid: meta.uid(), gid: meta.gid(), mode: meta.mode() }
}

/// Lists the other processes that hold any of `targets` open, matched by device and inode so
/// that every name of the file counts (symlinks, hard links, another working directory, a
/// renamed file). Processes whose open files may not be read are listed as unseen when their
/// user could open the file at all (`access`); kernel threads and zombies hold no files.
pub fn scan_processes(targets: &[FileId], access: Option<Access>) -> ProcessScan {
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
    if !is_root()
        && let Some(option) = proc_hides_processes()
    {
        scan.blind =
            Some(format!("this system hides other users' processes from you (/proc is mounted with {option})"));
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
                        scan.holders.push(Holding { pid, name: process_name(pid), file });
                        break;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
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

/// Asks the kernel whether another process holds a POSIX lock anywhere on the file; returns
/// the pid it names (0 when it cannot name one, as for a process in another pid namespace).
pub fn conflicting_lock(file: &File) -> io::Result<Option<i32>> {
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

/// The device a file is on.
pub fn device(meta: &Metadata) -> u64 {
    meta.dev()
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
    fn this_process_sees_its_own_open_file_through_another_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let id = file_id(&fs::metadata(&path).unwrap());
        fs::hard_link(&path, dir.path().join("g")).unwrap();
        assert_eq!(file_id(&fs::metadata(dir.path().join("g")).unwrap()), id);
        assert_eq!(link_count(&fs::metadata(&path).unwrap()), 2);
    }
}
