//! The command line on real files: JSON shapes, exit codes and what is left on disk.

use std::fs;

use crate::common::{Journal, hostile_db, snapshot};
use assert_cmd::Command;
use cutover::engine::hashing::sha256_hex;
use predicates::prelude::*;

fn cutover() -> Command {
    let mut cmd = Command::cargo_bin("cutover").unwrap();
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

fn json_of(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

#[test]
fn version_names_the_sqlite_library() {
    cutover()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")).and(predicate::str::contains(rusqlite::version())));
}

#[test]
fn audit_json_lists_every_table_with_its_decision() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let before = snapshot(dir.path());
    let v = json_of(cutover().args(["audit", "--json", "--exclude", "kv"]).arg(&db));
    assert_eq!(v["ok"], true);
    let tables = v["tables"].as_array().unwrap();
    assert!(tables.len() > 15);
    for t in tables {
        for key in ["name", "rows", "kind", "decision", "reason"] {
            assert!(t.get(key).is_some(), "table entry lacks {key}: {t}");
        }
    }
    let kv = tables.iter().find(|t| t["name"] == "kv").unwrap();
    assert_eq!(kv["decision"], "excluded");
    assert_eq!(kv["kind"], "without_rowid");
    let weird = tables.iter().find(|t| t["name"] == "we\"ird").unwrap();
    assert_eq!(weird["decision"], "migrate");
    assert_eq!(weird["rows"], 2);
    assert_eq!(v["preflight"]["quick_check"], "ok");
    assert_eq!(v["preflight"]["journal_mode"], "wal");
    assert_eq!(v["suggested_tenant"], "acme");
    assert_eq!(snapshot(dir.path()), before, "audit wrote something");
}

#[test]
fn audit_table_is_aligned_and_names_the_risks() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let out = cutover().arg("audit").arg(&db).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("TABLE"), "{text}");
    assert!(text.contains("order details: UNIQUE (sku)"), "{text}");
    assert!(text.contains("Views (1): v \"odd\""), "{text}");
    assert!(text.contains("Triggers (1): trg_seq on seq"), "{text}");
    let header = text.lines().find(|l| l.starts_with("TABLE")).unwrap();
    let rows_col = header.find("ROWS").unwrap() + "ROWS".len();
    let line = text.lines().find(|l| l.starts_with("select ")).unwrap();
    assert_eq!(&line[rows_col - 1..rows_col], "3", "row counts are right-aligned under ROWS: {line}");
}

#[test]
fn backup_json_carries_the_path_and_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let v = json_of(cutover().args(["backup", "--json"]).arg(&db));
    assert_eq!(v["ok"], true);
    let path = v["path"].as_str().unwrap();
    let bytes = fs::read(path).unwrap();
    assert_eq!(bytes, fs::read(&db).unwrap());
    assert_eq!(v["sha256"], sha256_hex(&bytes));
    assert_eq!(v["source_sha256"], v["sha256"]);
    assert_eq!(v["verdict"], "MATCH");
}

#[test]
fn messages_name_the_database_as_typed_and_json_keeps_the_real_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let typed = format!("../{}", db.file_name().unwrap().to_string_lossy());
    let out = cutover().current_dir(&elsewhere).args(["backup", &typed]).assert().success().get_output().stdout.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains(&format!("Backup     {typed}.backup-")), "backup not named as typed:\n{text}");
    assert!(
        !text.contains(&dir.path().to_string_lossy().into_owned()),
        "the real path leaked into the message:\n{text}"
    );
    let v = json_of(cutover().current_dir(&elsewhere).args(["backup", "--json", &typed]));
    let path = std::path::Path::new(v["path"].as_str().unwrap());
    assert!(path.is_absolute(), "JSON carries a path other tools can open from anywhere: {}", path.display());
    // Typed with a trailing slash, the file beside it is still named as it is.
    let slashed = format!("{typed}/");
    let out =
        cutover().current_dir(&elsewhere).args(["backup", &slashed]).assert().success().get_output().stdout.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains(&format!("Backup     {typed}.backup-")), "a file that does not exist was named:\n{text}");
}

#[test]
fn a_tenant_column_that_is_not_right_is_never_called_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE sales (id INTEGER PRIMARY KEY, total REAL, tenant_id TEXT);
         INSERT INTO sales VALUES (1, 9.5, NULL), (2, 3.0, 'other-shop');",
    );
    let before = snapshot(dir.path());
    let out = cutover()
        .args(["execute", "--tenant", "harbor-auto", "--yes"])
        .arg(&db)
        .assert()
        .success()
        .get_output()
        .clone();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!said.contains("already has the change"), "{said}");
    assert!(said.contains("sales") && said.contains("review"), "{said}");
    assert_eq!(snapshot(dir.path()), before, "something changed on disk");
}

#[test]
fn backup_text_shows_both_hashes_and_match() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let hash = sha256_hex(&fs::read(&db).unwrap());
    cutover().arg("backup").arg(&db).assert().success().stdout(
        predicate::str::contains(format!("Source     sha256 {hash}"))
            .and(predicate::str::contains(format!("Backup     sha256 {hash}")))
            .and(predicate::str::contains("MATCH")),
    );
}

#[test]
fn demo_builds_a_database_and_never_replaces_one() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("site");
    cutover()
        .args(["demo", "--dir"])
        .arg(&target)
        .assert()
        .success()
        .stdout(predicate::str::contains("Built the demo").and(predicate::str::contains("harbor-auto")));
    let db = target.join("pos.db");
    let bytes = fs::read(&db).unwrap();
    cutover().args(["demo", "--dir"]).arg(&target).assert().code(2).stderr(predicate::str::contains("already exists"));
    assert_eq!(fs::read(&db).unwrap(), bytes);
}

#[test]
fn json_is_one_flag_anywhere_on_the_line_and_errors_name_their_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    for args in [vec!["--json", "audit"], vec!["audit", "--json"], vec!["--confirm-stopped", "--json", "audit"]] {
        let v = json_of(cutover().args(&args).arg(&db));
        assert_eq!(v["ok"], true, "{args:?}");
    }
    // An error as JSON, wherever the flag stands: its refusal by name.
    for args in [vec!["--json", "verify"], vec!["verify", "--json"]] {
        let out = cutover().args(&args).arg(&db).assert().code(1).get_output().stdout.clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!((v["ok"].as_bool(), v["refusal"].as_str()), (Some(false), Some("nothing_to_verify")), "{v}");
    }
    let missing = dir.path().join("nope.db");
    let out = cutover().args(["--json", "backup"]).arg(&missing).assert().code(2).get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["refusal"], "not_found", "{v}");
    // A database for the wizard and a command at once is refused, not half obeyed.
    cutover().arg(&db).arg("audit").arg(&db).assert().code(2);
    // What the argument parser refuses is JSON too when JSON was asked for.
    let out = cutover().args(["plan", "--script", "x.sql", "--tenant", "acme", "--json"]).arg(&db).assert().code(2);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!((v["ok"].as_bool(), v["refusal"].as_str()), (Some(false), Some("usage")), "{v}");
}
