//! What a comparison found, table by table, in the words rollback and verify show: plain data,
//! so an error can carry it.

use serde::{Deserialize, Serialize};

/// How one table differs from the known state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChange {
    /// The table.
    pub table: String,
    /// Rows that are new.
    pub added: u64,
    /// Rows that are gone.
    pub removed: u64,
    /// Rows whose values differ.
    pub changed: u64,
    /// Anything else: the table is new or gone, or its columns differ.
    pub note: Option<String>,
}

impl TableChange {
    /// `items: 1 row added, 2 rows changed`.
    pub fn describe(&self) -> String {
        let rows = |n: u64, what: &str| (n > 0).then(|| format!("{n} row{} {what}", if n == 1 { "" } else { "s" }));
        let mut parts: Vec<String> =
            [rows(self.added, "added"), rows(self.removed, "removed"), rows(self.changed, "changed")]
                .into_iter()
                .flatten()
                .collect();
        if let Some(note) = &self.note {
            parts.push(note.clone());
        }
        format!("{}: {}", self.table, parts.join(", "))
    }
}

/// Everything that differs from the known state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Tables whose rows differ.
    pub tables: Vec<TableChange>,
    /// Schema objects and header values that differ, in words.
    pub schema: Vec<String>,
}

impl Changes {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.schema.is_empty()
    }

    /// One line: `items: 1 row added; customers: 2 rows removed; index idx_x removed`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self.tables.iter().map(TableChange::describe).collect();
        parts.extend(self.schema.iter().cloned());
        parts.join("; ")
    }

    /// Each change on a line of its own, at most `max` lines (the last says how many more).
    pub fn lines(&self, max: usize) -> Vec<String> {
        let all: Vec<String> =
            self.tables.iter().map(TableChange::describe).chain(self.schema.iter().cloned()).collect();
        if all.len() <= max {
            return all;
        }
        let shown = max.saturating_sub(1);
        let mut out = all[..shown].to_vec();
        out.push(format!(
            "… and {} more (all are listed in the log and by the command line's --json)",
            all.len() - shown
        ));
        out
    }

    /// What a restore throws away, counted: `3 rows in 2 tables`.
    pub fn counted(&self) -> String {
        let rows: u64 = self.tables.iter().map(|t| t.added + t.removed + t.changed).sum();
        let tables = self.tables.len();
        let mut s = format!(
            "{rows} row{} in {tables} table{}",
            if rows == 1 { "" } else { "s" },
            if tables == 1 { "" } else { "s" }
        );
        if !self.schema.is_empty() {
            s.push_str(&format!(" and {} schema change{}", self.schema.len(), if self.schema.len() == 1 { "" } else { "s" }));
        }
        s
    }

    /// Whether `table` is among the changed tables.
    pub fn touches(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t.table == table)
    }
}
