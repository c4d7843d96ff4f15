//! What a review made the application's-migrations feature get wrong, each reproduced here: a
//! check program that reached production, a replay kinder than the runner, a guessed name
//! form, diesel's order, claims about the ledger's rows, a check that outlived its time limit
//! or flooded the report, tables taken for ledgers, hidden files, Prisma's checksums, and a
//! second run of the same command.
// Python is the shop's application here.
#![cfg(unix)]

use std::fs;
use std::path::Path;

use crate::app_runners::{built_by, start};
use crate::common::shop::{cutover, json, text};
use crate::common::state::sha;
use crate::common::{Journal, check, make_db};

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn an_app_check_that_does_not_name_the_copy_is_refused_and_one_that_writes_production_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let before = sha(&db);
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runners/app_runner.py");
    let on_production = format!("python3 {} names {} {}", s(&runner), s(&db), s(&dir));
    let out = cutover(&["dry-run", "--migrations", &s(&dir), "--app-check", &on_production, "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "check_without_db");
    assert_eq!(sha(&db), before, "the program never ran");

    // Naming {db} but writing to production all the same: the dry run does not hold it.
    let sneaky = format!("{on_production} # {{db}}");
    let out = cutover(&["dry-run", "--migrations", &s(&dir), "--app-check", &sneaky, "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "changed_during_check", "{}", text(&out));
}

#[test]
fn a_migration_with_its_own_begin_fails_where_its_runner_wraps_it_in_a_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("sqlx", tmp.path());
    fs::remove_file(dir.join("0009_add_tenant_id.up.sql")).unwrap();
    fs::write(dir.join("0003_loyalty.sql"), "BEGIN;\nCREATE TABLE loyalty (x);\nCOMMIT;\n").unwrap();
    assert!(!start("sqlx", &tmp.path().join("copy.db").tap_copy(&db), &dir).status.success(), "sqlx fails on it");
    let before = sha(&db);
    let out = cutover(&["dry-run", "--tenant", "harbor", "--migrations", &s(&dir), "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = check(&json(&out), "app_starts");
    assert_eq!(c["status"], "FAIL", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("0003_loyalty.sql line 1"), "{c}");
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "runner_refuses");
    assert_eq!(sha(&db), before);
}

trait TapCopy {
    fn tap_copy(&self, from: &Path) -> std::path::PathBuf;
}

impl TapCopy for std::path::PathBuf {
    fn tap_copy(&self, from: &Path) -> std::path::PathBuf {
        fs::copy(from, self).unwrap();
        self.clone()
    }
}

#[test]
fn an_empty_name_ledger_is_not_guessed_at() {
    let tmp = tempfile::tempdir().unwrap();
    let db = make_db(
        tmp.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE _migrations (id INTEGER PRIMARY KEY, name TEXT UNIQUE, applied_at TEXT);
         CREATE TABLE items (id INTEGER PRIMARY KEY, v);",
    );
    let dir = tmp.path().join("migrations");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("001_seed.sql"), "INSERT INTO items (v) VALUES ('from-001');\n").unwrap();
    let before = sha(&db);
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "name_form_unknown");
    assert_eq!(sha(&db), before);
}

#[test]
fn diesel_runs_its_migrations_in_the_order_of_their_versions_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    let db = tmp.path().join("shop.db");
    let write = |name: &str, sql: &str| {
        fs::create_dir_all(dir.join(name)).unwrap();
        fs::write(dir.join(name).join("up.sql"), sql).unwrap();
    };
    write("1_init", "CREATE TABLE settings (k TEXT PRIMARY KEY, v TEXT);\nINSERT INTO settings VALUES ('tax', '0');\n");
    assert!(start("diesel", &db, &dir).status.success());
    write("9_tax_b", "UPDATE settings SET v = '9-was-last';\n");
    write("10_tax_a", "UPDATE settings SET v = '10-was-last';\n");
    let runner_db = tmp.path().join("runner.db").tap_copy(&db);
    assert!(start("diesel", &runner_db, &dir).status.success());
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let value = |p: &Path| -> String {
        rusqlite::Connection::open(p).unwrap().query_row("SELECT v FROM settings", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(value(&db), value(&runner_db), "the same order as diesel's");
}

#[test]
fn a_migration_that_rewrites_ledger_rows_is_never_called_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    fs::write(dir.join("003_x.sql"), "UPDATE _migrations SET applied_at = '1999-01-01' WHERE id = 1;\n").unwrap();
    let out = cutover(&["dry-run", "--migrations", &s(&dir), "--json"], &db);
    let report = json(&out);
    let digest = check(&report, "content_digest");
    assert_ne!(digest["status"], "PASS", "{digest}");
    assert!(digest["detail"].as_str().unwrap().contains("_migrations"), "{digest}");
    assert_eq!(check(&report, "ledger_recorded")["status"], "PASS");
}

#[test]
fn an_app_check_out_of_time_is_stopped_with_what_it_started_and_its_output_is_cut_short() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let pid_file = tmp.path().join("child.pid");
    let hang = format!(
        "python3 -c \"import os,sys,time; open(sys.argv[1],'w').write(str(os.getpid())); time.sleep(60)\" {} {{db}}",
        s(&pid_file)
    );
    let args = ["dry-run", "--migrations", &s(&dir), "--app-check", &hang, "--app-check-seconds", "2", "--json"];
    let out = cutover(&args, &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let pid = fs::read_to_string(&pid_file).unwrap();
    // Killed, it may linger as a zombie where nothing reaps orphans (a container's PID 1).
    let stat = fs::read_to_string(Path::new("/proc").join(pid.trim()).join("stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").split_whitespace().next().unwrap_or("gone").to_string();
    assert!(["gone", "Z", "X"].contains(&state.as_str()), "the program the shell started is stopped too: {state}");

    let flood = "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo last words; exit 3 # {db}";
    let out = cutover(&["dry-run", "--migrations", &s(&dir), "--app-check", flood, "--json"], &db);
    let c = check(&json(&out), "app_check");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("exited 3") && detail.ends_with("last words"),
        "{}",
        &detail[detail.len().saturating_sub(300)..]
    );
    assert!(detail.len() < 2000, "its last lines only: {} bytes", detail.len());
    assert!(out.stdout.len() < 100_000, "the report is not flooded: {} bytes", out.stdout.len());
}

#[test]
fn tables_with_columns_no_ledger_has_are_the_applications_own() {
    let tmp = tempfile::tempdir().unwrap();
    let db = make_db(
        tmp.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT UNIQUE, customer_id INT, amount INT);
         CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL,
             is_applied INTEGER NOT NULL, tstamp TIMESTAMP, customer TEXT);
         CREATE TABLE _migrations (id INTEGER PRIMARY KEY, name TEXT, applied_at TEXT);
         CREATE UNIQUE INDEX only_some ON _migrations(name) WHERE id > 10;",
    );
    let audit = json(&cutover(&["audit", "--json"], &db));
    assert!(audit["ledgers"]["ledgers"].as_array().unwrap().is_empty(), "{audit}");
    assert_eq!(audit["ledgers"]["not_ledgers"].as_array().unwrap().len(), 3, "{audit}");
    for t in audit["tables"].as_array().unwrap().iter().filter(|t| !t["name"].as_str().unwrap().starts_with("sqlite_"))
    {
        assert_eq!(t["decision"], "migrate", "{t}");
    }
}

