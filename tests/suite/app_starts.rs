//! The job is done when the shop's application starts again: EasySale's runner (a name ledger,
//! one statement at a time) beside cutover's tenant plan, `--record-as`, rollbacks and undo,
//! `--app-check`, a ledger without its folder, and tables that are only named like ledgers.
// Python is the shop's application here.
#![cfg(unix)]

use std::fs;

use crate::app_runners::{built_by, start};
use crate::common::shop::{cutover, json, text};
use crate::common::state::sha;
use crate::common::{Journal, check, make_db, snapshot};

#[test]
fn the_tenant_plan_beside_the_apps_own_tenant_migration_fails_its_rehearsal_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let files = snapshot(tmp.path());
    let dirs = dir.to_string_lossy().into_owned();
    for phase in ["dry-run", "execute"] {
        let mut args = vec![phase, "--tenant", "harbor", "--migrations", &dirs, "--json"];
        if phase == "execute" {
            args.push("--yes");
        }
        let out = cutover(&args, &db);
        assert_eq!(out.status.code(), Some(1), "{phase}: {}", text(&out));
        let starts = check(&json(&out), "app_starts");
        assert_eq!(starts["status"], "FAIL", "{phase}: {starts}");
        let detail = starts["detail"].as_str().unwrap();
        assert!(
            detail.contains("009_add_tenant_id.sql") && detail.contains("duplicate column name: tenant_id"),
            "{detail}"
        );
        assert!(detail.contains("--record-as") && detail.contains("--migrations"), "offers both ways out: {detail}");
    }
    let after = snapshot(tmp.path());
    assert_eq!(after.get("shop.db"), files.get("shop.db"), "the database is byte-identical");
}

#[test]
fn the_app_starts_after_the_tenant_plan_recorded_as_its_migration_and_again_after_a_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let original = sha(&db);
    let file = dir.join("009_add_tenant_id.sql");
    let (dirs, files) = (dir.to_string_lossy().into_owned(), file.to_string_lossy().into_owned());
    let out = cutover(
        &["execute", "--tenant", "harbor", "--migrations", &dirs, "--record-as", &files, "--yes", "--json"],
        &db,
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&out);
    assert_eq!(check(&report, "app_starts")["status"], "PASS");
    assert_eq!(check(&report, "ledger_recorded")["status"], "PASS");
    let ran = start("names", &db, &dir);
    assert!(text(&ran).contains("started: applied 0"), "{}", text(&ran));

    // Restoring the backup takes the ledger row back with the column: 009 is pending again,
    // and the application applies it itself, as before the cutover.
    let back = cutover(&["rollback", "--yes", "--json"], &db);
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(sha(&db), original);
    let ran = start("names", &db, &dir);
    assert!(text(&ran).contains("started: applied 1"), "{}", text(&ran));
}

