//! Reading a database's state independently of cutover, to judge what a fault left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// The file a path names now (its inode), to see a rename land.
#[cfg(unix)]
pub fn identity(path: &Path) -> Option<u64> {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).ok()?).into()
}

/// SHA-256 of a file as hex.
pub fn sha(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens the database the way the shop's application would (recovering a hot journal or a
/// WAL) and returns `PRAGMA integrity_check`.
pub fn integrity(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    let rows: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.join("; ")
}

/// The schema as (type, name) → SQL.
pub fn schema(db: &Path) -> BTreeMap<(String, String), String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_schema").unwrap();
    stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

/// Every value of the given columns of every table, hashed per table in a stable order.
pub fn content(db: &Path, columns: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, String> {
    let conn = Connection::open(db).unwrap();
    columns
        .iter()
        .map(|(table, cols)| {
            let select = cols
                .iter()
                .map(|c| format!("quote(\"{}\")", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let q = format!("SELECT {select} FROM \"{}\" ORDER BY 1", table.replace('"', "\"\""));
            let mut sha = Sha256::new();
            let mut stmt = conn.prepare(&q).unwrap();
            for row in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
                sha.update(row.unwrap().as_bytes());
                sha.update(b"\n");
            }
            (table.clone(), sha.finalize().iter().map(|b| format!("{b:02x}")).collect())
        })
        .collect()
}

/// The names of the ordinary tables (not virtual, shadow or internal) `also` allows.
fn table_names(conn: &Connection, also: &str) -> Vec<String> {
    let q = format!(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND {also}"
    );
    conn.prepare(&q).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Every table's row ids (the tables that have them), to prove a rebuild kept them.
pub fn rowids(db: &Path) -> BTreeMap<String, Vec<i64>> {
    let conn = Connection::open(db).unwrap();
    table_names(&conn, "wr = 0")
        .into_iter()
        .map(|t| {
            let q = format!("SELECT _rowid_ FROM \"{}\" ORDER BY 1", t.replace('"', "\"\""));
            let ids = conn.prepare(&q).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
            (t, ids)
        })
        .collect()
}

/// The ordinary tables (not virtual, shadow or internal) and their columns.
pub fn plain_tables(db: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = Connection::open(db).unwrap();
    table_names(&conn, "1")
        .into_iter()
        .map(|t| {
            let cols: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1)")
                .unwrap()
                .query_map([&t], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (t, cols)
        })
        .collect()
}

/// The backups the journal recorded: (path, sha256).
pub fn recorded_backups(db: &Path) -> Vec<(PathBuf, String)> {
    let journal = PathBuf::from(format!("{}.cutover/journal.jsonl", db.display()));
    let Ok(text) = std::fs::read_to_string(journal) else { return Vec::new() };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "backup")
        .map(|v| (PathBuf::from(v["path"].as_str().unwrap()), v["sha256"].as_str().unwrap().to_string()))
        .collect()
}

/// Files beside the database whose names say they are backups (hidden partials excluded).
pub fn visible_backups(db: &Path) -> Vec<PathBuf> {
    let dir = db.parent().unwrap();
    let name = db.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}.backup-")))
        .collect()
}

/// A small seeded random source (SplitMix64), so a failing trial can be replayed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// The seed for this run: `CUTOVER_FAULT_SEED`, or a fixed default.
pub fn seed() -> u64 {
    std::env::var("CUTOVER_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261124)
}

/// Prints a line past the test harness's capture, so CI logs show the counts.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
