//! The shop's application acting on a database the way a real one would: another process (Python's
//! sqlite3) that writes and closes cleanly, writes and crashes leaving its WAL behind, or dies in
//! the middle of a write, plus running cutover from any folder as any user.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small point-of-sale database with a tenant registry, in the given journal mode.
pub fn small_shop(dir: &Path, journal: super::Journal) -> std::path::PathBuf {
    super::make_db(
        dir,
        "pos.db",
        journal,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT); INSERT INTO tenants VALUES ('acme', 'Acme');
         CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT);
         INSERT INTO items (sku, name) VALUES ('A1', 'bolt'), ('B2', 'nut'), ('C3', 'washer');
         CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO customers (name) VALUES ('Ann'), ('Bob');
         CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID; INSERT INTO kv VALUES ('a', 'b');",
    )
}

/// Runs cutover with `args` from the folder `cwd`.
pub fn cutover_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .current_dir(cwd)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// Runs cutover with `args` and then `db`.
pub fn cutover(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).arg(db).env_remove("RUST_BACKTRACE").output().unwrap()
}

/// stdout and stderr of a run, for assertion messages.
pub fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The JSON object a `--json` run printed.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

fn python(script: &str, db: &Path) -> Output {
    Command::new("python3").arg("-c").arg(script).arg(db).output().expect("python3 is needed for these tests")
}

/// The application runs `sql` in one transaction and closes cleanly.
pub fn app_writes(db: &Path, sql: &str) {
    let script = format!(
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN')\nfor s in {sql:?}.split(';'):\n    s.strip() and c.execute(s)\nc.execute('COMMIT')\nc.close()\n"
    );
    let out = python(&script, db);
    assert!(out.status.success(), "the application's write failed: {}", text(&out));
}

/// The application runs `sql` and commits with automatic checkpoints off, then is killed:
/// the committed change stays in the `-wal` only (WAL mode).
pub fn app_writes_then_crashes(db: &Path, sql: &str) {
    let script = format!(
        "import sqlite3, sys, os\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('PRAGMA wal_autocheckpoint = 0')\nc.execute('BEGIN')\nfor s in {sql:?}.split(';'):\n    s.strip() and c.execute(s)\nc.execute('COMMIT')\nos.kill(os.getpid(), 9)\n"
    );
    let out = python(&script, db);
    assert_eq!(out.status.code(), None, "the application should have been killed: {}", text(&out));
}

/// Rows of a table, counted by an independent connection (it recovers a hot journal or WAL).
pub fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0)).unwrap()
}

/// Whether `table` has a column named `column`.
pub fn has_column(db: &Path, table: &str, column: &str) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", [table, column], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap()
        > 0
}

/// Whether the tests run with the rights to mount file systems and change users (root here;
/// CI runs as root too). Suites that need it say SKIPPED otherwise, or fail under
/// `CUTOVER_REQUIRE_ROOT`.
pub fn root_or_skip(what: &str) -> bool {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { nix::libc::geteuid() } == 0;
    #[cfg(not(unix))]
    let root = false;
    if !root {
        assert!(std::env::var_os("CUTOVER_REQUIRE_ROOT").is_none(), "{what} needs root here");
        super::state::report(&format!("{what} SKIPPED: needs root"));
    }
    root
}

/// Whether strace is installed (CI installs it); says SKIPPED otherwise.
pub fn strace_or_skip(what: &str) -> bool {
    let ok = Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CUTOVER_REQUIRE_FAULT_TOOLS").is_none(), "strace is required here");
        super::state::report(&format!("{what} SKIPPED: strace is not installed"));
    }
    ok
}

/// The execute the rollback tests undo.
pub const EXECUTE: [&str; 4] = ["execute", "--tenant", "acme", "--yes"];

/// A small shop migrated by a real execute: its path, and its bytes before.
pub fn executed(dir: &Path, journal: super::Journal) -> (PathBuf, Vec<u8>) {
    let db = small_shop(dir, journal);
    let original = fs::read(&db).unwrap();
    let out = cutover(&EXECUTE, &db);
    assert!(out.status.success(), "{}", text(&out));
    (db, original)
}

/// The files in `dir` whose names hold `marker`.
pub fn kept_files(dir: &Path, marker: &str) -> Vec<String> {
    super::snapshot(dir).into_keys().filter(|n| n.contains(marker)).collect()
}

/// Whether a hot journal (a rollback journal with its header) lies beside `db`.
pub fn has_hot_journal(db: &Path) -> bool {
    let mut name = db.as_os_str().to_owned();
    name.push("-journal");
    let journal = PathBuf::from(name);
    fs::read(&journal).is_ok_and(|b| b.len() >= 8 && b[..8] == [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7])
}

/// Starts `cutover ARGS DB`, kills it with SIGKILL (TerminateProcess on Windows) after `delay`,
/// and returns whether it had already finished by itself.
pub fn kill_after(args: &[&str], db: &Path, delay: std::time::Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .arg(db)
        .env_remove("RUST_BACKTRACE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    finished
}

/// `cutover ARGS DB` run as another user (uid and gid `uid`, no groups), as an ordinary
/// technician or another user's program would be (needs root).
pub fn cutover_as(uid: u32, args: &[&str], db: &Path) -> Output {
    Command::new("setpriv")
        .args([format!("--reuid={uid}"), format!("--regid={uid}"), "--clear-groups".into()])
        .arg(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .arg(db)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// Starts `cutover rollback --yes ARGS DB` under strace with every rename held back 3 s: the
/// moment a program may open the file while the rollback swaps it.
#[cfg(unix)]
pub fn rollback_with_slow_renames(db: &Path, args: &[&str]) -> std::process::Child {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "--trace=rename,renameat,renameat2"])
        .arg("--inject=rename,renameat,renameat2:delay_enter=3000000")
        .arg(env!("CARGO_BIN_EXE_cutover"))
        .args(["rollback", "--yes"])
        .args(args)
        .arg(db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}