#[test]
fn undo_in_place_takes_the_recorded_row_out_with_the_column() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let file = dir.join("009_add_tenant_id.sql");
    let (dirs, files) = (dir.to_string_lossy().into_owned(), file.to_string_lossy().into_owned());
    let out = cutover(&["execute", "--tenant", "harbor", "--migrations", &dirs, "--record-as", &files, "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let undo = cutover(&["rollback", "--undo", "--yes", "--json"], &db);
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(check(&json(&undo), "ledger_recorded")["status"], "PASS", "{}", text(&undo));
    let ran = start("names", &db, &dir);
    assert!(text(&ran).contains("started: applied 1"), "the app applies its own 009 again: {}", text(&ran));
}

#[test]
fn the_app_check_runs_the_shops_program_on_a_copy_and_production_waits_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let runner = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runners/app_runner.py");
    let command = format!("python3 {} names {{db}} {}", runner.display(), dir.display());
    let before = sha(&db);
    let out = cutover(&["execute", "--tenant", "harbor", "--app-check", &command, "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = check(&json(&out), "app_check");
    assert_eq!(c["status"], "FAIL");
    assert!(c["detail"].as_str().unwrap().contains("duplicate column name"), "its last lines of output: {c}");
    assert_eq!(sha(&db), before, "production is never touched before the program passes");
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("app-check"))
        .collect();
    assert!(leftovers.is_empty(), "the program's copy is removed");

    let file = dir.join("009_add_tenant_id.sql").to_string_lossy().into_owned();
    let dirs = dir.to_string_lossy().into_owned();
    let args = [
        "execute",
        "--tenant",
        "harbor",
        "--migrations",
        &dirs,
        "--record-as",
        &file,
        "--app-check",
        &command,
        "--yes",
        "--json",
    ];
    let out = cutover(&args, &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(check(&json(&out), "app_check")["status"], "PASS");
}

#[test]
fn a_ledger_without_its_folder_is_a_warning_never_silence() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = built_by("sqlx", tmp.path());
    let out = cutover(&["dry-run", "--tenant", "harbor", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let c = check(&json(&out), "app_starts");
    assert_eq!(c["status"], "WARN");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("_sqlx_migrations") && detail.contains("2 recorded") && detail.contains("--migrations"),
        "{detail}"
    );
}

#[test]
fn a_table_only_named_like_a_ledger_is_left_alone_and_said_so() {
    let tmp = tempfile::tempdir().unwrap();
    let db = make_db(
        tmp.path(),
        "birds.db",
        Journal::Rollback,
        "CREATE TABLE migrations (id INTEGER PRIMARY KEY, species TEXT NOT NULL, route TEXT, seen_at TEXT);
         CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, station TEXT NOT NULL);
         INSERT INTO migrations (species, route, seen_at) VALUES ('arctic tern', 'pole to pole', '2026-05-01');
         INSERT INTO schema_migrations VALUES ('v1', 'north');",
    );
    let audit = json(&cutover(&["audit", "--json"], &db));
    assert_eq!(audit["ledgers"]["ledgers"].as_array().unwrap().len(), 0, "{audit}");
    let not = audit["ledgers"]["not_ledgers"].as_array().unwrap();
    assert_eq!(not.len(), 2, "{audit}");
    let birds = audit["tables"].as_array().unwrap().iter().find(|t| t["name"] == "migrations").unwrap();
    assert_eq!(birds["decision"], "migrate", "the application's own data gets its tenant: {birds}");
    assert!(birds["reason"].as_str().unwrap().contains("not a migration ledger"), "{birds}");
    let text_audit = text(&cutover(&["audit"], &db));
    assert!(text_audit.contains("Not a ledger migrations"), "{text_audit}");

    let dir = tmp.path().join("app");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("001_x.sql"), "CREATE TABLE x (a);\n").unwrap();
    let before = sha(&db);
    let out = cutover(&["execute", "--migrations", &dir.to_string_lossy(), "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "no_ledger");
    assert!(text(&out).contains("migrations:") && text(&out).contains("--ledger"), "{}", text(&out));
    assert_eq!(sha(&db), before);
}

#[test]
fn a_name_ledger_whose_names_are_not_the_folders_files_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = built_by("names", tmp.path());
    let other = tmp.path().join("elsewhere");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("001_other.sql"), "CREATE TABLE other (a);\n").unwrap();
    let out = cutover(&["dry-run", "--migrations", &other.to_string_lossy(), "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "names_do_not_match", "{}", text(&out));
}

#[test]
fn an_unknown_ledger_kind_is_refused_with_the_list_of_known_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("names", tmp.path());
    let out = cutover(&["dry-run", "--migrations", &dir.to_string_lossy(), "--ledger", "liquibase"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for kind in ["names", "sqlx", "refinery", "diesel", "goose", "dbmate", "flyway", "prisma"] {
        assert!(text(&out).contains(kind), "{}", text(&out));
    }
}

#[test]
fn a_ledger_under_a_configured_table_name_is_found_when_its_kind_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("sqlx", tmp.path());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("ALTER TABLE _sqlx_migrations RENAME TO app_schema_log;").unwrap();
    drop(conn);
    let dirs = dir.to_string_lossy().into_owned();
    let out = cutover(&["dry-run", "--migrations", &dirs, "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "not found by its name: {}", text(&out));
    assert_eq!(json(&out)["refusal"], "no_ledger");
    let out = cutover(&["execute", "--migrations", &dirs, "--ledger", "sqlx", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(check(&json(&out), "app_starts")["status"], "PASS");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM app_schema_log", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 3, "the row went to the table the application names");
}