#[test]
fn hidden_files_in_the_folder_are_no_migrations() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    fs::write(dir.join(".003_hidden.sql"), "CREATE TABLE hidden (x);\n").unwrap();
    fs::write(dir.join("._009_add_tenant_id.sql"), [0u8, 5, 22, 7, 0xff, 0xfe]).unwrap();
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let hidden: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'hidden'", [], |r| r.get(0)).unwrap();
    assert_eq!(hidden, 0);
    assert!(text(&start("names", &db, &dir)).contains("applied 0"));
}

#[test]
fn prisma_is_not_said_to_refuse_an_edited_applied_migration_that_it_applies_past() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("prisma", tmp.path());
    let first = dir.join("20240101000000_init/migration.sql");
    let text_now = fs::read_to_string(&first).unwrap();
    fs::write(&first, format!("{text_now}-- edited\n")).unwrap();
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&start("prisma", &db, &dir)).contains("applied 0"));
}

#[test]
fn the_same_record_as_command_run_twice_is_already_done() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let file = s(&dir.join("009_add_tenant_id.sql"));
    let args = ["execute", "--tenant", "harbor", "--migrations", &s(&dir), "--record-as", &file, "--yes", "--json"];
    assert!(cutover(&args, &db).status.success());
    let before = sha(&db);
    let again = cutover(&args, &db);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(sha(&db), before);
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert_eq!(json(&out)["already_done"], true, "{}", text(&out));
}

#[test]
fn a_vacuum_the_runner_runs_on_its_own_is_not_a_failed_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    fs::remove_file(dir.join("009_add_tenant_id.sql")).unwrap();
    fs::write(dir.join("003_compact.sql"), "DELETE FROM sales WHERE amount < 0;\nVACUUM;\n").unwrap();
    let out = cutover(&["dry-run", "--tenant", "harbor", "--migrations", &s(&dir), "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(check(&json(&out), "app_starts")["status"], "PASS");
}

#[test]
fn refinery_takes_the_files_its_pattern_takes_from_every_subfolder() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("refinery", tmp.path());
    fs::remove_file(dir.join("V9__add_tenant_id.sql")).unwrap();
    // A hyphen is not a word character: refinery passes over the file, and so does cutover.
    fs::write(dir.join("V3__add-loyalty.sql"), "CREATE TABLE loyalty_hyphen (x);\n").unwrap();
    fs::create_dir(dir.join("2025")).unwrap();
    fs::write(dir.join("2025").join("V4__tenant.sql"), "CREATE TABLE in_subfolder (x);\n").unwrap();
    fs::write(dir.join("U5__unversioned.sql"), "CREATE TABLE unversioned (x);\n").unwrap();
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let ran = start("refinery", &db, &dir);
    assert!(text(&ran).contains("started: applied 0"), "{}", text(&ran));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE name IN ('loyalty_hyphen', 'in_subfolder', 'unversioned') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tables, ["in_subfolder", "unversioned"]);
}

