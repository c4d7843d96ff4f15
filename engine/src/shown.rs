//! Paths as the technician typed them: messages, screens and reports name the database (and the
//! files beside it) the way it was typed, while the engine works on the real file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_show_the_path_as_typed() {
        let real = std::env::temp_dir().join("cutover-shown-test").join("pos.db");
        remember_typed(&real, Path::new("pos.db"));
        assert_eq!(shown(&real), "pos.db");
        assert_eq!(shown(&real.with_file_name("pos.db.backup-20261201-120000")), "pos.db.backup-20261201-120000");
        assert_eq!(shown(Path::new("elsewhere.db")), "elsewhere.db");
        // A trailing separator is not part of the name the files beside it are named after.
        let real = std::env::temp_dir().join("cutover-shown-test").join("shop.db");
        remember_typed(&real, Path::new("../shop.db/"));
        assert_eq!(shown(&real.with_file_name("shop.db-wal")), "../shop.db-wal");
    }
}
