//! Which processes hold a file on Windows: an open with share mode 0 says whether anyone does
//! (Windows enforces share modes), the Restart Manager says who and which service; and the
//! lock probe on SQLite's own lock bytes.

use std::fs::File;
use std::io;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, GENERIC_READ, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY, LockFileEx, OPEN_EXISTING, UnlockFileEx,
};
use windows_sys::Win32::System::IO::OVERLAPPED;

use super::{is_held_error, retrying, wide};
use crate::platform::{Holding, LockedFile, ProcessScan, RestartManagerEntry, Targets, restart_manager_names};

/// Whether another process holds `path` open: an open with share mode 0 is refused with a
/// sharing violation then (retried for a moment, for antivirus and indexers).
fn held_open(path: &Path) -> io::Result<bool> {
    let open = || {
        // SAFETY: NUL-terminated path; share mode 0 asks for the file to ourselves.
        let handle = unsafe {
            CreateFileW(wide(path).as_ptr(), GENERIC_READ, 0, std::ptr::null(), OPEN_EXISTING, 0, std::ptr::null_mut())
        };
        if handle == INVALID_HANDLE_VALUE {
            Err(io::Error::last_os_error())
        } else {
            // SAFETY: a handle we just opened.
            unsafe { CloseHandle(handle) };
            Ok(())
        }
    };
    match retrying(open) {
        Ok(()) => Ok(false),
        Err(e) if is_held_error(&e) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The processes holding any of `files`: a share-mode probe says whether someone does, the
/// Restart Manager says who (and which service). Where it names nobody, "another program";
/// where it fails, the same: an unnamed holder is never taken for none. Processes cutover
/// cannot look into do not arise (`unseen` is empty): the probe sees every holder.
pub fn scan_processes(files: &Targets, _unseen: bool) -> ProcessScan {
    let mut scan = ProcessScan::default();
    let held: Vec<usize> =
        files.iter().enumerate().filter(|(_, (_, path))| held_open(path).unwrap_or(true)).map(|(i, _)| i).collect();
    if held.is_empty() {
        return scan;
    }
    let paths: Vec<&Path> = held.iter().map(|&i| files[i].1.as_path()).collect();
    let named = match restart_manager(&paths) {
        Ok(list) => restart_manager_names(&list, std::process::id()),
        Err(e) => {
            tracing::warn!(error = %e, "the Restart Manager could not name the holders");
            Vec::new()
        }
    };
    if named.is_empty() {
        scan.holders.push(Holding { pid: 0, name: "another program".into(), service: None, file: held[0] });
    } else {
        scan.holders.extend(named.into_iter().map(|(pid, name, service)| Holding {
            pid,
            name,
            service,
            file: held[0],
        }));
    }
    scan
}

/// Asks the Restart Manager which processes hold these files.
fn restart_manager(paths: &[&Path]) -> io::Result<Vec<RestartManagerEntry>> {
    use windows_sys::Win32::System::RestartManager::{
        CCH_RM_SESSION_KEY, RM_PROCESS_INFO, RmEndSession, RmGetList, RmRegisterResources, RmStartSession,
    };
    let mut session = 0u32;
    let mut key = [0u16; CCH_RM_SESSION_KEY as usize + 1];
    // SAFETY: valid out pointers; the key buffer has the documented size.
    let rc = unsafe { RmStartSession(&mut session, 0, key.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc as i32));
    }
    let result = (|| {
        let names: Vec<Vec<u16>> = paths.iter().map(|p| wide(p)).collect();
        let pointers: Vec<*const u16> = names.iter().map(|n| n.as_ptr()).collect();
        // SAFETY: `pointers` holds NUL-terminated strings that outlive the call.
        let rc = unsafe {
            RmRegisterResources(
                session,
                pointers.len() as u32,
                pointers.as_ptr(),
                0,
                std::ptr::null(),
                0,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc as i32));
        }
        let mut list: Vec<RM_PROCESS_INFO> = Vec::new();
        let mut needed = 0u32;
        for _ in 0..4 {
            let mut count = list.len() as u32;
            let mut reasons = 0u32;
            // SAFETY: `list` has room for `count` entries.
            let rc = unsafe { RmGetList(session, &mut needed, &mut count, list.as_mut_ptr(), &mut reasons) };
            match rc {
                0 => {
                    list.truncate(count as usize);
                    return Ok(list
                        .iter()
                        .map(|p| RestartManagerEntry {
                            pid: p.Process.dwProcessId,
                            app: from_wide_z(&p.strAppName),
                            service: from_wide_z(&p.strServiceShortName),
                        })
                        .collect());
                }
                // ERROR_MORE_DATA: make room for what it asked and ask again.
                234 => list.resize(needed as usize + 2, RM_PROCESS_INFO::default()),
                other => return Err(io::Error::from_raw_os_error(other as i32)),
            }
        }
        Err(io::Error::other("the list of holders kept growing"))
    })();
    // SAFETY: the session was started above.
    unsafe { RmEndSession(session) };
    result
}

fn from_wide_z(units: &[u16]) -> String {
    let end = units.iter().position(|u| *u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// SQLite's lock bytes on Windows (os_win.c): PENDING and RESERVED at 0x40000000 and after,
/// then the 510-byte SHARED range; in the `-shm`, every WAL connection holds the byte at 128.
const PENDING_BYTE: u32 = 0x4000_0000;
const SHARED_SIZE: u32 = 510;
const SHM_DMS_BYTE: u32 = 128;

/// Whether another connection holds one of SQLite's locks on the file: an exclusive lock is
/// tried on its lock bytes without waiting and released at once. Windows cannot name the
/// holder (`Some(0)`).
pub fn held_lock(file: &File, which: LockedFile) -> io::Result<Option<i32>> {
    let (offset, len) = match which {
        LockedFile::Database => (PENDING_BYTE, 2 + SHARED_SIZE),
        LockedFile::SharedMemory => (SHM_DMS_BYTE, 1),
    };
    let handle = file.as_raw_handle() as HANDLE;
    let mut overlapped: OVERLAPPED = unsafe { std::mem::zeroed() };
    overlapped.Anonymous.Anonymous.Offset = offset;
    let locked = retrying(|| {
        // SAFETY: a valid handle and an OVERLAPPED giving the offset, both outliving the call.
        let ok = unsafe {
            LockFileEx(handle, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, len, 0, &mut overlapped)
        };
        if ok == 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    });
    match locked {
        Ok(()) => {
            // SAFETY: the range just locked on this handle.
            unsafe { UnlockFileEx(handle, 0, len, 0, &mut overlapped) };
            Ok(None)
        }
        Err(e) if is_held_error(&e) => Ok(Some(0)),
        Err(e) => Err(e),
    }
}

/// Windows names lock holders through the Restart Manager instead.
pub fn process_name(_pid: u32) -> String {
    "another program".into()
}
