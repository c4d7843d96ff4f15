//! `cutover status` through a database's life, changing nothing each time it looks; and the
//! idempotent execute: "already done" only where this very plan's verified result stands.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::Journal;
use crate::common::shop::small_shop;
use assert_cmd::Command;
use rusqlite::Connection;
use serde_json::Value;

fn cutover() -> Command {
    let mut cmd = Command::cargo_bin("cutover").unwrap();
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

fn json(args: &[&str], code: i32) -> Value {
    let out = cutover().args(args).arg("--json").assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

/// Every file under `dir`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            for (k, v) in tree(&p) {
                out.insert(format!("{}/{k}", e.file_name().to_string_lossy()), v);
            }
        } else {
            out.insert(e.file_name().to_string_lossy().into_owned(), fs::read(&p).unwrap());
        }
    }
    out
}

/// The status, checked to have changed nothing in the folder.
fn status(db: &Path) -> Value {
    let dir = db.parent().unwrap();
    let before = tree(dir);
    let v = json(&["status", db.to_str().unwrap()], 0);
    assert_eq!(tree(dir), before, "status changed something on disk");
    assert_eq!(v["ok"], true, "{v}");
    v
}

fn execute(db: &Path, tenant: &str) -> Value {
    json(&["execute", db.to_str().unwrap(), "--tenant", tenant, "--yes"], 0)
}

#[test]
fn status_follows_a_database_from_untouched_to_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    let d = db.to_str().unwrap();
    assert_eq!(status(&db)["state"], "untouched");

    json(&["backup", d], 0);
    let v = status(&db);
    assert_eq!(v["state"], "backed_up", "{v}");
    assert_eq!(v["backup"]["present"], true, "{v}");

    json(&["dry-run", d, "--tenant", "acme"], 0);
    let v = status(&db);
    assert_eq!(v["state"], "rehearsed", "{v}");
    assert!(v["plan_sha256"].is_string(), "{v}");

    let x = execute(&db, "acme");
    let v = status(&db);
    assert_eq!(v["state"], "migrated_and_verified", "{v}");
    assert_eq!(v["plan_sha256"], x["plan_sha256"], "{v}");
    assert_eq!(v["result_sha256"], x["result_sha256"], "{v}");
    assert_eq!(v["current_sha256"], x["result_sha256"], "{v}");
    assert_eq!(v["changed_since_execute"], false, "{v}");
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["backup"]["path"], x["backup"]["path"], "{v}");

    // The shop trades: its write sits in the WAL, and status says so without folding it in.
    let conn = Connection::open(&db).unwrap();
    conn.execute("INSERT INTO items (sku, name) VALUES ('D4', 'spring')", []).unwrap();
    let v = status(&db);
    drop(conn);
    assert_eq!(v["state"], "changed_since_execute", "{v}");
    assert_eq!(v["changed_since_execute"], true, "{v}");
    // Folded into the file by the application's last close: the hash tells now.
    let v = status(&db);
    assert_eq!(v["state"], "changed_since_execute", "{v}");
    assert_ne!(v["current_sha256"], v["result_sha256"], "{v}");

    json(&["rollback", d, "--discard-changes", "--yes"], 0);
    let v = status(&db);
    assert_eq!(v["state"], "rolled_back", "{v}");
    assert_eq!(v["verified"], Value::Null, "no execute in force: no verification to speak of: {v}");
}

#[test]
fn status_names_a_failed_dry_run_and_an_execute_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let d = db.to_str().unwrap();
    let script = dir.path().join("bad.sql");
    fs::write(&script, "ALTER TABLE items ADD COLUMN x TEXT;\nINSERT INTO nowhere VALUES (1);\n").unwrap();
    json(&["dry-run", d, "--script", script.to_str().unwrap()], 1);
    assert_eq!(status(&db)["state"], "rehearsal_failed");

    // A crash between the execute's start and its end: the journal's last line is the start.
    execute(&db, "acme");
    let journal = dir.path().join("pos.db.cutover/journal.jsonl");
    let text = fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let started = lines.iter().rposition(|l| l.contains("\"execute_started\"")).unwrap();
    fs::write(&journal, lines[..=started].join("\n") + "\n").unwrap();
    let v = status(&db);
    assert_eq!(v["state"], "needs_attention", "{v}");
    assert!(v["attention"].as_str().unwrap().contains("its end is not recorded"), "{v}");
}

#[test]
fn status_of_what_is_not_a_database_file_is_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let v = json(&["status", missing.to_str().unwrap()], 2);
    assert_eq!(v["ok"], false, "{v}");
    let v = json(&["status", dir.path().to_str().unwrap()], 2);
    assert_eq!(v["ok"], false, "{v}");
}

