//! What the tool says about the present is read from the file: each way it was once made to
//! apply a script twice or to name a state the file was not in, reproduced with the binary on
//! real files (the shrunk cases of the history model in `model.rs` join them here).

use std::fs;
use std::path::Path;

use crate::common::shop::{cutover_in, json, text};
use rusqlite::Connection;
use serde_json::Value;

const SHOP: &str = "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT); INSERT INTO tenants VALUES ('acme', 'Acme');
    CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT, price INTEGER NOT NULL);
    INSERT INTO products (sku, name, price) VALUES ('A1', 'bolt', 100), ('B2', 'nut', 50);
    CREATE TABLE audit_log (id INTEGER PRIMARY KEY, what TEXT);
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ann');
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), cents INTEGER);
    INSERT INTO orders (customer_id, cents) VALUES (1, 150);";

const RAISE: &str =
    "UPDATE products SET price = price + 10 WHERE price > 0;\nINSERT INTO audit_log (what) VALUES ('prices raised');\n";

fn shop(dir: &Path) -> std::path::PathBuf {
    crate::common::make_db(dir, "pos.db", crate::common::Journal::Rollback, SHOP)
}

/// `cutover ARGS --json` in the database's folder, with the exit code it must give.
fn run(dir: &Path, args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = cutover_in(dir, &all);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out));
    json(&out)
}

fn raise(dir: &Path, text: &str) -> String {
    let path = dir.join("raise.sql");
    fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The `.migrated-…` file a rollback kept beside the database.
fn kept_migrated(dir: &Path) -> Option<std::path::PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("pos.db.migrated-"))
}

/// The price script executed, its backup copied back over the database by hand, and a row
/// written since with `sql`: a file that may or may not hold the script.
fn script_put_back_and_written(dir: &Path, db: &Path, sql: &str) {
    let x = run(dir, &["execute", "pos.db", "--script", &raise(dir, RAISE), "--yes"], 0);
    fs::copy(x["backup"]["path"].as_str().unwrap(), db).unwrap();
    Connection::open(db).unwrap().execute(sql, []).unwrap();
}

/// How many times the price script's change is in the file: the raise, and its log line.
fn raised(db: &Path) -> (i64, i64) {
    let conn = Connection::open(db).unwrap();
    let price: i64 = conn.query_row("SELECT price FROM products WHERE sku = 'A1'", [], |r| r.get(0)).unwrap();
    let logged: i64 = conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap();
    ((price - 100) / 10, logged)
}

#[test]
fn a_script_never_runs_twice_after_any_other_execute() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let script = raise(dir.path(), RAISE);
    let d = dir.path();
    run(d, &["execute", "pos.db", "--script", &script, "--yes"], 0);
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    let v = run(d, &["execute", "pos.db", "--script", &script, "--yes"], 1);
    assert_eq!(v["refusal"], "script_already_applied", "{v}");
    assert!(v["error"].as_str().unwrap().contains("beneath what later executes changed"), "{v}");
    assert!(v["error"].as_str().unwrap().contains("--again"), "{v}");
    // The isolation fix between them changes nothing of that.
    run(d, &["isolate", "pos.db", "--fix", "--yes"], 0);
    let v = run(d, &["execute", "pos.db", "--script", &script, "--yes"], 1);
    assert_eq!(v["refusal"], "script_already_applied", "{v}");
    assert_eq!(raised(&db), (1, 1), "applied once");
    // --again applies it a second time, on purpose, and says so in the journal.
    run(d, &["execute", "pos.db", "--script", &script, "--again", "--yes"], 0);
    assert_eq!(raised(&db), (2, 2));
    let journal = fs::read_to_string(dir.path().join("pos.db.cutover/journal.jsonl")).unwrap();
    assert!(journal.contains("\"again\":true"), "{journal}");
}

