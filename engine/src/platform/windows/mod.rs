//! The Windows side of the platform layer: write-through renames, free disk, volume and
//! file-index identity, attributes and ACLs kept on restore, paths, and reading the database
//! through SQLite's own handle (Windows locks are mandatory: another handle may not read a
//! range SQLite has locked). Who holds a file is in `holders`; reads past the cache in
//! `uncached`.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::mem::ManuallyDrop;
use std::os::raw::{c_int, c_void};
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::io::{AsRawHandle, FromRawHandle};
use std::path::{Path, PathBuf};
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION, GENERIC_READ, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, CreateFileW, FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_NORMAL,
    FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_SYSTEM, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_SEQUENTIAL_SCAN,
    FILE_READ_ATTRIBUTES, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, FindClose, FindFirstFileW,
    GetDiskFreeSpaceExW, GetFileAttributesW, GetFileInformationByHandle, INVALID_FILE_ATTRIBUTES,
    MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW, OPEN_EXISTING, SetFileAttributesW,
    WIN32_FIND_DATAW,
};

use super::{FileId, Identity};

mod holders;
mod uncached;

pub use holders::{held_lock, process_name, scan_processes};
pub use uncached::open_uncached;

/// Whether the terminal's default font may lack symbols such as ✓: the classic console's
/// raster and Consolas fonts do.
pub const LIMITED_CONSOLE_FONT: bool = true;

/// A scan for the processes holding a file cannot see past this process's own handles (its
/// share-mode probe fails on them, and the Restart Manager names no one else), so it is not
/// run while this process holds the database.
pub const SCAN_PAST_OWN_HANDLES: bool = false;

/// A file another process holds open cannot be renamed over (nor moved) on Windows: SQLite's
/// own handle must be closed before a swap.
pub const RENAME_WHILE_OPEN: bool = false;

/// How often a sharing or lock violation is retried before the file is called in use:
/// antivirus and the search indexer open files for a moment (SQLite's own Windows layer
/// retries the same way).
const RETRIES: u32 = 10;

pub(super) fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(std::iter::once(0)).collect()
}

/// Whether an error means another process has the file open or locked.
pub fn is_held_error(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == ERROR_SHARING_VIOLATION as i32 || code == ERROR_LOCK_VIOLATION as i32)
}

/// Runs `op` again while it fails because another process holds the file for a moment.
pub(super) fn retrying<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut attempt = 0;
    loop {
        match op() {
            Err(e) if is_held_error(&e) && attempt < RETRIES => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(25 * u64::from(attempt)));
            }
            other => return other,
        }
    }
}

/// Windows has no folder fsync: renames are made with MOVEFILE_WRITE_THROUGH instead.
pub fn fsync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Bytes this user may still write on the volume holding `dir`.
pub fn free_space(dir: &Path) -> io::Result<u64> {
    let mut free = 0u64;
    // SAFETY: the path is NUL-terminated UTF-16; the out pointer is valid; the other two may be null.
    let ok = unsafe { GetDiskFreeSpaceExW(wide(dir).as_ptr(), &mut free, std::ptr::null_mut(), std::ptr::null_mut()) };
    if ok == 0 { Err(io::Error::last_os_error()) } else { Ok(free) }
}

/// No write-back hint on Windows; the flush at the end does the work.
pub fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

fn move_file(from: &Path, to: &Path, flags: u32) -> io::Result<()> {
    retrying(|| {
        // SAFETY: both paths are NUL-terminated UTF-16 strings that outlive the call.
        let ok = unsafe { MoveFileExW(wide(from).as_ptr(), wide(to).as_ptr(), flags) };
        if ok == 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    })
}

/// Renames `from` over `to`, written through to the disk before it returns. Fails (a sharing
/// violation or access denied) while another process holds `to` open.
pub fn rename_replacing(from: &Path, to: &Path) -> io::Result<()> {
    move_file(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)
}

/// Renames `from` to `to` only if `to` does not exist, written through to the disk.
pub fn rename_new(from: &Path, to: &Path) -> io::Result<()> {
    move_file(from, to, MOVEFILE_WRITE_THROUGH)
}

/// Whether an error from making a hard link means the volume has none (FAT, exFAT): Windows
/// says ERROR_INVALID_FUNCTION or ERROR_NOT_SUPPORTED, Wine on such a volume ERROR_ACCESS_DENIED.
/// (Where access really is denied, the rename that follows is denied too and reported.)
pub fn no_hard_links(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(1) | Some(5) | Some(50)) || e.kind() == io::ErrorKind::Unsupported
}

/// A handle on the database for reading it while SQLite holds its locks: the reads go through
/// SQLite's own handle, which its locks do not bar.
pub struct DbFile(File);