#[test]
fn execute_again_is_already_done_and_touches_nothing_even_while_the_shop_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    let first = execute(&db, "acme");
    assert!(first.get("already_done").is_none(), "{first}");
    let before = tree(dir.path());
    #[cfg(unix)]
    let shop = crate::common::Holder::start(&db, crate::common::Hold::Idle);
    let again = execute(&db, "acme");
    #[cfg(unix)]
    drop(shop);
    assert_eq!(again["already_done"], true, "{again}");
    assert_eq!(again["nothing_to_do"], true, "{again}");
    assert_eq!(again["plan_sha256"], first["plan_sha256"], "{again}");
    assert!(again["summary"].as_str().unwrap().starts_with("Already done"), "{again}");
    assert_eq!(tree(dir.path()), before, "an execute already done changed something");

    // The shop traded since: the plan is still in force, and the answer says the file moved on.
    let conn = Connection::open(&db).unwrap();
    conn.execute("INSERT INTO items (sku, name) VALUES ('D4', 'spring')", []).unwrap();
    drop(conn);
    let traded = execute(&db, "acme");
    assert_eq!(traded["already_done"], true, "{traded}");
    assert!(traded["summary"].as_str().unwrap().contains("has written to it since"), "{traded}");

    // Another tenant is another plan: not this one's "already done", and nothing to do.
    let other = execute(&db, "other");
    assert!(other.get("already_done").is_none(), "{other}");
    assert_eq!(other["nothing_to_do"], true, "{other}");
}

#[test]
fn a_backup_put_back_by_hand_is_not_taken_for_the_migration_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let first = execute(&db, "acme");
    // Someone restores the backup with cp, behind cutover's back: the journal still names the
    // execute, but the file is the original again.
    fs::copy(first["backup"]["path"].as_str().unwrap(), &db).unwrap();
    let again = execute(&db, "acme");
    assert!(again.get("already_done").is_none(), "{again}");
    assert!(again.get("nothing_to_do").is_none(), "the plan ran again: {again}");
    let conn = Connection::open(&db).unwrap();
    let has: i64 = conn
        .query_row("SELECT count(*) FROM pragma_table_info('items') WHERE name = 'tenant_id'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(has, 1, "migrated again");
}

#[test]
fn a_script_run_again_is_already_done_only_while_its_result_stands() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let script = dir.path().join("price.sql");
    fs::write(&script, "ALTER TABLE items ADD COLUMN price INTEGER NOT NULL DEFAULT 0;\n").unwrap();
    let args = ["execute", db.to_str().unwrap(), "--script", script.to_str().unwrap(), "--yes"];
    let first = json(&args, 0);
    let again = json(&args, 0);
    assert_eq!(again["already_done"], true, "{again}");
    assert_eq!(again["plan_sha256"], first["plan_sha256"], "{again}");
    // Another script is another plan: it runs.
    fs::write(&script, "ALTER TABLE items ADD COLUMN cost INTEGER NOT NULL DEFAULT 0;\n").unwrap();
    let other = json(&args, 0);
    assert!(other.get("already_done").is_none(), "{other}");
    assert!(other["result_sha256"].is_string(), "{other}");
}

#[test]
fn a_file_put_back_by_other_means_is_never_called_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let x = execute(&db, "acme");
    let backup = x["backup"]["path"].as_str().unwrap().to_string();
    fs::copy(&backup, &db).unwrap();
    let v = status(&db);
    assert_eq!(v["state"], "needs_attention", "byte for byte the backup: {v}");
    assert!(v["attention"].as_str().unwrap().contains("put back by other means"), "{v}");
    // Put back, then traded on: no hash tells, the schema does.
    let conn = Connection::open(&db).unwrap();
    conn.execute("UPDATE customers SET name = 'Ann B' WHERE id = 1", []).unwrap();
    drop(conn);
    let v = status(&db);
    assert_eq!(v["state"], "needs_attention", "the schema of before: {v}");
    assert_eq!(v["schema_as_executed"], false, "{v}");
}

#[test]
fn a_script_put_back_by_hand_runs_again_only_from_the_backups_very_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let script = dir.path().join("note.sql");
    fs::write(&script, "ALTER TABLE customers ADD COLUMN note TEXT;\nUPDATE items SET name = name || '!';\n").unwrap();
    let args = ["execute", db.to_str().unwrap(), "--script", script.to_str().unwrap(), "--yes"];
    let first = json(&args, 0);
    fs::copy(first["backup"]["path"].as_str().unwrap(), &db).unwrap();
    // Traded on after the hand restore: neither the backup nor the result, so not guessed at.
    let conn = Connection::open(&db).unwrap();
    conn.execute("UPDATE customers SET name = 'Ann B' WHERE id = 1", []).unwrap();
    drop(conn);
    let before = tree(dir.path());
    let v = json(&args, 1);
    assert_eq!(v["refusal"], "script_already_applied", "{v}");
    assert!(v["error"].as_str().unwrap().contains("cannot be told"), "{v}");
    assert_eq!(tree(dir.path()), before, "refused with nothing changed");
    // The backup's very bytes: the script is provably not in the file, and runs again.
    fs::copy(first["backup"]["path"].as_str().unwrap(), &db).unwrap();
    let again = json(&args, 0);
    assert!(again.get("already_done").is_none(), "{again}");
    let names: Vec<String> = Connection::open(&db)
        .unwrap()
        .prepare("SELECT name FROM items ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["bolt!", "nut!", "washer!"], "applied once");
}