#[test]
fn one_more_newline_or_another_comment_is_the_same_migration() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    let first = run(d, &["execute", "pos.db", "--script", &raise(d, RAISE), "--yes"], 0);
    for text in [
        format!("{RAISE}\n"),
        format!("-- raise the prices (ticket 4411)\n{RAISE}"),
        RAISE.replace("price + 10", "price+10").replace('\n', "\n\n"),
    ] {
        let before = fs::read(&db).unwrap();
        let v = run(d, &["execute", "pos.db", "--script", &raise(d, &text), "--yes"], 0);
        assert_eq!(v["already_done"], true, "{v}");
        assert_eq!(v["plan_sha256"], first["plan_sha256"], "named by the execute that ran it: {v}");
        assert!(v["summary"].as_str().unwrap().contains("differs only in whitespace and comments"), "{v}");
        assert_eq!(fs::read(&db).unwrap(), before, "nothing changed");
    }
    assert_eq!(raised(&db), (1, 1));
    // Another value is another migration.
    let v = run(d, &["execute", "pos.db", "--script", &raise(d, &RAISE.replace("10", "11")), "--yes"], 0);
    assert!(v.get("already_done").is_none(), "{v}");
}

#[test]
fn status_after_an_undo_says_undone_and_the_fleet_stops_the_shop() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    run(d, &["rollback", "pos.db", "--undo", "--yes"], 0);
    let v = run(d, &["status", "pos.db"], 0);
    assert_eq!(v["state"], "undone", "{v}");
    assert_eq!(v["in_file"], serde_json::json!([]), "{v}");
    assert!(!v["summary"].as_str().unwrap().contains("migrated"), "{v}");
    // Run again, the tenant plan migrates the file again: nothing is "already done".
    let again = run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    assert!(again.get("already_done").is_none(), "{again}");
}

#[test]
fn status_after_a_rollback_reads_the_file_put_back_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    let script = raise(d, RAISE);
    let x = run(d, &["execute", "pos.db", "--script", &script, "--yes"], 0);
    let rolled = run(d, &["rollback", "pos.db", "--yes"], 0);
    assert_eq!(run(d, &["status", "pos.db"], 0)["state"], "rolled_back");
    // The kept migrated file copied back by hand: the file is the script's verified result.
    let kept = kept_migrated(d).unwrap_or_else(|| panic!("no kept file: {rolled}"));
    fs::copy(&kept, &db).unwrap();
    let v = run(d, &["status", "pos.db"], 0);
    assert_eq!(v["current_sha256"], x["result_sha256"], "{v}");
    assert_eq!(v["state"], "migrated_and_verified", "{v}");
    assert!(v["note"].as_str().unwrap().contains("by other means"), "{v}");
    let again = run(d, &["execute", "pos.db", "--script", &script, "--yes"], 0);
    assert_eq!(again["already_done"], true, "{again}");
    assert_eq!(raised(&db), (1, 1), "applied once");
}

#[test]
fn a_rollback_never_revives_an_execute_its_backup_does_not_hold() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    let pristine = fs::read(&db).unwrap();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    fs::write(&db, &pristine).unwrap();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    let v = run(d, &["rollback", "pos.db", "--yes"], 0);
    assert!(!v["summary"].as_str().unwrap().contains("again"), "no execute is in force again: {v}");
    assert_eq!(fs::read(&db).unwrap(), pristine);
    let v = run(d, &["status", "pos.db"], 0);
    assert_eq!(v["state"], "rolled_back", "{v}");
    assert!(v["attention"].is_null(), "{v}");
}

#[test]
fn an_execute_cut_off_after_its_commit_is_verified_before_anything_says_done() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    // Killed right after its COMMIT: the journal's last line is `execute_committing`.
    let journal = dir.path().join("pos.db.cutover/journal.jsonl");
    let lines: Vec<String> = fs::read_to_string(&journal).unwrap().lines().map(str::to_string).collect();
    let at = lines.iter().rposition(|l| l.contains("\"execute_committing\"")).unwrap();
    fs::write(&journal, lines[..=at].join("\n") + "\n").unwrap();
    let v = run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    assert_eq!(v["already_done"], true, "{v}");
    assert!(v["summary"].as_str().unwrap().contains("verified now"), "never \"Nothing to do\": {v}");
    let s = run(d, &["status", "pos.db"], 0);
    assert_eq!(s["state"], "migrated_and_verified", "{s}");
    assert_eq!(s["verified"], true, "{s}");
}

