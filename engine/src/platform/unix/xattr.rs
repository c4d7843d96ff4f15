//! Extended attributes (access control lists, security labels), read from one file and set on
//! another, so a restored database can still be opened by the users it could before.

use std::io;
use std::path::Path;

#[cfg(target_os = "linux")]
use std::os::unix::ffi::OsStrExt;

/// Every extended attribute of a file: (name, value). Empty where there are none or the file
/// system has none.
pub(super) fn all(path: &Path) -> Vec<(std::ffi::CString, Vec<u8>)> {
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

pub(super) fn set(path: &Path, name: &std::ffi::CStr, value: &[u8]) -> io::Result<()> {
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
