//! The isolation fix in the wizard, by keys: `i` from the first screen once the tenant column
//! is in place (and never before), or from the dashboard of a migration; the Isolation list
//! with its toggles; the rebuild through backup, dry run, execute and the dashboard; and `r`
//! putting the exact bytes back.

use std::fs;

use crate::common::shop::{cutover, text};
use crate::common::wizard::{press, type_text};
use crate::tui_app::{opened, shop};
use cutover::engine::hashing::sha256_hex;
use cutover::engine::{Concern, Status};
use cutover::tui::app::{Modal, Step};
use ratatui::crossterm::event::KeyCode;

fn migrated(dir: &std::path::Path) -> std::path::PathBuf {
    let db = shop(dir);
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    db
}

#[test]
fn isolation_is_offered_only_once_the_tenant_column_is_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = opened(&db);
    assert!(!app.mode().can_isolate, "before the migration there is nothing to isolate");
    press(&mut app, KeyCode::Char('i'));
    assert!(!app.choices.isolation);
    assert_eq!(app.view.step, Step::Preflight);
}

#[test]
fn the_isolation_fix_runs_by_keys_from_the_first_screen_and_r_gives_the_bytes_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(dir.path());
    let before = sha256_hex(&fs::read(&db).unwrap());
    let mut app = opened(&db);
    assert!(matches!(app.view.modal, Some(Modal::Resume { .. })), "{:?}", app.view.modal);
    press(&mut app, KeyCode::Char('s'));
    assert!(app.mode().can_isolate);
    press(&mut app, KeyCode::Char('i'));
    assert!(app.choices.isolation);
    assert!(app.view.modal.is_none(), "a settled journal is not offered again: {:?}", app.view.modal);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.prepared.backup.as_ref().map(|b| b.sha256.clone()), Some(before.clone()));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Audit);
    let rows: Vec<String> = app.isolation_rows().iter().map(|f| f.written.clone()).collect();
    assert_eq!(rows.first().map(String::as_str), Some("UNIQUE (\"sku\")"), "the keys come first: {rows:?}");
    let second =
        app.prepared.isolation.as_ref().and_then(|r| r.second_tenant.clone()).expect("a second tenant was tried");
    assert!(second.blocked.iter().any(|b| b.by.ends_with("items.sku")), "{second:?}");

    // Space on a view row changes nothing: views are reported, not rebuilt.
    let view_at = app.isolation_rows().iter().position(|f| matches!(f.concern, Concern::View { .. })).unwrap();
    for _ in 0..view_at {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char(' '));
    assert!(app.view.notice.as_deref().is_some_and(|n| n.contains("reported for a person")), "{:?}", app.view.notice);
    assert_eq!(app.choices.keys, None);
    // Off and on again: the key is chosen.
    for _ in 0..view_at {
        press(&mut app, KeyCode::Up);
    }
    press(&mut app, KeyCode::Char(' '));
    assert!(!app.key_chosen(app.isolation_rows()[0]));
    assert_eq!(app.next(), None, "no key chosen, no plan");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Audit);
    press(&mut app, KeyCode::Char(' '));
    assert!(app.key_chosen(app.isolation_rows()[0]));

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Plan);
    let plan = app.prepared.plan().cloned().expect("the rebuild is planned");
    assert_eq!(plan.rebuild().map(|r| r.keys.len()), Some(1), "{:?}", plan.rebuild());
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::DryRun);
    let dry = app.prepared.dry_run().cloned().expect("rehearsed");
    assert!(dry.ok, "{:?}", dry.verification);
    let rebuilt = dry.verification.checks.iter().find(|c| c.name == "constraints_rebuilt").unwrap();
    assert_eq!(rebuilt.status, Status::Pass, "{rebuilt:?}");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "shop.db");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Verify);
    assert!(app.results.verification.as_ref().is_some_and(|v| v.ok), "{:?}", app.results.verification);
    let sql: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 'items'", [], |r| r.get(0))
        .unwrap();
    assert!(sql.contains("UNIQUE (\"tenant_id\", \"sku\")"), "{sql}");
    let report = fs::read_to_string(db.with_file_name("shop.db.cutover/reports/isolation.md")).unwrap();
    assert!(report.contains("## Before the fix") && report.contains("## After the fix"), "{report}");
    assert!(!app.mode().can_isolate, "not offered again in the same run");

    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    assert!(app.results.rolled_back.is_some());
    assert_eq!(sha256_hex(&fs::read(&db).unwrap()), before, "r gives the bytes of before the fix back");
}

#[test]
fn the_dashboard_of_a_migration_offers_the_isolation_fix() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = opened(&db);
    for _ in 0..5 {
        press(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.view.step, Step::DryRun);
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "acme");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Verify);
    assert!(app.mode().can_isolate, "a verified migration offers isolation");
    press(&mut app, KeyCode::Char('i'));
    assert!(app.choices.isolation);
    assert_eq!(app.view.step, Step::Preflight);
    assert!(app.results.executed.is_none() && app.prepared.backup.is_none(), "a new run, with its own backup");
}

#[test]
fn a_write_after_the_backup_stops_the_execute_and_the_backup_step_makes_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(dir.path());
    let mut app = opened(&db);
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('i'));
    for _ in 0..5 {
        press(&mut app, KeyCode::Enter);
    }
    assert!(app.prepared.dry_run().is_some_and(|d| d.ok), "the dry run passed");
    let old = app.prepared.backup.as_ref().map(|b| b.sha256.clone()).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("INSERT INTO notes (body) VALUES ('written meanwhile')", [])
        .unwrap();
    let written = sha256_hex(&fs::read(&db).unwrap());
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "shop.db");
    press(&mut app, KeyCode::Enter);
    let Some(Modal::Error { title, .. }) = &app.view.modal else { panic!("{:?}", app.view.modal) };
    assert!(title.contains("the shop wrote since the backup"), "{title}");
    assert!(
        app.prepared.backup.is_none() && app.prepared.rehearsed.is_none(),
        "the old backup is not shown as current"
    );
    assert_eq!(sha256_hex(&fs::read(&db).unwrap()), written, "nothing changed");
    press(&mut app, KeyCode::Esc);
    while app.view.step != Step::Backup {
        press(&mut app, KeyCode::Esc);
    }
    press(&mut app, KeyCode::Enter);
    let new = app.prepared.backup.as_ref().map(|b| b.sha256.clone()).expect("a new backup");
    assert_ne!(new, old);
    assert_eq!(new, written, "of the file as it is now");
}
