//! How an error reads for a machine: the reason's name and its facts, merged into the JSON the
//! command line prints on an error.

use super::Error;

impl Error {
    /// Facts for a machine reading the error as JSON: always `refusal`, the reason's name
    /// (`in_use`, `disk_space`, `backup_changed`, …), with what it is about: the processes
    /// holding the file, the disk figures, the changes a rollback would discard, that the
    /// change is committed, the processes that could not be looked into.
    pub fn details(&self) -> Option<serde_json::Value> {
        use serde_json::json;
        let mut v = match self {
            Error::NotReady(r) => serde_json::to_value(r).ok()?,
            Error::InvalidArgument(b) => serde_json::to_value(b).ok()?,
            Error::Ledger(p) => serde_json::to_value(p).ok()?,
            Error::WouldDiscard { changes: Some(c), .. } => json!({ "changes": c.tables, "schema_changes": c.schema }),
            Error::AfterCommit { verification: Some(v), .. } => {
                json!({ "committed": true, "verified": v.ok, "checks": v.checks })
            }
            Error::AfterCommit { .. } => json!({ "committed": true }),
            Error::AfterRestore { .. } => json!({ "restored": true }),
            Error::Unseen { unseen, blind, .. } => json!({ "unseen": unseen, "blind": blind }),
            Error::InUse { holders, .. } => json!({ "holders": holders }),
            Error::OpenedDuringRollback { holders, second_name, .. } => json!({
                "holders": holders,
                "second_name_left": second_name.as_deref().map(crate::ospath::json)
            }),
            Error::Locked { pid, .. } => json!({ "pid": pid }),
            Error::DiskSpace { needed, available, .. } => json!({ "needed": needed, "available": available }),
            Error::CannotRestore { why, .. } => json!({ "why": why }),
            _ => json!({}),
        };
        let o = v.as_object_mut()?;
        o.entry("refusal").or_insert_with(|| self.name().into());
        if self.committed() {
            o.insert("committed".into(), true.into());
        }
        Some(v)
    }

    /// The variant's name, as JSON gives it: `in_use`, `disk_space`, …
    fn name(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::IsDirectory { .. } => "is_directory",
            Error::NotRegularFile { .. } => "not_regular_file",
            Error::EmptyFile { .. } => "empty_file",
            Error::NotSqlite { .. } => "not_sqlite",
            Error::Truncated { .. } => "truncated",
            Error::Corrupt { .. } => "corrupt",
            Error::ReadOnly { .. } => "read_only",
            Error::InUse { .. } => "in_use",
            Error::OpenedDuringRollback { .. } => "opened_during_rollback",
            Error::Unseen { .. } => "unseen",
            Error::Locked { .. } => "locked",
            Error::DiskSpace { .. } => "disk_space",
            Error::BackupMismatch { .. } => "backup_mismatch",
            Error::CannotRestore { .. } => "cannot_restore",
            Error::WouldDiscard { .. } => "would_discard",
            Error::NothingToRollBack(_) => "nothing_to_roll_back",
            Error::NoUndo(_) => "no_undo",
            Error::AfterCommit { .. } => "after_commit",
            Error::AfterRestore { .. } => "after_restore",
            Error::UnknownTable { .. } => "unknown_table",
            Error::ScriptRefused { .. } => "script_refused",
            Error::StatementFailed { .. } => "statement_failed",
            Error::Cancelled(_) => "cancelled",
            Error::NotReady(_) => "not_ready",
            Error::VerificationFailed(_) => "verification_failed",
            Error::InvalidArgument(_) => "bad_argument",
            Error::Ledger(_) => "ledger",
            Error::Io { .. } => "io",
            Error::Sqlite { .. } => "sqlite",
        }
    }
}