#[test]
fn status_always_names_the_files_hash_even_with_the_shops_wal_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::make_db(dir.path(), "pos.db", crate::common::Journal::Wal, SHOP);
    let d = dir.path();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    // The shop sells, and keeps its connection (and the WAL's frames) open.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0; INSERT INTO customers (name) VALUES ('walk-in');").unwrap();
    let side = |s: &str| fs::read(format!("{}{s}", db.display())).unwrap_or_default();
    let (main, wal, shm) = (fs::read(&db).unwrap(), side("-wal"), side("-shm"));
    let v = run(d, &["status", "pos.db"], 0);
    assert_eq!((fs::read(&db).unwrap(), side("-wal"), side("-shm")), (main, wal, shm), "status changed nothing");
    assert_eq!(v["current_sha256_covers"], "file_with_wal", "{v}");
    assert_eq!(v["state"], "changed_since_execute", "{v}");
    drop(conn);
    // Folded in by the application's close: the same bytes status named.
    assert_eq!(v["current_sha256"], crate::common::state::sha(&db), "{v}");
}

// Found by the review of the above, each reproduced first.

#[test]
fn quoting_a_name_is_the_same_script_and_a_blob_literal_is_not_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--script", &raise(d, RAISE), "--yes"], 0);
    // Names in brackets or backquotes are the bare names: the same script.
    let bracketed = "UPDATE [products] SET [price] = `price` + 10 WHERE price > 0;\nINSERT INTO `audit_log` (what) VALUES ('prices raised');\n";
    let v = run(d, &["execute", "pos.db", "--script", &raise(d, bracketed), "--yes"], 0);
    assert_eq!(v["already_done"], true, "{v}");
    // A double-quoted word may be a name or a string: alike, so refused, never run twice.
    let quoted = "UPDATE \"products\" SET price = \"price\" + 10 WHERE price > 0;\nINSERT INTO audit_log (what) VALUES (\"prices raised\");\n";
    let v = run(d, &["execute", "pos.db", "--script", &raise(d, quoted), "--yes"], 1);
    assert_eq!(v["refusal"], "script_already_applied", "{v}");
    assert_eq!(v["alike"], true, "{v}");
    assert_eq!(raised(&db), (1, 1), "applied once");
    // A value in another case is another script, alike: refused too, never "already done".
    let v = run(
        d,
        &["execute", "pos.db", "--script", &raise(d, &RAISE.replace("prices raised", "Prices Raised")), "--yes"],
        1,
    );
    assert_eq!(v["alike"], true, "{v}");
    // `x'6869'` is a blob; `x '6869'` is the column x named '6869': another script.
    let blob = "WITH t(x) AS (VALUES ('v')) INSERT INTO audit_log (what) SELECT x'6869' FROM t;\n";
    run(d, &["execute", "pos.db", "--script", &raise(d, blob), "--yes"], 0);
    let v = run(d, &["execute", "pos.db", "--script", &raise(d, &blob.replace("x'", "x '")), "--yes"], 0);
    assert!(v.get("already_done").is_none(), "{v}");
    let logged: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM audit_log WHERE what = 'v'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(logged, 1, "the second script ran");
}

#[test]
fn a_file_changed_in_ways_cutover_did_not_see_is_never_called_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    run(d, &["rollback", "pos.db", "--yes"], 0);
    let kept = kept_migrated(d).unwrap();
    fs::copy(&kept, &db).unwrap();
    // The shop's own upgrade adds a table: no recorded state has this schema.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE loyalty (id INTEGER PRIMARY KEY, points INT); INSERT INTO loyalty (points) VALUES (5);",
        )
        .unwrap();
    assert_eq!(run(d, &["status", "pos.db"], 0)["state"], "needs_attention");
    // A backup of it records a state whose contents cutover cannot tell: still not "rolled back".
    run(d, &["backup", "pos.db"], 0);
    let v = run(d, &["status", "pos.db"], 0);
    assert_eq!(v["state"], "needs_attention", "{v}");
    assert!(v["attention"].as_str().unwrap().contains("cannot be told"), "{v}");
}

