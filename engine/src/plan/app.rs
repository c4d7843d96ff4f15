//! What a plan knows of the application's ledger: the migrations a `--migrations` plan runs,
//! and the rows a plan writes to (or an undo takes out of) the ledger.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ledger::LedgerKind;

/// What a `--migrations` plan runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationsSpec {
    /// The application's migrations folder.
    #[serde(with = "crate::ospath")]
    pub dir: PathBuf,
    /// Its ledger's kind (`ledger`: the plan's own `kind` says where it came from).
    #[serde(rename = "ledger")]
    pub kind: LedgerKind,
    /// The ledger's table.
    pub table: String,
    /// The migrations that run, as the folder names them, in order.
    pub migrations: Vec<String>,
    /// How many of the folder's migrations the ledger already recorded.
    pub recorded: usize,
}

/// The rows a plan writes to the application's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    /// The ledger's kind.
    pub kind: LedgerKind,
    /// Its table.
    pub table: String,
    /// The column the ledger keys rows by.
    pub key_column: String,
    /// The migrations recorded, as the ledger keys them.
    pub keys: Vec<String>,
    /// The plan removes these rows instead (the undo of a plan recorded with `--record-as`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removes: bool,
}

impl Records {
    /// The same rows, taken out (an undo's).
    pub fn removed(&self) -> Records {
        Records { removes: true, ..self.clone() }
    }

    /// How many rows the ledger table gains (negative: loses).
    pub fn delta(&self) -> i128 {
        let n = self.keys.len() as i128;
        if self.removes { -n } else { n }
    }
}

