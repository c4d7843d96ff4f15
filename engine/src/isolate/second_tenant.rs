//! What a second tenant met when it was tried on a copy (see `probe`): the inserts SQLite
//! refused, grouped by what refused them, and the triggers and views that mixed the shops.

use serde::{Deserialize, Serialize};

use crate::sql;

/// An insert of the second shop's that SQLite refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The table.
    pub table: String,
    /// What SQLite said: `UNIQUE constraint failed: products.sku`.
    pub by: String,
    /// How many of the tried rows it refused.
    pub rows: u64,
}

impl Blocked {
    /// The columns SQLite named (`UNIQUE constraint failed: t.a, t.b` → `a`, `b`), or the index
    /// (`… failed: index 'i'` → `index 'i'`); empty for other refusals.
    pub fn columns(&self) -> Vec<String> {
        let Some((_, list)) = self.by.split_once("constraint failed: ") else { return Vec::new() };
        if list.starts_with("index '") {
            return vec![list.to_string()];
        }
        list.split(", ").map(|c| c.rsplit_once('.').map_or(c, |(_, c)| c).to_string()).collect()
    }

    /// Whether SQLite refused the insert for the key over `columns` (or the index `index`).
    pub fn is_key(&self, columns: &[String], index: Option<&str>) -> bool {
        let named = self.columns();
        match index {
            Some(i) if named.first().is_some_and(|n| n.starts_with("index '")) => named[0] == format!("index '{i}'"),
            _ => named.len() == columns.len() && named.iter().zip(columns).all(|(a, b)| a.eq_ignore_ascii_case(b)),
        }
    }
}

/// A trigger or view that mixed the two shops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leak {
    /// `trigger "t"` or `view "v"`.
    pub object: String,
    /// What it did.
    pub detail: String,
}

/// What the second tenant met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondTenant {
    /// The probe tenant value.
    pub probe: String,
    /// Tenant tables tried.
    pub tables: usize,
    /// Rows tried.
    pub tried: u64,
    /// Rows copied.
    pub copied: u64,
    /// Inserts refused, grouped by what refused them.
    pub blocked: Vec<Blocked>,
    /// Rows tried linked to the first shop's parent row, because that parent's own copy was
    /// refused: each table's keys are tried even when a table it points at blocks.
    pub borrowed: u64,
    /// Triggers and views that mixed the shops.
    pub leaks: Vec<Leak>,
    /// Rows tried, table by table (a table with no rows has nothing to try).
    #[serde(default)]
    pub tried_in: Vec<(String, u64)>,
}

impl SecondTenant {
    /// Whether the second shop fitted everywhere and nothing mixed it with the first.
    pub fn fits(&self) -> bool {
        self.blocked.is_empty() && self.leaks.is_empty()
    }

    /// A few words for people: what fitted and what refused it.
    pub fn short(&self) -> String {
        let keys = self.blocked.len();
        let refused: u64 = self.blocked.iter().map(|b| b.rows).sum();
        if self.tried == 0 {
            return "no rows to try".into();
        }
        let mut s = format!("{}/{} fit", self.copied, self.tried);
        if keys > 0 {
            s.push_str(&format!(" · {refused} refused by {keys} constraint{}", if keys == 1 { "" } else { "s" }));
        }
        if !self.leaks.is_empty() {
            s.push_str(&format!(" · {} mixed the shops", self.leaks.len()));
        }
        s
    }

    /// What refused the second shop in `table` by the key over `columns` (or `index`).
    pub fn refusal_of(&self, table: &str, columns: &[String], index: Option<&str>) -> Option<&Blocked> {
        self.blocked.iter().find(|b| b.table == table && b.is_key(columns, index))
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        if self.tried == 0 {
            return format!(
                "a second tenant had no rows to copy in the {} tenant tables: it proves nothing here",
                self.tables
            );
        }
        let mut s = format!(
            "a second tenant ({}) tried {} rows in {} tables: {} copied",
            sql::literal(&self.probe),
            self.tried,
            self.tables,
            self.copied
        );
        if !self.blocked.is_empty() {
            let by: Vec<String> = self.blocked.iter().map(|b| format!("{} ({} row{})", b.by, b.rows, plural(b.rows))).collect();
            s.push_str(&format!("; blocked by {}", by.join(", ")));
        }
        if self.borrowed > 0 {
            s.push_str(&format!(
                "; {} linked to the first shop's parent row because the parent's copy was refused",
                self.borrowed
            ));
        }
        if !self.leaks.is_empty() {
            let l: Vec<String> = self.leaks.iter().map(|l| l.object.clone()).collect();
            s.push_str(&format!("; mixed with the first shop's rows by {}", l.join(", ")));
        }
        if self.fits() {
            s.push_str(", nothing blocked it and nothing mixed it with the other shops' rows");
        }
        s
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
