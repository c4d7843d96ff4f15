//! Starting a session from the path the technician typed: the real file behind it, resolved
//! once, before any phase looks at it, and what the technician should be told about it.

use std::path::Path;

use super::Session;
use crate::error::Result;
use crate::{journal, paths};

impl Session {
    /// A session on the real database file behind `typed`, with the notes to show first: that
    /// a link was followed, or that the journal's last line was torn by a crash and set aside.
    /// Messages name the file as typed, unless a link was followed: then the real file is the
    /// news.
    pub fn open(typed: &Path) -> Result<(Session, Vec<String>)> {
        let real = paths::resolve(typed)?;
        let mut notes = Vec::new();
        let link = std::fs::symlink_metadata(typed).is_ok_and(|m| m.file_type().is_symlink());
        if link {
            notes.push(format!("note: {} is a link to {}: working on that file", typed.display(), real.display()));
        } else {
            crate::shown::remember_typed(&real, typed);
        }
        if let Some(notice) = journal::torn_tail(&real) {
            notes.push(notice);
        }
        Ok((Session::new(real), notes))
    }
}
