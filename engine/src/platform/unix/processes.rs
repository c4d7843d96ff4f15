//! Which processes hold a file: a scan of `/proc/*/fd` (and, for a file mapped with its
//! descriptor closed, `/proc/*/maps`) by device and inode, the processes that
//! could not be looked into (other users', hidden ones, those outside this namespace), and the
//! POSIX lock query.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;

use super::file_id;
use crate::platform::{FileId, Holding, LockedFile, ProcessScan, Targets, Unseen};

/// The owner, group and permission bits of a file, to judge which users could open it.
#[derive(Debug, Clone, Copy)]
struct Access {
    uid: u32,
    gid: u32,
    mode: u32,
}

/// The descriptors in `fds` (of task `tid`) on any of `targets`: (tid, descriptor, target).
/// stat follows each descriptor to the open file itself, renamed or not.
fn matching(tid: u32, fds: fs::ReadDir, targets: &[FileId]) -> Vec<(u32, i32, usize)> {
    fds.flatten()
        .filter_map(|fd| {
            let number = fd.file_name().to_str()?.parse::<i32>().ok()?;
            let meta = fs::metadata(fd.path()).ok()?;
            Some((tid, number, targets.iter().position(|t| *t == file_id(&meta))?))
        })
        .collect()
}

/// The descriptors on `targets` that threads of `pid` hold in tables of their own: a thread
/// may have unshared its descriptor table (`unshare(CLONE_FILES)`), and a process whose first
/// thread has exited shows no descriptors at `/proc/PID/fd` while its other threads still hold
/// theirs. Threads that share the table already read (the usual case, asked of the kernel) are
/// not read again, nor those the kernel will not compare for lack of rights: their descriptors
/// could not be followed either.
fn held_by_other_threads(pid: u32, dir: &std::path::Path, targets: &[FileId]) -> Vec<(u32, i32, usize)> {
    let Ok(tasks) = fs::read_dir(dir.join("task")) else { return Vec::new() };
    let mut tids: Vec<u32> = tasks
        .flatten()
        .filter_map(|t| t.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|&tid| tid != pid)
        .collect();
    tids.sort_unstable();
    // The table already read: the first thread's, unless it has exited (a zombie keeps none).
    let mut reference = (!is_zombie(pid)).then_some(pid);
    let mut held = Vec::new();
    for tid in tids {
        if let Some(r) = reference {
            match same_descriptor_table(r, tid) {
                Ok(true) => continue,
                Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => continue,
                _ => {}
            }
        }
        if let Ok(fds) = fs::read_dir(dir.join("task").join(tid.to_string()).join("fd")) {
            held.extend(matching(tid, fds, targets));
        }
        reference.get_or_insert(tid);
    }
    held
}

/// Whether a process's first thread has exited while others run on (state `Z`).
fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next().map(|st| st == "Z")))
        .unwrap_or(false)
}

/// Whether two tasks share one descriptor table (kcmp's KCMP_FILES); the kernel's error when it
/// cannot say (no such task, no rights, no kcmp).
fn same_descriptor_table(a: u32, b: u32) -> io::Result<bool> {
    use nix::libc;
    const KCMP_FILES: libc::c_int = 2;
    // SAFETY: kcmp only compares the two tasks' descriptor tables; no memory is passed.
    let r = unsafe { libc::syscall(libc::SYS_kcmp, a as libc::pid_t, b as libc::pid_t, KCMP_FILES, 0, 0) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r == 0) }
}

