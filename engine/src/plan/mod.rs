//! Plan: the exact SQL a migration runs, generated for the tenant column or loaded from a
//! script, identified by the SHA-256 of its LF-normalised text.

pub mod app;
pub mod fingerprint;
pub mod lexer;
pub mod rebuild;
pub mod script;
pub mod tenant;
pub mod undo;

use crate::shown::shown;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hashing::sha256_hex;
use crate::refusal::BadArgument;

/// One statement of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStatement {
    /// The statement's SQL, ending in `;`.
    pub sql: String,
    /// Its line in the script (or in the generated plan text), from 1.
    pub line: usize,
    /// Why it destroys data, when it does.
    pub destructive: Option<String>,
    /// The value its first row's first column must have (`-- expect:`), as text.
    pub expect: Option<String>,
    /// The table a generated statement works on.
    pub table: Option<String>,
    /// A `PRAGMA foreign_key_check` of the script's own: any violation it returns fails the
    /// statement, with the violations listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub foreign_key_check: bool,
    /// The application's migration file it comes from (`--migrations`); `line` is then its
    /// line in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// It writes the row that records the plan in the application's migration ledger.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ledger_row: bool,
}

impl PlannedStatement {
    /// Whether it changes the schema (CREATE, ALTER or DROP), judged by its first word.
    pub fn changes_schema(&self) -> bool {
        let body = self
            .sql
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join(" ");
        let first = body.split(|c: char| !c.is_ascii_alphabetic()).find(|w| !w.is_empty()).unwrap_or("");
        ["CREATE", "ALTER", "DROP"].iter().any(|k| first.eq_ignore_ascii_case(k))
    }
}

/// What a tenant plan adds to one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTable {
    /// The table.
    pub table: String,
    /// The column is added (false: it exists and only the index is added).
    pub add_column: bool,
    /// The index created on the column, if any.
    pub index: Option<String>,
    /// The column's declared type on this table.
    pub column_type: String,
}

/// The settings of a generated tenant plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantSpec {
    /// The column's name.
    pub column: String,
    /// The tenant value every existing row gets.
    pub tenant: String,
    /// The declared type on ordinary tables (STRICT tables get TEXT).
    pub column_type: String,
    /// Whether an index is created on the column.
    pub index: bool,
    /// Table by table.
    pub tables: Vec<PlannedTable>,
    /// Tables left as they are because the tenant column they already have is not right
    /// (it allows NULL, has no default or another one): each with why, for a person to review.
    #[serde(default)]
    pub review: Vec<(String, String)>,
}

/// Where a plan came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanSource {
    /// Generated for the tenant column.
    Tenant(TenantSpec),
    /// Loaded from a script file.
    Script {
        /// The script's path.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The inverse of a generated tenant plan (undo in place).
    Undo(undo::UndoSpec),
    /// The isolation fix: unique keys rebuilt to lead with the tenant column.
    Rebuild(rebuild::RebuildSpec),
    /// The application's own pending migrations, from its migrations folder.
    Migrations(app::MigrationsSpec),
}

/// The exact SQL a migration runs, shown before anything runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Generated or loaded.
    pub source: PlanSource,
    /// The statements, in order, run in one transaction.
    pub statements: Vec<PlannedStatement>,
    /// Warnings and notes for the technician.
    pub notices: Vec<String>,
    /// The LF-normalised text the hash is taken over.
    pub text: String,
    /// SHA-256 of `text`: the plan's identity from rehearsal to report.
    pub sha256: String,
    /// The rows the plan writes to the application's migration ledger, as its runner would
    /// (`--migrations`, `--record-as`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<app::Records>,
}

impl Plan {
    /// Builds a plan from its statements and text, computing its hash.
    pub fn new(source: PlanSource, statements: Vec<PlannedStatement>, notices: Vec<String>, text: String) -> Plan {
        let text = normalise(&text);
        let sha256 = sha256_hex(text.as_bytes());
        Plan { source, statements, notices, text, sha256, records: None }
    }

    /// Loads a script file as a plan.
    pub fn from_script(path: &Path) -> Result<Plan> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::InvalidArgument(BadArgument::ScriptMissing { path: path.to_path_buf() }));
            }
            Err(e) => return Err(Error::io(format!("reading the script {}", shown(path)), e)),
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::InvalidArgument(BadArgument::ScriptNotUtf8 { path: path.to_path_buf() }))?;
        let text = normalise(&text);
        let loaded = script::load(&text)?;
        Ok(Plan::new(PlanSource::Script { path: path.to_path_buf() }, loaded.statements, loaded.notices, text))
    }

    /// The tenant settings, for a generated plan.
    pub fn tenant(&self) -> Option<&TenantSpec> {
        match &self.source {
            PlanSource::Tenant(spec) => Some(spec),
            PlanSource::Script { .. } | PlanSource::Undo(_) | PlanSource::Rebuild(_) | PlanSource::Migrations(_) => None,
        }
    }

    /// What an isolation rebuild changes, for one.
    pub fn rebuild(&self) -> Option<&rebuild::RebuildSpec> {
        match &self.source {
            PlanSource::Rebuild(spec) => Some(spec),
            PlanSource::Tenant(_) | PlanSource::Script { .. } | PlanSource::Undo(_) | PlanSource::Migrations(_) => None,
        }
    }

    /// What an undo removes and must give back, for the inverse of a tenant plan.
    pub fn undo(&self) -> Option<&undo::UndoSpec> {
        match &self.source {
            PlanSource::Undo(spec) => Some(spec),
            PlanSource::Tenant(_) | PlanSource::Script { .. } | PlanSource::Rebuild(_) | PlanSource::Migrations(_) => None,
        }
    }

    /// The (table, column) pairs the plan drops: its "before" state is digested without them.
    pub fn dropped_columns(&self) -> Vec<(String, String)> {
        self.undo().map(undo::UndoSpec::dropped).unwrap_or_default()
    }

    /// Whether every row and value is meant to survive it, so any difference in rows or
    /// content is a failure (a script's are warnings to read).
    pub fn keeps_every_value(&self) -> bool {
        !matches!(self.source, PlanSource::Script { .. } | PlanSource::Migrations(_))
    }

    /// Statements flagged as destroying data.
    pub fn destructive(&self) -> impl Iterator<Item = &PlannedStatement> {
        self.statements.iter().filter(|s| s.destructive.is_some())
    }

    /// The first 12 hex digits of the hash, for people.
    pub fn short_hash(&self) -> &str {
        &self.sha256[..12.min(self.sha256.len())]
    }
}

/// CRLF and lone CR become LF, so the same script hashes the same on every machine.
pub fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_do_not_change_the_hash() {
        let a = Plan::new(PlanSource::Script { path: "a".into() }, vec![], vec![], "SELECT 1;\nSELECT 2;\n".into());
        let b = Plan::new(PlanSource::Script { path: "a".into() }, vec![], vec![], "SELECT 1;\r\nSELECT 2;\r\n".into());
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.short_hash().len(), 12);
    }
}