#[test]
fn a_flyway_repeatable_migration_is_refused_rather_than_guessed_at() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("flyway", tmp.path());
    fs::write(dir.join("R__views.sql"), "CREATE VIEW IF NOT EXISTS v AS SELECT 1;\n").unwrap();
    let before = sha(&db);
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "unsupported");
    assert_eq!(sha(&db), before);
}

#[test]
fn an_undo_that_would_leave_a_gap_beneath_the_apps_later_migrations_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("goose", tmp.path());
    let file = s(&dir.join("00009_add_tenant_id.sql"));
    let out = cutover(&["execute", "--tenant", "harbor", "--migrations", &s(&dir), "--record-as", &file, "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    fs::write(dir.join("00010_loyalty.sql"), "-- +goose Up\nCREATE TABLE loyalty (x);\n").unwrap();
    assert!(text(&start("goose", &db, &dir)).contains("applied 1"));
    let before = sha(&db);
    let undo = cutover(&["rollback", "--undo", "--yes", "--json"], &db);
    assert_eq!(undo.status.code(), Some(2), "{}", text(&undo));
    assert!(text(&undo).contains("10"), "names what the app applied since: {}", text(&undo));
    assert_eq!(sha(&db), before);
}

#[test]
fn a_migration_name_that_is_not_utf8_is_refused() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    fs::write(dir.join(std::ffi::OsStr::from_bytes(b"003_caf\xe9.sql")), "CREATE TABLE t2 (x);\n").unwrap();
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "name_not_utf8");
}

#[test]
fn the_apps_pending_rebuild_that_drops_the_tenant_column_fails_app_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    fs::remove_file(dir.join("009_add_tenant_id.sql")).unwrap();
    fs::write(
        dir.join("003_rebuild.sql"),
        "CREATE TABLE new_sales (id INTEGER PRIMARY KEY, customer_id INTEGER, amount INTEGER NOT NULL);\n\
         INSERT INTO new_sales SELECT id, customer_id, amount FROM sales;\nDROP TABLE sales;\n\
         ALTER TABLE new_sales RENAME TO sales;\n",
    )
    .unwrap();
    let out = cutover(&["dry-run", "--tenant", "harbor", "--migrations", &s(&dir), "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = check(&json(&out), "app_starts");
    assert_eq!(c["status"], "FAIL", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("undoes the plan"), "{c}");
}

#[test]
fn a_file_that_opts_out_of_its_runners_transaction_is_not_said_to_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("goose", tmp.path());
    fs::remove_file(dir.join("00009_add_tenant_id.sql")).unwrap();
    fs::write(
        dir.join("00003_rebuild.sql"),
        "-- +goose NO TRANSACTION\n-- +goose Up\nBEGIN;\nCREATE TABLE loyalty (x);\nCOMMIT;\n",
    )
    .unwrap();
    let out = cutover(&["execute", "--migrations", &s(&dir), "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&start("goose", &db, &dir)).contains("applied 0"));
}

#[test]
fn a_migration_applied_again_after_its_runner_took_it_back_is_recorded_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("goose", tmp.path());
    // goose's history: version 2 taken back (a row with is_applied 0 after its own).
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DELETE FROM sales; DELETE FROM customers; INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, 0);").unwrap();
    drop(conn);
    let out = cutover(&["dry-run", "--migrations", &s(&dir), "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(check(&json(&out), "ledger_recorded")["status"], "PASS");
}

#[test]
fn a_script_recorded_as_the_apps_migration_run_again_is_already_done() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let script = tmp.path().join("tenant.sql");
    fs::copy(dir.join("009_add_tenant_id.sql"), &script).unwrap();
    let file = s(&dir.join("009_add_tenant_id.sql"));
    let args = ["execute", "--script", &s(&script), "--migrations", &s(&dir), "--record-as", &file, "--yes", "--json"];
    assert!(cutover(&args, &db).status.success());
    let before = sha(&db);
    let again = cutover(&args, &db);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(json(&again)["already_done"], true, "{}", text(&again));
    assert_eq!(sha(&db), before);
}

#[test]
fn a_check_that_changes_production_stops_the_run_and_nothing_says_it_did_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let sneaky = format!("sqlite3 {} \"INSERT INTO customers (name) VALUES ('sneaky')\" # {{db}}", s(&db));
    let out = cutover(&["dry-run", "--migrations", &s(&dir), "--app-check", &sneaky, "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    assert_eq!(report["refusal"], "changed_during_check", "{report}");
    assert!(!text(&out).contains("was not changed"), "{}", text(&out));
}