#[test]
fn a_script_cut_off_after_its_commit_is_never_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let script = dir.path().join("bump.sql");
    fs::write(&script, "UPDATE items SET name = name || '+';\n").unwrap();
    let args = ["execute", db.to_str().unwrap(), "--script", script.to_str().unwrap(), "--yes"];
    json(&args, 0);
    // Killed after its COMMIT, before the journal said so: the last line is `execute_committing`.
    let journal = dir.path().join("pos.db.cutover/journal.jsonl");
    let text = fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().rposition(|l| l.contains("\"execute_committing\"")).unwrap();
    fs::write(&journal, lines[..=at].join("\n") + "\n").unwrap();
    // The re-run settles it from the file, verifies it before saying anything is done, and
    // never runs it again.
    let v = json(&args, 0);
    assert_eq!(v["already_done"], true, "{v}");
    assert!(v["summary"].as_str().unwrap().contains("verified now"), "{v}");
    assert!(v["checks"].as_array().is_some_and(|c| !c.is_empty()), "the verification's checks are shown: {v}");
    let name: String =
        Connection::open(&db).unwrap().query_row("SELECT name FROM items WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(name, "bolt+", "applied once, not twice");
    assert_eq!(status(&db)["state"], "migrated_and_verified");
}

// Python plays the shop's application that dies mid-write (the Linux suites' way).
#[cfg(unix)]
#[test]
fn status_with_a_hot_journal_says_it_needs_attention_never_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    execute(&db, "acme");
    crash_mid_write(&db);
    let v = status(&db);
    assert_eq!(v["state"], "needs_attention", "{v}");
    assert!(v["attention"].as_str().unwrap().contains("hot journal"), "{v}");
}

#[test]
fn a_data_only_script_whose_result_moved_on_is_refused_rather_than_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let script = dir.path().join("rename.sql");
    fs::write(&script, "UPDATE items SET name = name || ' (old stock)';\n").unwrap();
    let args = ["execute", db.to_str().unwrap(), "--script", script.to_str().unwrap(), "--yes"];
    json(&args, 0);
    let conn = Connection::open(&db).unwrap();
    conn.execute("INSERT INTO items (sku, name) VALUES ('D4', 'spring')", []).unwrap();
    drop(conn);
    let before = tree(dir.path());
    let v = json(&args, 1);
    assert_eq!(v["refusal"], "script_already_applied", "{v}");
    assert!(v["error"].as_str().unwrap().contains("--again"), "{v}");
    assert_eq!(tree(dir.path()), before, "refused with nothing changed");
}

#[test]
fn a_tenant_column_added_by_hand_with_another_value_is_not_this_plan_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let x = execute(&db, "acme");
    fs::copy(x["backup"]["path"].as_str().unwrap(), &db).unwrap();
    let conn = Connection::open(&db).unwrap();
    for t in ["items", "customers", "kv"] {
        conn.execute_batch(&format!("ALTER TABLE {t} ADD COLUMN tenant_id VARCHAR(255) NOT NULL DEFAULT 'evil-corp'"))
            .unwrap();
    }
    drop(conn);
    let again = execute(&db, "acme");
    assert!(again.get("already_done").is_none(), "{again}");
    assert!(again["summary"].as_str().unwrap().contains("not right"), "{again}");
}

/// The shop's application dies in the middle of a write that spilled to the file, leaving a
/// hot journal.
#[cfg(unix)]
fn crash_mid_write(db: &Path) {
    let crash = "import sqlite3, sys, os\n\
        c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
        c.execute('PRAGMA cache_size = 1')\n\
        c.execute('BEGIN')\n\
        c.execute(\"INSERT INTO customers (name) SELECT hex(randomblob(400)) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) SELECT i FROM n)\")\n\
        os.kill(os.getpid(), 9)\n";
    let out = std::process::Command::new("python3").args(["-c", crash]).arg(db).output().unwrap();
    assert_eq!(out.status.code(), None, "{out:?}");
    assert!(crate::common::shop::has_hot_journal(db), "a hot journal is left");
}

#[cfg(unix)]
#[test]
fn a_re_run_beside_a_hot_journal_never_recovers_it_behind_an_already_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let d = db.to_str().unwrap();
    let script = dir.path().join("bump.sql");
    fs::write(&script, "UPDATE items SET name = name || '+';\n").unwrap();
    json(&["execute", d, "--script", script.to_str().unwrap(), "--yes"], 0);
    crash_mid_write(&db);
    let before = tree(dir.path());
    let v = json(&["execute", d, "--script", script.to_str().unwrap(), "--yes"], 1);
    assert!(v["error"].as_str().unwrap().contains("hot journal"), "{v}");
    assert_eq!(tree(dir.path()), before, "refused with nothing touched, the hot journal included");

    // The tenant plan is its own test: the normal path recovers (and says so), then finds
    // nothing to do; it never says "Already done" over a recovery.
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    execute(&db, "acme");
    crash_mid_write(&db);
    let out = cutover().args(["execute", db.to_str().unwrap(), "--tenant", "acme", "--yes", "--json"]).assert().code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v.get("already_done").is_none(), "{v}");
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("as found"), "the recovery is said");
}