#[test]
fn verify_never_calls_a_migration_in_place_in_a_file_that_may_not_hold_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    script_put_back_and_written(d, &db, "INSERT INTO orders (customer_id, cents) VALUES (1, 5)");
    let v = run(d, &["verify", "pos.db"], 1);
    assert!(v["summary"].as_str().unwrap().contains("cannot be told"), "{v}");
    assert!(!v["summary"].as_str().unwrap().contains("is in place"), "{v}");
    // The tenant plan's change shows in the schema: the file plainly does not hold it.
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    let x = run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    fs::copy(x["backup"]["path"].as_str().unwrap(), &db).unwrap();
    Connection::open(&db).unwrap().execute("INSERT INTO orders (customer_id, cents) VALUES (1, 5)", []).unwrap();
    let v = run(d, &["verify", "pos.db"], 1);
    assert_eq!(v["refusal"], "execute_not_in_file", "{v}");
}

#[test]
fn a_refused_script_writes_nothing_not_even_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--script", &raise(d, RAISE), "--yes"], 0);
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    let before = crate::common::snapshot(d);
    let v = run(d, &["execute", "pos.db", "--script", &raise(d, RAISE), "--yes"], 1);
    assert!(v["error"].as_str().unwrap().contains("not run"), "{v}");
    let after = crate::common::snapshot(d);
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k) && !k.ends_with(".log")).collect();
    assert!(new.is_empty(), "a refused script wrote {new:?}");
}

#[test]
fn changes_made_only_by_cutovers_own_runs_are_not_put_on_the_shop() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--script", &raise(d, RAISE), "--yes"], 0);
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    run(d, &["rollback", "pos.db", "--undo", "--yes"], 0);
    let v = run(d, &["status", "pos.db"], 0);
    assert_eq!(v["state"], "changed_since_execute", "the script is in the file: {v}");
    assert_eq!(v["changed_since_by"], "cutover", "{v}");
    assert!(!v["summary"].as_str().unwrap().contains("shop's application"), "{v}");
}

// The history model's shrunk failures (`model.rs`), as they were found.

/// `[Script(0), CopyBackupBack(0), ShopWrites]`: the schema of a script that changes rows only
/// is the same with and without it, so the file cannot say whether it is in.
#[test]
fn model_a_backup_copied_back_and_sold_on_after_a_row_script_is_not_called_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    script_put_back_and_written(d, &db, "INSERT INTO customers (name) VALUES ('walk-in')");
    let v = run(d, &["status", "pos.db"], 0);
    assert_eq!(v["state"], "needs_attention", "{v}");
    assert_eq!(v["in_file"], serde_json::json!([]), "{v}");
    assert_eq!(raised(&db), (0, 0));
}

/// `[Script(0), ShopWrites, Tenant, Rollback]`: the tenant execute's backup was made of a file
/// the shop had written to after the script; putting it back puts a file back that may hold
/// the script, never one "with no change cutover made".
#[test]
fn model_a_rollback_to_a_backup_made_after_the_shop_sold_is_not_called_clean() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--script", &raise(d, RAISE), "--yes"], 0);
    Connection::open(&db).unwrap().execute("INSERT INTO customers (name) VALUES ('walk-in')", []).unwrap();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    run(d, &["rollback", "pos.db", "--yes"], 0);
    let v = run(d, &["status", "pos.db"], 0);
    assert_ne!(v["state"], "rolled_back", "the script's raise is in the file: {v}");
    assert_eq!(raised(&db), (1, 1));
}

#[test]
fn verify_after_an_undo_in_place_verifies_the_undo() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let d = dir.path();
    run(d, &["execute", "pos.db", "--tenant", "acme", "--yes"], 0);
    run(d, &["rollback", "pos.db", "--undo", "--yes"], 0);
    let v = run(d, &["verify", "pos.db"], 0);
    assert!(v["summary"].as_str().unwrap().contains("verified"), "{v}");
}
