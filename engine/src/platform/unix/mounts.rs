//! Mount points from /proc/self/mountinfo: a database mounted on its own, here or elsewhere.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::{file_id, identity};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape_mount("/srv/pos\\040data/pos.db"), b"/srv/pos data/pos.db");
        assert!(is_mount_point(Path::new("/")) || !Path::new("/proc/self/mountinfo").exists());
    }
}
