//! Names of the files that belong to a database: side files, backups, the records folder, and
//! the one place a path the technician typed is resolved to the real file.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
            return Ok(crate::platform::canonicalize(&current)
                .map(crate::platform::simplify)
                .unwrap_or(current));
        };
        let parent = match crate::platform::canonicalize(parent) {
            Ok(p) => crate::platform::simplify(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { path: typed.to_path_buf() });
            }
            Err(e) => return Err(Error::io(format!("resolving {}", typed.display()), e)),
        };
        let candidate = parent.join(crate::platform::name_as_opened(&current, &parent, name));
        match fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&candidate)
                    .map_err(|e| Error::io(format!("reading the link {}", candidate.display()), e))?;
                current = if target.is_absolute() { target } else { parent.join(target) };
            }
            _ => return Ok(candidate),
        }
    }
    Err(Error::InvalidArgument(crate::refusal::BadArgument::LinkLoop {
        typed: typed.display().to_string(),
        max: MAX_LINKS,
    }))
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

/// Where a recorded path is now. Paths are recorded in full; journals written before that
/// hold paths relative to the folder cutover ran in, which was the database's own folder or
/// its parent: those are looked for there.
pub fn locate(db: &Path, recorded: &Path) -> PathBuf {
    if recorded.is_absolute() {
        return recorded.to_path_buf();
    }
    let dir = parent_dir(db);
    let beside = recorded.file_name().map(|n| dir.join(n));
    [dir.join(recorded), dir.parent().map_or_else(|| dir.join(recorded), |p| p.join(recorded))]
        .into_iter()
        .chain(beside)
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join(recorded))
}

/// The hidden scratch files cutover makes beside a database, by what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scratch {
    /// A backup being copied (`.DB.backup-XXXXXX.partial`).
    Backup,
    /// A backup being copied into place by a rollback (`.DB.restore-XXXXXX.partial`).
    Restore,
    /// A rehearsal copy (`.DB.rehearsal-XXXXXX`, and SQLite's side files of it).
    Rehearsal,
    /// The execute's result rebuilt from the backup (`.DB.replay-XXXXXX`, and side files).
    Replay,
    /// A copy a second tenant is tried on (`.DB.probe-XXXXXX`), rolled back and deleted.
    Probe,
    /// A copy of the rehearsal's result the shop's own program is run on (`.DB.app-check-XXXXXX`).
    AppCheck,
}

/// How many random letters and digits a scratch file's name carries.
const SCRATCH_RANDOM: usize = 6;

impl Scratch {
    const ALL: [Scratch; 6] =
        [Scratch::Backup, Scratch::Restore, Scratch::Rehearsal, Scratch::Replay, Scratch::Probe, Scratch::AppCheck];

    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Scratch::Backup => (".backup-", ".partial"),
            Scratch::Restore => (".restore-", ".partial"),
            Scratch::Rehearsal => (".rehearsal-", ""),
            Scratch::Replay => (".replay-", ""),
            Scratch::Probe => (".probe-", ""),
            Scratch::AppCheck => (".app-check-", ""),
        }
    }

    /// Creates a new scratch file of this kind for `db` in `dir`, deleted when dropped.
    pub fn create(self, db: &Path, dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
        let (middle, suffix) = self.parts();
        tempfile::Builder::new()
            .prefix(&hidden_name(db, middle))
            .suffix(suffix)
            .rand_bytes(SCRATCH_RANDOM)
            .tempfile_in(dir)
    }
}

/// Whether `name` is exactly a scratch file cutover makes for `db` (its hidden prefix, six
/// random letters or digits, its suffix), or SQLite's side file of a rehearsal or replay copy.
/// A file that only starts the same way is someone's own, and never taken for one.
pub fn is_scratch(db: &Path, name: &std::ffi::OsStr) -> bool {
    let Some(name) = name.to_str() else { return false };
    Scratch::ALL.iter().any(|kind| {
        let (middle, suffix) = kind.parts();
        let prefix = hidden_name(db, middle);
        let Some(rest) = prefix.to_str().and_then(|p| name.strip_prefix(p)) else { return false };
        let rest = if suffix.is_empty() {
            SIDE_SUFFIXES.iter().find_map(|s| rest.strip_suffix(s)).unwrap_or(rest)
        } else {
            rest
        };
        rest.strip_suffix(suffix)
            .is_some_and(|random| random.len() == SCRATCH_RANDOM && random.bytes().all(|b| b.is_ascii_alphanumeric()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_scratch_names_are_scratch() {
        let db = Path::new("/x/pos.db");
        for name in [".pos.db.backup-aB3dE9.partial", ".pos.db.rehearsal-Zz0099", ".pos.db.rehearsal-Zz0099-wal", ".pos.db.replay-abcdef-journal", ".pos.db.restore-123456.partial"] {
            assert!(is_scratch(db, std::ffi::OsStr::new(name)), "{name}");
        }
        for name in [
            ".pos.db.backup-before-upgrade-KEEP",
            ".pos.db.backup-aB3dE9",
            ".pos.db.restore-notes.txt",
            ".pos.db.backup-old.db.rehearsal-123456",
            ".pos.db.rehearsal-abc",
            ".pos.db.backup-aB3dE9.partial-wal",
            ".other.db.rehearsal-Zz0099",
            "pos.db.backup-20261201-101010",
        ] {
            assert!(!is_scratch(db, std::ffi::OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn side_files_sit_beside_the_database() {
        assert_eq!(side_file(Path::new("/x/pos.db"), "-wal"), PathBuf::from("/x/pos.db-wal"));
        assert_eq!(with_side_files(Path::new("a b.db")).len(), 4);
        assert_eq!(parent_dir(Path::new("pos.db")), PathBuf::from("."));
        assert_eq!(hidden_name(Path::new("/x/pos.db"), ".backup-"), OsString::from(".pos.db.backup-"));
    }
}
