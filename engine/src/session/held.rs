//! A hold kept between the separate steps of one run, for a face that takes them one at a time
//! (the wizard: Backup, Audit, Plan, Dry run, Execute). The backup fills the slot; the audit and
//! the tenant plan read production through the holding connection (opening the file again by
//! its name would, on Unix, drop the hold's locks when it closed); the rehearsal reads only the
//! backup; the execute takes the hold and needs no second hash of an untouched file. Any other
//! step lets go first, as does the face when the technician leaves or waits too long.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use rusqlite::Connection;

use super::Session;
use crate::error::{Error, Result};
use crate::hold::Hold;

/// Where a run keeps its hold between steps; cloned handles share one hold.
#[derive(Clone, Default)]
pub struct HoldSlot(Arc<Mutex<Option<Hold>>>);

impl std::fmt::Debug for HoldSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HoldSlot(held: {})", self.is_held())
    }
}

impl HoldSlot {
    /// An empty slot.
    pub fn new() -> HoldSlot {
        HoldSlot::default()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Hold>> {
        // A step that panicked while reading through the hold left it as it was.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the database is held now (a step reading through the hold counts as held).
    pub fn is_held(&self) -> bool {
        match self.0.try_lock() {
            Ok(slot) => slot.is_some(),
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Poisoned(p)) => p.into_inner().is_some(),
        }
    }

    /// Lets go of the database, if it is held; whether it was.
    pub fn release(&self) -> bool {
        let Some(hold) = self.lock().take() else { return false };
        if let Err(e) = hold.release() {
            tracing::warn!(error = %e, "releasing the database");
        }
        true
    }

    /// Lets go of a hold that no longer stands for the file at the path (the file was replaced,
    /// or written past SQLite's locks): it would keep the shop out of nothing. Whether it did.
    /// A step reading through the hold right now is left to it.
    pub fn let_go_if_stale(&self) -> bool {
        let stale = match self.0.try_lock() {
            Ok(slot) => slot.as_ref().is_some_and(|h| !h.untouched()),
            Err(_) => false,
        };
        stale && self.release()
    }

    fn put(&self, hold: Hold) {
        // An older hold, if any, lets go here.
        drop(self.lock().replace(hold));
    }

    fn take(&self) -> Option<Hold> {
        self.lock().take()
    }

    /// The journal mode of the held database (WAL or not), without opening it again.
    fn wal(&self) -> Option<bool> {
        self.lock().as_ref().map(|h| h.journal_mode().eq_ignore_ascii_case("wal"))
    }

    /// Runs `read` on the holding connection, made read-only while it runs; `None` when the
    /// database is not held.
    fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Option<Result<T>> {
        let mut slot = self.lock();
        if slot.as_ref().is_some_and(|h| !h.untouched()) {
            // The file at the path is no longer the one held: read it by its name instead.
            if let Some(stale) = slot.take() {
                let _ = stale.release();
            }
        }
        let hold = slot.as_ref()?;
        Some(hold.conn().and_then(|conn| {
            let flag = |on: bool| {
                conn.pragma_update(None, "query_only", on).map_err(|e| Error::sqlite("making the read read-only", e))
            };
            flag(true)?;
            let out = read(conn);
            flag(false)?;
            out
        }))
    }
}

impl Session {
    /// This session, keeping the run's hold in `slot` between its steps: the backup fills it,
    /// the audit and plan read through it, the rehearsal leaves it be, the execute takes it.
    pub fn with_hold(mut self, slot: HoldSlot) -> Session {
        self.slot = Some(slot);
        self
    }

    /// The hold's journal mode, when this session keeps one (see [`Session::with_hold`]).
    pub(super) fn slot_wal(&self) -> Option<bool> {
        self.slot.as_ref().and_then(HoldSlot::wal)
    }

    /// Reads through the held connection, when this session holds the database.
    pub(super) fn read_held<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Option<Result<T>> {
        self.slot.as_ref().and_then(|s| s.read(read))
    }

    /// Lets go of a hold this session keeps (a step that opens the file by its name).
    pub(super) fn let_go(&self) {
        if let Some(slot) = &self.slot {
            slot.release();
        }
    }

    /// Keeps `hold` for the steps that follow.
    pub(super) fn keep(&self, hold: Hold) -> Result<()> {
        match &self.slot {
            Some(slot) => {
                slot.put(hold);
                Ok(())
            }
            None => hold.release(),
        }
    }

    /// The hold, for the execute (which consumes it); `None` when it was let go.
    pub(super) fn take_hold(&self) -> Option<Hold> {
        self.slot.as_ref().and_then(HoldSlot::take)
    }
}
