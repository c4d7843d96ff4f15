//! The wizard keeps the database held from its backup to its execute, and lets go when the
//! technician leaves, goes back to the preflight, or waits too long: then the execute proves
//! the file unchanged by hashing it, and a write made meanwhile is refused, not lost.
//! (The test process holds the file itself here, so nothing in it reads the file by name while
//! it is held: closing such a descriptor would drop this process's locks.)

use std::time::Duration;

use crate::common::wizard::{press, type_text};
use crate::tui_app::{opened, shop};
use cutover::tui::app::{App, Step};
use cutover::tui::event::Event;
use ratatui::crossterm::event::KeyCode;
use rusqlite::Connection;

/// A write from another connection, failing at once when the file is locked.
fn sell(db: &std::path::Path) -> rusqlite::Result<usize> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(Duration::ZERO)?;
    conn.execute("INSERT INTO items (sku, name) VALUES ('C3', 'washer')", [])
}

fn backed_up(db: &std::path::Path) -> App {
    let mut app = opened(db);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert!(app.prepared.backup.is_some(), "the backup was made");
    app
}

/// Audit, plan, dry run and the typed confirmation, from the backup step.
fn to_execute(app: &mut App) {
    for _ in 0..3 {
        press(app, KeyCode::Enter);
    }
    assert!(app.prepared.dry_run().is_some_and(|d| d.ok), "the dry run passed");
    press(app, KeyCode::Enter);
    type_text(app, "acme");
    press(app, KeyCode::Enter);
}

#[test]
fn the_wizard_holds_the_database_from_its_backup_to_its_execute() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = backed_up(&db);
    assert!(app.hold.is_held());
    assert!(sell(&db).is_err_and(|e| e.to_string().contains("locked")), "a write got in after the backup");
    for _ in 0..3 {
        press(&mut app, KeyCode::Enter);
        assert!(app.hold.is_held(), "let go on {:?}", app.view.step);
        assert!(sell(&db).is_err(), "a write got in on {:?}", app.view.step);
    }
    assert!(app.prepared.dry_run().is_some_and(|d| d.ok), "audit and plan read through the hold, the dry run passed");
    assert!(app.hold_line().is_some_and(|l| l.contains("cannot use the database until Execute")));
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "acme");
    press(&mut app, KeyCode::Enter);
    let executed = app.results.executed.as_ref().expect("executed");
    assert!(executed.report.held_since_backup, "an untouched held file is not hashed again");
    assert!(executed.report.identical && app.results.verification.as_ref().is_some_and(|v| v.ok));
    assert!(!app.hold.is_held(), "the execute let go");
    assert_eq!(sell(&db).unwrap(), 1, "the shop can write again");
}

#[test]
fn an_idle_wizard_lets_go_and_a_write_made_meanwhile_stops_the_execute() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = backed_up(&db);
    app.hold_limit = Duration::ZERO;
    app.handle(Event::Tick);
    assert!(!app.hold.is_held(), "waiting too long lets go");
    let notice = app.view.notice.clone().unwrap_or_default();
    assert!(notice.contains("released the database (nothing pressed for 0 s)"), "{notice}");
    assert_eq!(sell(&db).unwrap(), 1, "the shop can write once let go");
    to_execute(&mut app);
    assert!(app.results.executed.is_none(), "the execute must not run over the shop's write");
    let title = match &app.view.modal {
        Some(cutover::tui::app::Modal::Error { title, .. }) => title.clone(),
        other => panic!("{other:?}"),
    };
    assert!(title.contains("the shop wrote since the backup; nothing changed"), "{title}");
    let conn = Connection::open(&db).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM items WHERE sku = 'C3'", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 1, "the shop's write is kept");
    let columns: i64 = conn
        .query_row("SELECT count(*) FROM pragma_table_info('items') WHERE name = 'tenant_id'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(columns, 0, "nothing was migrated");
}

#[test]
fn an_idle_wizard_that_let_go_still_executes_an_untouched_file_by_hashing_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = backed_up(&db);
    app.hold_limit = Duration::ZERO;
    app.handle(Event::Tick);
    assert!(!app.hold.is_held());
    app.hold_limit = cutover::tui::app::HOLD_IDLE_LIMIT;
    to_execute(&mut app);
    let executed = app.results.executed.as_ref().expect("executed");
    assert!(!executed.report.held_since_backup, "let go: proven by hashing the file under the lock");
    assert!(app.results.verification.as_ref().is_some_and(|v| v.ok));
}

#[test]
fn going_back_to_the_preflight_or_quitting_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = backed_up(&db);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.view.step, Step::Preflight);
    assert!(!app.hold.is_held());
    assert!(sell(&db).is_ok());

    let mut app = backed_up(&db);
    assert!(app.hold.is_held());
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit && !app.hold.is_held(), "q lets go before the wizard leaves");
}

#[test]
fn a_failed_dry_run_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let script = dir.path().join("bad.sql");
    std::fs::write(&script, "ALTER TABLE items ADD COLUMN x TEXT;\nINSERT INTO nowhere VALUES (1);\n").unwrap();
    let mut app = App::new(db.clone(), Some(script), cutover::tui::theme::Theme::new(false));
    let effects = app.start();
    crate::common::wizard::settle(&mut app, effects);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert!(app.hold.is_held());
    for _ in 0..3 {
        press(&mut app, KeyCode::Enter);
    }
    assert!(app.prepared.dry_run().is_none(), "the script fails on the copy");
    assert!(!app.hold.is_held(), "execute stays locked, so the shop need not wait");
    assert!(sell(&db).is_ok());
}

#[test]
fn a_file_replaced_while_held_is_let_go_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = backed_up(&db);
    assert!(app.hold.is_held());
    // Another file renamed over the name: the hold keeps the old one, which shuts out no one.
    let other = dir.path().join("other.db");
    std::fs::copy(&app.prepared.backup.as_ref().unwrap().path, &other).unwrap();
    let renamed = std::fs::rename(&other, &db);
    if cfg!(windows) {
        // Windows refuses to replace a file open without delete sharing: the hold stands.
        assert!(renamed.is_err(), "a held file was replaced");
        app.handle(Event::Tick);
        assert!(app.hold.is_held());
        return;
    }
    renamed.unwrap();
    app.handle(Event::Tick);
    assert!(!app.hold.is_held(), "a hold on a file no longer at the path is let go");
    assert!(app.hold_line().is_none(), "and HELD is not shown");
    let notice = app.view.notice.clone().unwrap_or_default();
    assert!(notice.contains("changed or was replaced since the backup"), "{notice}");
}