/// SQLite's own handle, borrowed: it is never closed here. Reads name their offset, so SQLite
/// may read through the same handle at the same time (a check on another thread).
pub struct SqliteHandle {
    file: ManuallyDrop<File>,
    at: u64,
}

impl Read for SqliteHandle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::windows::fs::FileExt;
        let n = self.file.seek_read(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl DbFile {
    /// Opens the database (for its size); call it before opening the SQLite connection.
    pub fn open(path: &Path) -> io::Result<DbFile> {
        File::open(path).map(DbFile)
    }

    /// A reader of the file through the connection's own handle, from the start.
    pub fn reader(&self, conn: &rusqlite::Connection) -> io::Result<SqliteHandle> {
        let mut handle: HANDLE = std::ptr::null_mut();
        // SAFETY: the connection is open; WIN32_GET_HANDLE writes one HANDLE through the
        // pointer, which outlives the call.
        let rc: c_int = unsafe {
            rusqlite::ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                rusqlite::ffi::SQLITE_FCNTL_WIN32_GET_HANDLE,
                (&mut handle as *mut HANDLE).cast::<c_void>(),
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK || handle.is_null() || handle == INVALID_HANDLE_VALUE {
            return Err(io::Error::other("SQLite did not give its file handle"));
        }
        // SAFETY: the handle stays valid while the connection is open; ManuallyDrop keeps us
        // from ever closing it.
        let file = ManuallyDrop::new(unsafe { File::from_raw_handle(handle as _) });
        Ok(SqliteHandle { file, at: 0 })
    }

    /// None: a copy must read through SQLite's handle (a kernel copy would open the file again
    /// and meet SQLite's mandatory locks).
    pub fn copy_source(&self) -> Option<&File> {
        None
    }

    /// The file's size.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

/// None: the standard library reads no change time on Windows; the last-write time and the
/// file's identity stand for it.
pub fn status_changed(_meta: &std::fs::Metadata) -> Option<(i64, i64)> {
    None
}

/// Never used on Windows ([`DbFile::copy_source`] is None): nothing is copied.
pub fn kernel_copy(_src: &File, _dst: &File, _offset: u64, _len: u64) -> io::Result<bool> {
    Ok(false)
}

fn open_for_attributes(path: &Path) -> io::Result<File> {
    // SAFETY: NUL-terminated path; attributes-only access conflicts with no share mode.
    let handle = unsafe {
        CreateFileW(
            wide(path).as_ptr(),
            FILE_READ_ATTRIBUTES,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            std::ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_BACKUP_SEMANTICS,
            std::ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a valid handle we own from here on.
    Ok(unsafe { File::from_raw_handle(handle as _) })
}

/// The volume serial number and file index of a file, and its number of names.
pub fn identity(path: &Path) -> io::Result<Identity> {
    let file = open_for_attributes(path)?;
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: a valid handle and a valid out pointer.
    if unsafe { GetFileInformationByHandle(file.as_raw_handle() as HANDLE, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Identity {
        id: FileId {
            device: u64::from(info.dwVolumeSerialNumber),
            inode: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
        },
        links: u64::from(info.nNumberOfLinks),
    })
}

/// Windows has no single-file bind mounts.
pub fn is_mount_point(_path: &Path) -> bool {
    false
}

/// Windows has no single-file bind mounts.
pub fn mounted_elsewhere(_path: &Path) -> Option<PathBuf> {
    None
}

/// Gives `target` the attributes (read-only, hidden, system, archive) and the access control
/// list of `source`, so the shop's application (often a service account) can still open it.
/// Best effort: what cannot be copied is logged.
pub fn keep_attributes(target: &Path, source: &Path) {
    // SAFETY: NUL-terminated paths.
    let attributes = unsafe { GetFileAttributesW(wide(source).as_ptr()) };
    if attributes != INVALID_FILE_ATTRIBUTES {
        // Never the read-only flag: it would keep a scratch file that is not renamed into place
        // from ever being deleted, and a read-only database is refused before any is made.
        let keep = FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_ARCHIVE;
        let wanted = if attributes & keep == 0 { FILE_ATTRIBUTE_NORMAL } else { attributes & keep };
        // SAFETY: NUL-terminated path.
        unsafe { SetFileAttributesW(wide(target).as_ptr(), wanted) };
    }
    if let Err(e) = copy_security(source, target) {
        tracing::warn!(error = %e, "the restored file's access control list was not copied");
    }
}

fn copy_security(source: &Path, target: &Path) -> io::Result<()> {
    use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, GetFileSecurityW, SetFileSecurityW};
    let mut needed = 0u32;
    // SAFETY: asking for the size with a null buffer of length 0.
    unsafe { GetFileSecurityW(wide(source).as_ptr(), DACL_SECURITY_INFORMATION, std::ptr::null_mut(), 0, &mut needed) };
    if needed == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut descriptor = vec![0u8; needed as usize];
    // SAFETY: the buffer has `needed` bytes.
    let ok = unsafe {
        GetFileSecurityW(
            wide(source).as_ptr(),
            DACL_SECURITY_INFORMATION,
            descriptor.as_mut_ptr().cast(),
            needed,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a self-relative descriptor just read; NUL-terminated path.
    let ok =
        unsafe { SetFileSecurityW(wide(target).as_ptr(), DACL_SECURITY_INFORMATION, descriptor.as_mut_ptr().cast()) };
    if ok == 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// A path as bytes: its UTF-16 code units, little-endian (unpaired surrogates kept).
pub fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().encode_wide().flat_map(u16::to_le_bytes).collect()
}

/// A path from the bytes [`path_to_bytes`] gave.
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    let units: Vec<u16> = bytes.chunks(2).map(|p| u16::from_le_bytes([p[0], *p.get(1).unwrap_or(&0)])).collect();
    PathBuf::from(OsString::from_wide(&units))
}

/// A handle that lets other processes read the file (and rename or delete it) but never open
/// it for writing, held while the database is re-hashed and set aside.
pub struct WriteGuard(File);

impl WriteGuard {
    /// Opens the file; fails with a sharing violation if someone has it open for writing.
    pub fn open(path: &Path) -> io::Result<WriteGuard> {
        let handle = retrying(|| {
            // SAFETY: NUL-terminated path; no security attributes or template handle.
            let h = unsafe {
                CreateFileW(
                    wide(path).as_ptr(),
                    GENERIC_READ,
                    FILE_SHARE_READ | FILE_SHARE_DELETE,
                    std::ptr::null(),
                    OPEN_EXISTING,
                    FILE_FLAG_SEQUENTIAL_SCAN,
                    std::ptr::null_mut(),
                )
            };
            if h == INVALID_HANDLE_VALUE { Err(io::Error::last_os_error()) } else { Ok(h) }
        })?;
        // SAFETY: a valid handle we own from here on.
        Ok(WriteGuard(unsafe { File::from_raw_handle(handle as _) }))
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

/// Keeps every other program from opening a database file for writing while held (a handle
/// that shares reading and renaming only); let go when dropped.
pub struct Fence(#[allow(dead_code)] WriteGuard);

impl Fence {
    /// Opens `path` so; fails with a sharing violation if someone has it open for writing.
    pub fn open(path: &Path) -> io::Result<Fence> {
        WriteGuard::open(path).map(Fence)
    }
}

/// Why this user could not rename a file over `path`: nothing here beyond what the rename
/// itself says (access control lists are for the rename to refuse).
pub fn rename_forbidden(_path: &Path) -> Option<String> {
    None
}

/// What lifts a read-only database's refusal, in the words of this system.
pub const READ_ONLY_FIX: &str = "clear its read-only attribute (`attrib -r`, or Properties > Read-only) and check that this user may write it";

/// Whether the file has the read-only attribute, which forbids writing to it to everyone.
pub fn read_only_attribute(path: &Path) -> bool {
    // SAFETY: NUL-terminated path.
    let attributes = unsafe { GetFileAttributesW(wide(path).as_ptr()) };
    attributes != INVALID_FILE_ATTRIBUTES && attributes & FILE_ATTRIBUTE_READONLY != 0
}

/// Clears the read-only attribute that keeps Windows from deleting a file.
pub fn make_removable(path: &Path) -> io::Result<()> {
    let name = wide(path);
    // SAFETY: NUL-terminated path.
    let attributes = unsafe { GetFileAttributesW(name.as_ptr()) };
    if attributes == INVALID_FILE_ATTRIBUTES {
        return Err(io::Error::last_os_error());
    }
    if attributes & FILE_ATTRIBUTE_READONLY != 0 {
        let cleared = attributes & !FILE_ATTRIBUTE_READONLY;
        let wanted = if cleared == 0 { FILE_ATTRIBUTE_NORMAL } else { cleared };
        // SAFETY: NUL-terminated path.
        if unsafe { SetFileAttributesW(name.as_ptr(), wanted) } == 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A path as cmd and PowerShell take it when pasted: bare when safe, else in double quotes
/// (a Windows path cannot hold a double quote).
pub fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "\\/:._-".contains(c)) {
        s
    } else {
        format!("\"{s}\"")
    }
}

/// A command line run by the system's shell (`cmd /C`), for the shop's own program; the line
/// is passed as written, so cmd sees its quotes.
pub fn shell_command(line: &str) -> std::process::Command {
    use std::os::windows::process::CommandExt;
    let mut c = std::process::Command::new("cmd");
    c.arg("/C").raw_arg(line);
    c
}

/// Stops a program started by [`shell_command`] and every process it started (`taskkill /T`),
/// and waits for it.
pub fn stop_tree(child: &mut std::process::Child) {
    let _ = std::process::Command::new("taskkill")
        .args(["/T", "/F", "/PID", &child.id().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The final path of a file or folder, every link and junction followed, in `\\?\` form.
/// (std's canonicalize gives up on very long paths under Wine; this asks with room for the
/// longest path Windows allows.)
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    use windows_sys::Win32::Storage::FileSystem::GetFinalPathNameByHandleW;
    let file = open_for_attributes(path)?;
    let mut buf = vec![0u16; 32_768];
    // SAFETY: a valid handle; the buffer holds `buf.len()` units.
    let n = unsafe { GetFinalPathNameByHandleW(file.as_raw_handle() as HANDLE, buf.as_mut_ptr(), buf.len() as u32, 0) };
    if n == 0 || n as usize >= buf.len() {
        let e = io::Error::last_os_error();
        // ERROR_MORE_DATA with room for any path: Wine stops at 260 characters. The full path
        // is then taken as given (it exists; only a junction on the way would be missed).
        if e.raw_os_error() == Some(234) {
            let full = std::path::absolute(path)?;
            let text = full.as_os_str().to_string_lossy();
            return Ok(if text.starts_with(r"\\?\") { full } else { PathBuf::from(format!(r"\\?\{text}")) });
        }
        return Err(e);
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(OsString::from_wide(&buf)))
}

/// The name the file stored in `folder` has when `name` is typed for it as the last part of
/// `typed`: Windows drops trailing dots and spaces (`pos.db.` opens `pos.db`) except in a
/// `\\?\` path, and an 8.3 short name (`POINTO~1.DB`) or another case opens the same file.
/// SQLite names the side files after the name it is given, so the side files, the records and
/// the messages must use the name as stored, which the directory entry gives.
pub fn name_as_opened(typed: &Path, folder: &Path, name: &OsStr) -> OsString {
    let verbatim = typed.as_os_str().encode_wide().take(4).eq(r"\\?\".encode_utf16());
    let mut wide: Vec<u16> = name.encode_wide().collect();
    while !verbatim && wide.last().is_some_and(|&c| c == u16::from(b'.') || c == u16::from(b' ')) {
        wide.pop();
    }
    if wide.is_empty() {
        return name.to_os_string();
    }
    let name = OsString::from_wide(&wide);
    // Wildcards would match other files; they cannot be part of a real name anyway.
    if wide.iter().any(|&c| [b'*', b'?', b'<', b'>', b'"'].iter().any(|&w| c == u16::from(w))) {
        return name;
    }
    stored_name(&folder.join(&name)).unwrap_or(name)
}

/// The long name, as stored, of the directory entry `path` names; `None` when there is none.
fn stored_name(path: &Path) -> Option<OsString> {
    let path = wide(path);
    // SAFETY: a zeroed WIN32_FIND_DATAW is a valid out-buffer; `path` is NUL-terminated; the
    // search handle is closed before returning.
    let mut found: WIN32_FIND_DATAW = unsafe { std::mem::zeroed() };
    let handle = unsafe { FindFirstFileW(path.as_ptr(), &mut found) };
    if handle == INVALID_HANDLE_VALUE {
        return None;
    }
    unsafe { FindClose(handle) };
    let len = found.cFileName.iter().position(|&c| c == 0).unwrap_or(found.cFileName.len());
    (len > 0).then(|| OsString::from_wide(&found.cFileName[..len]))
}

/// A resolved path as it is best shown and opened: `\\?\C:\…` as `C:\…` and
/// `\\?\UNC\server\share\…` as `\\server\share\…` when short enough for every API (under
/// 260 characters); longer paths keep their `\\?\` form, which lifts that limit.
pub fn simplify(path: PathBuf) -> PathBuf {
    let Some(text) = path.to_str() else { return path };
    let simpler = if let Some(rest) = text.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{rest}")
    } else if let Some(rest) = text.strip_prefix(r"\\?\") {
        let drive = rest.as_bytes();
        if drive.len() >= 3 && drive[0].is_ascii_alphabetic() && drive[1] == b':' && drive[2] == b'\\' {
            rest.to_string()
        } else {
            return path;
        }
    } else {
        return path;
    };
    if simpler.encode_utf16().count() < 260 { PathBuf::from(simpler) } else { path }
}
