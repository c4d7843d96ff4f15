//! Shared fixtures for the integration tests: hostile schemas on real files, another process
//! holding a database open, and byte snapshots of a folder.

#![allow(dead_code)]

pub mod shop;
pub mod state;
pub mod wizard;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rusqlite::Connection;

/// A schema that tries every way a name or a table can be awkward.
pub const HOSTILE_SCHEMA: &str = r#"
CREATE TABLE "we""ird" (id INTEGER PRIMARY KEY, "va""l" TEXT);
CREATE TABLE "order details" (id INTEGER PRIMARY KEY, qty INT, sku TEXT UNIQUE);
CREATE TABLE "select" ("from" TEXT, "where" INT);
CREATE TABLE "café ☕" (id INTEGER PRIMARY KEY, note TEXT);
CREATE TABLE "semi;colon -- dash" (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
CREATE TABLE strict_t (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL) STRICT;
CREATE TABLE gen (a INT, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL, c INT GENERATED ALWAYS AS (a + 1) STORED);
CREATE VIRTUAL TABLE docs USING fts5(body);
CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, x TEXT);
CREATE TABLE has_col (id INTEGER PRIMARY KEY, tenant_id VARCHAR(255) NOT NULL DEFAULT 'acme');
CREATE INDEX idx_has_col_tenant ON has_col(tenant_id);
CREATE TABLE has_col_noidx (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme');
CREATE TABLE has_col_case (id INTEGER PRIMARY KEY, Tenant_ID TEXT);
CREATE TABLE empty_t (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES "we""ird"(id) ON DELETE CASCADE);
CREATE VIEW "v ""odd""" AS SELECT "va""l" FROM "we""ird";
CREATE TRIGGER trg_seq AFTER INSERT ON seq BEGIN INSERT INTO "we""ird"("va""l") VALUES (NEW.x); END;

INSERT INTO tenants VALUES ('acme', 'Acme Ltd');
INSERT INTO "order details" (qty, sku) VALUES (1, 'A-1'), (2, 'B-2');
INSERT INTO "select" VALUES ('x', 1), ('y', 2), ('z', 3);
INSERT INTO "café ☕" (note) VALUES ('crème brûlée'), ('naïve');
INSERT INTO "semi;colon -- dash" (v) VALUES ('a;b'), ('-- not a comment');
INSERT INTO kv VALUES ('k1', 'v1'), ('k2', 'v2');
INSERT INTO strict_t (amount) VALUES (10), (20);
INSERT INTO gen (a) VALUES (1), (2), (3), (4);
INSERT INTO docs (body) VALUES ('brake pads and rotors'), ('synthetic oil');
INSERT INTO seq (x) VALUES ('one'), ('two');
INSERT INTO has_col (id) VALUES (1), (2);
INSERT INTO has_col_noidx (id) VALUES (1);
INSERT INTO has_col_case (Tenant_ID) VALUES (NULL);
INSERT INTO child (parent) VALUES (1), (2);
ANALYZE;
"#;

/// A temp folder in memory (`/dev/shm`) when there is one: suites that run the binary hundreds
/// of times would otherwise spend their time in fsync.
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

/// SQLite journal modes the tests run in.
#[derive(Debug, Clone, Copy)]
pub enum Journal {
    /// Rollback journal (`delete`).
    Rollback,
    /// Write-ahead log.
    Wal,
}

/// Creates `dir/name` from `sql` in the given journal mode and closes it cleanly.
pub fn make_db(dir: &Path, name: &str, journal: Journal, sql: &str) -> PathBuf {
    let path = dir.join(name);
    let conn = Connection::open(&path).unwrap();
    let mode = match journal {
        Journal::Rollback => "delete",
        Journal::Wal => "wal",
    };
    let got: String = conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0)).unwrap();
    assert_eq!(got, mode);
    conn.execute_batch(sql).unwrap();
    conn.close().unwrap();
    path
}

/// The hostile schema in a fresh database.
pub fn hostile_db(dir: &Path, journal: Journal) -> PathBuf {
    make_db(dir, "hostile.db", journal, HOSTILE_SCHEMA)
}

/// Every file in a folder with its bytes, to prove that nothing changed.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// The check called `name` in a report's JSON (`checks`), or a panic showing the report.
pub fn check(report: &serde_json::Value, name: &str) -> serde_json::Value {
    let checks = report["checks"].as_array().unwrap_or_else(|| panic!("no checks: {report}"));
    checks.iter().find(|c| c["name"] == name).cloned().unwrap_or_else(|| panic!("no {name}: {report}"))
}

/// How another process uses the database.
#[derive(Debug, Clone, Copy)]
pub enum Hold {
    /// Connected, no transaction.
    Idle,
    /// Inside a read transaction.
    Reading,
    /// Inside a write transaction with an uncommitted insert.
    Writing,
}

/// Another process (Python's sqlite3, a different SQLite build, like a real application)
/// holding the database open until dropped.
pub struct Holder {
    child: Child,
}

impl Holder {
    /// Starts the process and waits until it holds the database as asked.
    pub fn start(db: &Path, hold: Hold) -> Holder {
        let action = match hold {
            Hold::Idle => "c.execute('SELECT count(*) FROM sqlite_schema').fetchall()",
            Hold::Reading => "c.execute('BEGIN'); c.execute('SELECT count(*) FROM sqlite_schema').fetchall()",
            Hold::Writing => "c.execute('BEGIN IMMEDIATE'); c.execute('CREATE TABLE held_by_app(x)')",
        };
        let script = format!(
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n{action}\nprint('ready', flush=True)\nsys.stdin.read()\n"
        );
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the tests that hold a database open");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "holder process did not start");
        Holder { child }
    }

    /// The holder's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // Closing stdin lets it exit normally (rolling back any transaction).
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}

/// Starts `python3 -c script db` and waits until it prints a line containing `ready`: a shop
/// program that has done what it holds the database with.
pub fn python_until(script: &str, db: &Path, ready: &str) -> Child {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(db)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the tests that hold a database open");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains(ready))), "the program never printed {ready:?}");
    child
}
