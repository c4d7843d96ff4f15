//! Names of the files that belong to a database: side files, backups, the records folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The suffixes SQLite uses for a database's side files.
pub const SIDE_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

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

/// The file name of `path` as text, for building names beside it.
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "database".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_files_sit_beside_the_database() {
        assert_eq!(side_file(Path::new("/x/pos.db"), "-wal"), PathBuf::from("/x/pos.db-wal"));
        assert_eq!(with_side_files(Path::new("a b.db")).len(), 4);
        assert_eq!(parent_dir(Path::new("pos.db")), PathBuf::from("."));
    }
}