/// Whether `pid` is a copy of this very process that has not started its own program yet: the
/// moment between fork and exec when a program (a test harness, a supervisor) starts another.
/// Such a copy is our child, runs our executable, and holds the files only through descriptors
/// it shares with this process, the same open files fork copied (asked of the kernel with
/// `kcmp`). A child that opened a file itself, that holds it through a descriptor this process
/// does not have, or that the kernel cannot compare, is another holder.
fn is_own_fork(pid: u32, me: u32, held: &[(u32, i32, usize)]) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // `pid (comm) state ppid …`: the command may hold spaces and parentheses, so read after the
    // last `)`.
    let parent = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
    if parent != Some(me) {
        return false;
    }
    let same_program = match (fs::read_link(format!("/proc/{pid}/exe")), fs::read_link("/proc/self/exe")) {
        (Ok(theirs), Ok(ours)) => theirs == ours,
        _ => false,
    };
    if !same_program {
        return false;
    }
    let Ok(ours) = fs::read_dir("/proc/self/fd") else { return false };
    let ours: Vec<i32> = ours.flatten().filter_map(|fd| fd.file_name().to_str()?.parse::<i32>().ok()).collect();
    held.iter().all(|&(tid, theirs, _)| ours.iter().any(|&mine| same_open_file(me, mine, tid, theirs)))
}

/// Whether descriptor `a_fd` of process `a` and `b_fd` of `b` are one open file (as fork and
/// dup make them), not merely the same file opened twice.
fn same_open_file(a: u32, a_fd: i32, b: u32, b_fd: i32) -> bool {
    use nix::libc;
    const KCMP_FILE: libc::c_int = 0;
    // SAFETY: kcmp only reads the two processes' descriptor tables; the arguments are plain
    // integers and no memory is passed.
    let r = unsafe {
        libc::syscall(libc::SYS_kcmp, a as libc::pid_t, b as libc::pid_t, KCMP_FILE, a_fd as libc::c_ulong, b_fd as libc::c_ulong)
    };
    r == 0
}

/// Whether this process runs as root, and so may look into every process.
fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Lists the other processes that hold any of `files` open, matched by device and inode so
/// that every name of the file counts (symlinks, hard links, another working directory, a
/// renamed file). With `unseen`, processes whose open files may not be read are listed when
/// their user could open the file at all (by its permissions); kernel threads and zombies hold
/// no files.
pub fn scan_processes(files: &Targets, unseen: bool) -> ProcessScan {
    let targets: Vec<FileId> = files.iter().map(|(id, _)| *id).collect();
    // A file with an access control list may be open to users its permission bits do not
    // name: then every process counts as one that could hold it.
    let access = if unseen {
        files
            .iter()
            .find(|(_, p)| p.exists())
            .filter(|(_, p)| !super::xattr::all(p).iter().any(|(n, _)| n.as_bytes() == b"system.posix_acl_access"))
            .and_then(|(_, p)| fs::metadata(p).ok())
            .map(|m| Access { uid: m.uid(), gid: m.gid(), mode: m.mode() })
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
                let mut held: Vec<(u32, i32, usize)> = matching(pid, fds, &targets);
                held.extend(held_by_other_threads(pid, &entry.path(), &targets));
                if let Some(&(_, _, file)) = held.first()
                    && !is_own_fork(pid, me, &held)
                {
                    scan.holders.push(Holding { pid, name: process_name(pid), service: None, file });
                } else if held.is_empty()
                    && let Some(file) = mapped(&entry.path(), &targets)
                {
                    // Mapped and its descriptor closed: it still uses the file, and a shared
                    // writable mapping writes its pages past every lock, where a page already
                    // dirty does not even change the modified time.
                    scan.holders.push(Holding { pid, name: process_name(pid), service: None, file });
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

/// Which of `targets` the process at `dir` (`/proc/PID`) has mapped into its memory, by the
/// device and inode `maps` gives (`major:minor` in hex, then the inode).
fn mapped(dir: &std::path::Path, targets: &[FileId]) -> Option<usize> {
    let maps = fs::read_to_string(dir.join("maps")).ok()?;
    maps.lines().find_map(|line| {
        let mut fields = line.split_whitespace().skip(3);
        let (major, minor) = fields.next()?.split_once(':')?;
        let (major, minor) = (u32::from_str_radix(major, 16).ok()?, u32::from_str_radix(minor, 16).ok()?);
        let inode: u64 = fields.next()?.parse().ok()?;
        if inode == 0 {
            return None;
        }
        targets.iter().position(|t| {
            t.inode == inode && nix::libc::major(t.device) == major && nix::libc::minor(t.device) == minor
        })
    })
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
}
