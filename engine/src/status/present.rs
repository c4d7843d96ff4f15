//! What the file holds now, read from the file: its SHA-256 as SQLite reads it (the WAL's
//! committed frames counted in, nothing folded), matched against every state the journal
//! recorded; where no state has those bytes, its schema against theirs. The journal is the
//! history the states come from, never the answer.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::journal::lineage::{BySchema, Executed, Kind, Lineage, Origin};
use crate::shown::shown;
use crate::paths;

/// What the hash in [`Present::sha256`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Covers {
    /// The main file, which alone is the database (its WAL holds no committed frame).
    File,
    /// The main file with its WAL's committed frames laid over it, as SQLite reads it.
    FileWithWal,
    /// The main file as it is on disk, beside a hot journal SQLite rolls back at the next open:
    /// not yet the database SQLite will read.
    FileBesideHotJournal,
    /// The main file as it is on disk while a program writes to it (its journal beside it).
    FileMidWrite,
}

/// How the file now stands against the recorded states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Byte for byte this recorded state.
    Exact(usize),
    /// Written to since a recorded state whose schema it still has (see [`BySchema`]).
    Moved(BySchema),
    /// Neither its bytes nor its schema are any recorded state's.
    Unrecorded,
    /// What it holds cannot be read without changing it: why.
    Unreadable(String),
}

/// The file now, against its lineage.
#[derive(Debug, Clone)]
pub struct Present {
    /// The SHA-256 of what [`Present::covers`] says.
    pub sha256: String,
    /// What the hash covers.
    pub covers: Covers,
    /// How it stands against the recorded states.
    pub found: Found,
}

impl Present {
    /// Reads `db` without changing a byte (no recovery, no checkpoint, no lock kept) and
    /// places it in `lineage`.
    pub fn read(db: &Path, lineage: &Lineage) -> Result<Present> {
        let hashing = |e| Error::io(format!("hashing {}", shown(db)), e);
        let journal = paths::side_file(db, "-journal");
        let frames = fs::metadata(paths::side_file(db, "-wal")).is_ok_and(|m| m.len() > 0);
        if !frames && fs::metadata(&journal).is_ok_and(|m| m.len() > 0) && super::write_in_progress(db) {
            let sha256 = crate::hashing::hash_file(db).map_err(hashing)?.sha256;
            let why = "a write is in progress (a program holds the database's lock, its journal beside it): what the file holds is told once that write ends".to_string();
            return Ok(Present { sha256, covers: Covers::FileMidWrite, found: Found::Unreadable(why) });
        }
        if super::hot_journal(db) {
            let sha256 = crate::hashing::hash_file(db).map_err(hashing)?.sha256;
            let why = "a write to the database was cut off (a hot journal): SQLite rolls it back when the file is next opened, and what it holds is not told before".to_string();
            return Ok(Present { sha256, covers: Covers::FileBesideHotJournal, found: Found::Unreadable(why) });
        }
        let frames = fs::metadata(paths::side_file(db, "-wal")).is_ok_and(|m| m.len() > 0);
        let image = super::image::read(db).map_err(|e| {
            let wal = paths::side_file(db, "-wal");
            Error::io(format!("reading {} and its WAL {}", shown(db), shown(&wal)), e)
        })?;
        let sha256 = image.sha256;
        let covers = if frames && sha256 != crate::hashing::hash_file(db).map_err(hashing)?.sha256 {
            Covers::FileWithWal
        } else {
            Covers::File
        };
        let found = match lineage.by_sha(&sha256) {
            Some(i) => Found::Exact(i),
            // The application's WAL changes the schema: reading it through its `-shm` would
            // leave a reader's mark there, and the main file alone is not it.
            None if image.schema_in_wal => Found::Unreadable(
                "the shop's application changed the schema in a WAL it still has open: what the file holds is told once the application closes it".into(),
            ),
            // Otherwise the main file, opened immutable, has the schema SQLite reads.
            None => match crate::open::immutable(db).ok().flatten().and_then(|c| schema(&c)) {
                Some(schema) => lineage.by_schema(&schema).map_or(Found::Unrecorded, Found::Moved),
                None => Found::Unreadable("its schema cannot be read".into()),
            },
        };
        Ok(Present { sha256, covers, found })
    }

    /// The present of a file known to hash to `sha256` (it was just restored, or proven).
    pub fn at(sha256: &str, lineage: &Lineage) -> Present {
        let found = lineage.by_sha(sha256).map_or(Found::Unrecorded, Found::Exact);
        Present { sha256: sha256.to_string(), covers: Covers::File, found }
    }

