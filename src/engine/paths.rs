//! Names of the files that belong to a database: side files, backups, the records folder, and
//! the one place a path the technician typed is resolved to the real file.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::engine::error::{Error, Result};

/// The suffixes SQLite uses for a database's side files.
pub const SIDE_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// How many symbolic links are followed before a path is called a loop.
const MAX_LINKS: usize = 40;

/// Resolves the path the technician gave to the real database file, once, at the start of a
/// command: made absolute (so records never depend on the working folder) with every
/// symbolic link followed, the last one included, so a phase works on the file the
/// application really uses and never on a link to it. The file itself may be missing (a
/// rollback may find it moved away); its folder must exist.
pub fn resolve(typed: &Path) -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::io("reading the current folder", e))?;
    let mut current = if typed.is_absolute() { typed.to_path_buf() } else { cwd.join(typed) };
    for _ in 0..MAX_LINKS {
        let (Some(parent), Some(name)) = (current.parent(), current.file_name()) else {
            // "/", "..", "x/.": a folder, never a database; the phases say so.
            return Ok(crate::engine::platform::canonicalize(&current)
                .map(crate::engine::platform::simplify)
                .unwrap_or(current));
        };
        let parent = match crate::engine::platform::canonicalize(parent) {
            Ok(p) => crate::engine::platform::simplify(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { path: typed.to_path_buf() });
            }
            Err(e) => return Err(Error::io(format!("resolving {}", typed.display()), e)),
        };
        let candidate = parent.join(crate::engine::platform::name_as_opened(&current, &parent, name));
        match fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&candidate)
                    .map_err(|e| Error::io(format!("reading the link {}", candidate.display()), e))?;
                current = if target.is_absolute() { target } else { parent.join(target) };
            }
            _ => return Ok(candidate),
        }
    }
    Err(Error::InvalidArgument(format!(
        "{} is a chain of more than {MAX_LINKS} links (a loop?) — give the database file itself",
        typed.display()
    )))
}

/// The paths as the technician typed them, by the real path each resolved to: messages name
/// the database (and the files beside it) the way it was typed.
static TYPED: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

/// Remembers that `typed` resolved to `real`, for [`shown`].
pub fn remember_typed(real: &Path, typed: &Path) {
    // As typed, but ending in the file's real name: `pos.db/` and, on Windows, `pos.db.` open
    // `pos.db`, and the files beside it are named after that.
    let (Some(typed_name), Some(real_name)) = (typed.file_name(), real.file_name()) else { return };
    let text = typed.to_string_lossy();
    let text = text.trim_end_matches(std::path::is_separator);
    let typed_name = typed_name.to_string_lossy();
    let Some(folder) = text.strip_suffix(typed_name.as_ref()) else { return };
    let typed = PathBuf::from(format!("{folder}{}", real_name.to_string_lossy()));
    if real != typed
        && let Ok(mut all) = TYPED.lock()
        && !all.iter().any(|(r, _)| r == real)
    {
        all.push((real.to_path_buf(), typed));
    }
}

/// A path as a message shows it: the database as the technician typed it, and a file beside
/// it (`pos.db.backup-…`, `pos.db-wal`) the same way; any other path as it is.
pub fn shown(path: &Path) -> String {
    let text = path.to_string_lossy();
    if let Ok(all) = TYPED.lock() {
        for (real, typed) in all.iter() {
            let real_text = real.to_string_lossy();
            if let Some(rest) = text.strip_prefix(real_text.as_ref()) {
                return format!("{}{rest}", typed.to_string_lossy());
            }
        }
    }
    text.into_owned()
}

/// `pos.db` + `-wal` → `pos.db-wal`, in the same folder.
pub fn side_file(db: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The database followed by its `-wal`, `-shm` and `-journal` paths.
pub fn with_side_files(db: &Path) -> Vec<PathBuf> {
    let mut all = vec![db.to_path_buf()];
    all.extend(SIDE_SUFFIXES.iter().map(|s| side_file(db, s)));
    all
}

/// The folder holding `path`, `.` for a bare file name.
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file name of `path` as text, for messages.
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "database".to_string())
}

/// The database's own file name followed by `suffix`, exactly (not only for UTF-8 names):
/// `pos.db` + `.backup-…`.
pub fn name_with(db: &Path, suffix: &str) -> OsString {
    let mut name = db.file_name().map(OsStr::to_os_string).unwrap_or_else(|| OsString::from("database"));
    name.push(suffix);
    name
}

/// A hidden name beside the database for work in progress: `.pos.db` + `middle`.
pub fn hidden_name(db: &Path, middle: &str) -> OsString {
    let mut name = OsString::from(".");
    name.push(name_with(db, middle));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_files_sit_beside_the_database() {
        assert_eq!(side_file(Path::new("/x/pos.db"), "-wal"), PathBuf::from("/x/pos.db-wal"));
        assert_eq!(with_side_files(Path::new("a b.db")).len(), 4);
        assert_eq!(parent_dir(Path::new("pos.db")), PathBuf::from("."));
        assert_eq!(hidden_name(Path::new("/x/pos.db"), ".backup-"), OsString::from(".pos.db.backup-"));
    }

    #[test]
    fn messages_show_the_path_as_typed() {
        let real = std::env::temp_dir().join("cutover-shown-test").join("pos.db");
        remember_typed(&real, Path::new("pos.db"));
        assert_eq!(shown(&real), "pos.db");
        assert_eq!(shown(&side_file(&real, ".backup-20261201-120000")), "pos.db.backup-20261201-120000");
        assert_eq!(shown(Path::new("elsewhere.db")), "elsewhere.db");
        // A trailing separator is not part of the name the files beside it are named after.
        let real = std::env::temp_dir().join("cutover-shown-test").join("shop.db");
        remember_typed(&real, Path::new("../shop.db/"));
        assert_eq!(shown(&side_file(&real, "-wal")), "../shop.db-wal");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_to_the_real_file_even_when_it_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir(root.join("data")).unwrap();
        fs::create_dir(root.join("app")).unwrap();
        fs::write(root.join("data/pos.db"), b"x").unwrap();
        std::os::unix::fs::symlink("../data/pos.db", root.join("app/pos.db")).unwrap();
        std::os::unix::fs::symlink(root.join("app"), root.join("shortcut")).unwrap();
        assert_eq!(resolve(&root.join("shortcut/pos.db")).unwrap(), root.join("data/pos.db"));
        fs::remove_file(root.join("data/pos.db")).unwrap();
        assert_eq!(resolve(&root.join("app/pos.db")).unwrap(), root.join("data/pos.db"), "a dangling link too");
        assert!(matches!(resolve(&root.join("nowhere/pos.db")), Err(Error::NotFound { .. })));
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(resolve(&root.join("loop")).is_err());
    }
}