    /// The executes whose change the file holds, oldest first: by its bytes, or as far as its
    /// schema tells (see [`BySchema::common`]).
    pub fn carries<'a>(&'a self, lineage: &'a Lineage) -> &'a [usize] {
        match &self.found {
            Found::Exact(i) => &lineage.states[*i].carries,
            Found::Moved(like) => &like.common,
            Found::Unrecorded | Found::Unreadable(_) => &[],
        }
    }

    /// The executes that may be in the file or not: neither its bytes nor its schema tell.
    pub fn unsure<'a>(&'a self, lineage: &'a Lineage) -> &'a [usize] {
        match &self.found {
            Found::Exact(i) => &lineage.states[*i].unsure,
            Found::Moved(like) => &like.unsure,
            Found::Unrecorded | Found::Unreadable(_) => &[],
        }
    }

    /// The newest execute whose change the file holds (by its bytes, or presumed by its schema).
    pub fn in_force<'a>(&self, lineage: &'a Lineage) -> Option<&'a Executed> {
        self.carries(lineage).last().map(|&x| &lineage.executes[x])
    }

    /// Whether the file is byte for byte what execute `x` left.
    pub fn is_result_of(&self, lineage: &Lineage, x: usize) -> bool {
        matches!(self.found, Found::Exact(i) if lineage.executes[x].result == Some(i) && self.is_state_bytes(lineage, i))
    }

    /// Whether the file is that state's very bytes (not other bytes of the same rows).
    fn is_state_bytes(&self, lineage: &Lineage, i: usize) -> bool {
        lineage.states[i].sha256.as_deref() == Some(self.sha256.as_str())
    }

    /// What the file holds of the executes with these statements (a script's identity), or,
    /// when none of them is in it, of executes with statements alike (see
    /// [`crate::plan::fingerprint`]).
    pub fn applied(&self, lineage: &Lineage, fingerprint: &str, likeness: &str) -> Applied {
        let with = |pick: &dyn Fn(&Executed) -> bool| -> Vec<usize> {
            (0..lineage.executes.len())
                .filter(|&x| {
                    let e = &lineage.executes[x];
                    e.kind != Kind::Undo && e.may_have_committed() && pick(e)
                })
                .collect()
        };
        let same = with(&|e| e.fingerprint.as_deref() == Some(fingerprint));
        let applied = self.applied_of(lineage, &same);
        if !matches!(applied, Applied::Never | Applied::NotInFile) {
            return applied;
        }
        let alike = with(&|e| e.fingerprint.as_deref() != Some(fingerprint) && e.likeness.as_deref() == Some(likeness));
        match self.applied_of(lineage, &alike) {
            Applied::Never | Applied::NotInFile => applied,
            Applied::IsResult(x) | Applied::Beneath { execute: x, .. } | Applied::CannotTell(x) | Applied::Alike(x) => {
                Applied::Alike(x)
            }
        }
    }

    fn applied_of(&self, lineage: &Lineage, same: &[usize]) -> Applied {
        let Some(&newest) = same.last() else { return Applied::Never };
        match self.found {
            Found::Exact(i) => {
                let state = &lineage.states[i];
                let carried = state.carries.iter().rev().find(|c| same.contains(c)).copied();
                if state.unsure.iter().any(|c| same.contains(c)) {
                    return Applied::CannotTell(newest);
                }
                match carried {
                    Some(x) if state.origin == Origin::Result(x) && self.is_state_bytes(lineage, i) => Applied::IsResult(x),
                    Some(execute) => Applied::Beneath { execute, presumed: !state.certain },
                    None if state.certain => Applied::NotInFile,
                    None => Applied::CannotTell(newest),
                }
            }
            Found::Moved(ref like) => match like.common.iter().rev().find(|c| same.contains(c)) {
                Some(&execute) => Applied::Beneath { execute, presumed: true },
                None => Applied::CannotTell(newest),
            },
            Found::Unrecorded | Found::Unreadable(_) => Applied::CannotTell(newest),
        }
    }
}

fn schema(conn: &rusqlite::Connection) -> Option<String> {
    crate::verify::snapshot::schema(conn).ok().map(|o| crate::verify::snapshot::schema_digest(&o))
}

/// Whether the statements of a script are in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// No execute ever ran them here.
    Never,
    /// They ran, and the file's bytes prove their change is not in it.
    NotInFile,
    /// The file is byte for byte what that execute left.
    IsResult(usize),
    /// That execute's change is in the file, beneath later changes: proven by the bytes of
    /// every state between, or `presumed` through writes cutover did not see.
    Beneath {
        /// The execute.
        execute: usize,
        /// Some step to the file was not matched by hash.
        presumed: bool,
    },
    /// They ran (that execute is the newest), and the file cannot tell whether their change
    /// is in it.
    CannotTell(usize),
    /// Statements alike but not the same ran in that execute, whose change is (or may be) in
    /// the file: whether these are the same change cannot be told.
    Alike(usize),
}
