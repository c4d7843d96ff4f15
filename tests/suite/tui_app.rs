//! The wizard's state machine driven by synthetic key events through every step to the
//! dashboard and a rollback, with the real engine jobs run on the test's thread.

use std::fs;
use std::path::Path;

use crate::common::wizard::{press, settle, type_text};
use crate::common::{Journal, make_db};
use cutover::engine::hashing::sha256_hex;
use cutover::tui::app::{App, Effect, Modal, Step};
use cutover::tui::event::Event;
use cutover::tui::mode::Action;
use cutover::tui::mode::Focus;
use cutover::tui::theme::Theme;
use cutover::tui::worker;
use cutover::tui::worker::JobMessage;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn shop(dir: &Path) -> std::path::PathBuf {
    make_db(
        dir,
        "shop.db",
        Journal::Wal,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT);
         INSERT INTO items (sku, name) VALUES ('A1', 'bolt'), ('B2', 'nut');
         CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
         CREATE VIEW v_items AS SELECT name FROM items;",
    )
}

pub(crate) fn opened(db: &Path) -> App {
    let mut app = App::new(db.to_path_buf(), None, Theme::new(false));
    let effects = app.start();
    settle(&mut app, effects);
    app
}

#[test]
fn keys_walk_every_step_to_verify_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let original = sha256_hex(&fs::read(&db).unwrap());
    let mut app = opened(&db);
    assert_eq!(app.view.step, Step::Preflight);
    assert!(app.prepared.preflight.as_ref().is_some_and(|p| !p.in_use()));

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Backup);
    press(&mut app, KeyCode::Enter);
    let backup = app.prepared.backup.clone().expect("the backup was made");
    assert_eq!(backup.sha256, original);

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Audit);
    assert_eq!(app.choices.tenant.text, "acme", "the registry's only tenant is pre-filled");

    // Filter, then leave `notes` out with space.
    press(&mut app, KeyCode::Char('/'));
    assert_eq!(app.view.focus, Focus::Filter);
    type_text(&mut app, "not");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.visible_tables().len(), 1);
    press(&mut app, KeyCode::Char(' '));
    assert!(app.choices.excluded.contains("notes"));
    press(&mut app, KeyCode::Esc); // nothing typed: Esc goes back a step, never quits
    assert_eq!(app.view.step, Step::Backup);
    assert!(!app.quit);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Audit);

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Plan);
    let plan = app.prepared.plan().cloned().expect("plan built");
    assert!(plan.statements.iter().all(|s| !s.sql.contains("\"notes\"")), "notes was left out");
    assert!(plan.statements.iter().any(|s| s.sql.contains("ALTER TABLE \"items\"")));

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::DryRun);
    assert!(app.prepared.dry_run().is_some_and(|d| d.ok), "the dry run passed");
    assert_eq!(sha256_hex(&fs::read(&db).unwrap()), original, "the dry run did not touch the database");

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Execute);
    assert!(matches!(app.view.modal, Some(Modal::TypeToExecute { .. })));
    type_text(&mut app, "acm");
    press(&mut app, KeyCode::Enter);
    assert!(app.results.executed.is_none(), "a wrong confirmation does not execute");
    type_text(&mut app, "e");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Verify);
    assert!(app.results.verification.as_ref().is_some_and(|v| v.ok));
    assert_ne!(sha256_hex(&fs::read(&db).unwrap()), original, "executed");

    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit, "after a verified execute, q quits at once");
    app.quit = false;

    press(&mut app, KeyCode::Char('r'));
    assert!(matches!(app.view.modal, Some(Modal::ConfirmRollback { .. })));
    press(&mut app, KeyCode::Char('n'));
    assert!(app.view.modal.is_none());
    assert_ne!(sha256_hex(&fs::read(&db).unwrap()), original, "n keeps the migration");
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    let rolled = app.results.rolled_back.clone().expect("rolled back");
    assert_eq!(rolled.restored_sha256, original);
    assert_eq!(sha256_hex(&fs::read(&db).unwrap()), original, "the original bytes are back");
    assert!(matches!(app.view.modal, Some(Modal::Info { .. })));
}

#[test]
fn execute_before_a_passed_dry_run_is_impossible() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = opened(&db);
    for _ in 0..3 {
        press(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.view.step, Step::Audit);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Plan);
    // Jumping straight to execute: there is no rehearsal, so no confirmation and no job.
    app.view.step = Step::Execute;
    assert_eq!(app.mode().next, None);
    press(&mut app, KeyCode::Enter);
    assert!(app.view.modal.is_none() && app.results.executed.is_none());
    // A rehearsal of another plan does not count either.
    app.view.step = Step::Plan;
    press(&mut app, KeyCode::Enter);
    assert!(app.rehearsal().is_some());
    app.prepared.planned.as_mut().unwrap().plan.sha256 = "another plan".into();
    assert!(app.rehearsal().is_none(), "a dry run only unlocks the plan it rehearsed");
}

#[test]
fn rollback_without_a_backup_is_impossible() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = opened(&db);
    app.view.step = Step::Verify;
    let effects = app.update(Action::Rollback);
    assert!(effects.is_empty());
    assert!(app.view.modal.is_none(), "no confirmation is offered without a backup");
    assert!(app.view.notice.as_deref().unwrap().contains("no backup"));
}

#[test]
fn esc_never_quits_and_q_asks_while_work_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = App::new(db, None, Theme::new(false));
    let effects = app.start(); // the preflight job is now "running"
    assert_eq!(effects.len(), 1);
    for _ in 0..5 {
        app.handle(Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        assert!(!app.quit);
    }
    app.handle(Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)));
    assert!(!app.quit);
    assert_eq!(app.view.modal, Some(Modal::ConfirmStop));
    app.handle(Event::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)));
    assert!(app.job.as_ref().unwrap().cancel.is_set(), "y asks the job to stop safely");
    app.handle(Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(!app.quit, "Ctrl-C during work never quits at once");
}

// Python stands in for the shop's application; chattr and mount are Linux tools.
#[cfg(unix)]
#[test]
fn a_database_in_use_is_shown_and_blocks_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let holder = crate::common::Holder::start(&db, crate::common::Hold::Idle);
    let mut app = opened(&db);
    assert!(app.prepared.preflight.as_ref().unwrap().in_use());
    assert_eq!(app.mode().next, Some("re-check"));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Preflight, "Enter re-checks instead of moving on");
    drop(holder);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Backup);
}

#[test]
fn the_journal_offers_to_resume_after_an_execute() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let original = sha256_hex(&fs::read(&db).unwrap());
    assert_cmd::Command::cargo_bin("cutover")
        .unwrap()
        .args(["execute", "--tenant", "acme", "--yes"])
        .arg(&db)
        .assert()
        .success();
    let mut app = opened(&db);
    assert!(
        matches!(app.view.modal, Some(Modal::Resume { .. })),
        "a migrated database offers verify / roll back / start over"
    );
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(app.view.step, Step::Verify);
    assert!(app.results.verification.as_ref().is_some_and(|v| v.ok));
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    assert!(app.results.rolled_back.is_some());
    assert_eq!(sha256_hex(&fs::read(&db).unwrap()), original);

    // Rolled back: nothing left to resume.
    let app = opened(&db);
    assert!(app.view.modal.is_none());
}

/// A sale written by the shop's application after the execute, which closes cleanly.
pub(crate) fn a_sale(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("INSERT INTO items (sku, name) VALUES ('Z9', 'sold after the cutover')", []).unwrap();
}

pub(crate) fn executed_shop(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let db = shop(dir);
    let original = fs::read(&db).unwrap();
    assert_cmd::Command::cargo_bin("cutover")
        .unwrap()
        .args(["execute", "--tenant", "acme", "--yes"])
        .arg(&db)
        .assert()
        .success();
    (db, original)
}

#[test]
fn verify_after_the_shop_traded_says_changed_since_the_execute() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = executed_shop(dir.path());
    a_sale(&db);
    let mut app = opened(&db);
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(app.view.step, Step::Verify);
    let changed = app.results.changed_since.clone().expect("the wizard says the file changed since the execute");
    assert!(changed.contains("items: 1 row added"), "{changed}");
    assert!(app.results.verification.as_ref().is_some_and(|v| v.ok), "the migration itself is intact");
}

#[test]
fn processes_that_cannot_be_looked_into_need_the_technicians_word() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = opened(&db);
    // As a user without the rights to look into another user's process would see it.
    app.prepared.preflight.as_mut().unwrap().unseen =
        vec![cutover::engine::inuse::Unseen { pid: 812, name: "pos-server".into(), user: "pos".into() }];
    assert!(app.awaits_stop_confirmation());
    assert_eq!(app.mode().next, Some("re-check"), "Enter only checks again");
    let effects = app.update(Action::Continue);
    assert!(matches!(effects.as_slice(), [Effect::Start(worker::Job::Preflight { confirmed_stopped: false, .. }, _)]));
    app.job = None;
    app.update(Action::ConfirmStopped);
    assert!(
        matches!(app.view.modal, Some(Modal::ConfirmStopped { ref unseen }) if unseen.contains("pid 812 (pos-server, user pos)"))
    );
    let effects = app.update(Action::Yes);
    assert!(app.choices.confirmed_stopped);
    assert!(matches!(effects.as_slice(), [Effect::Start(worker::Job::Preflight { confirmed_stopped: true, .. }, _)]));
}

#[test]
fn a_backup_damaged_after_the_dry_run_keeps_the_database_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let original = fs::read(&db).unwrap();
    let mut app = opened(&db);
    for _ in 0..5 {
        press(&mut app, KeyCode::Enter);
    }
    assert!(app.prepared.dry_run().is_some_and(|d| d.ok));
    let backup = app.prepared.backup.clone().unwrap().path;
    let len = fs::metadata(&backup).unwrap().len() as usize;
    fs::write(&backup, vec![0x5a; len]).unwrap();
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "acme");
    press(&mut app, KeyCode::Enter);
    assert!(app.results.executed.is_none(), "execute must not run without a good backup");
    assert!(
        matches!(&app.view.modal, Some(Modal::Error { message, .. }) if message.contains("no longer matches")),
        "{:?}",
        app.view.modal
    );
    assert_eq!(fs::read(&db).unwrap(), original);
}

#[test]
fn an_error_after_the_commit_makes_q_ask_before_quitting() {
    use cutover::engine::Error;
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let mut app = opened(&db);
    app.job = None;
    let err = Error::AfterCommit {
        path: db.clone(),
        what: "writing the report".into(),
        cause: "disk full".into(),
        verification: None,
    };
    app.handle(Event::Job(JobMessage::Done(worker::JobKind::Execute, Err(err))));
    assert!(matches!(&app.view.modal, Some(Modal::Error { title, .. }) if title.contains("IS committed")));
    assert!(app.migrated_unverified());
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.quit, "a committed, unverified change is not left without a question");
    assert!(matches!(app.view.modal, Some(Modal::ConfirmQuit { .. })));
}

// Python stands in for the shop's application.
#[cfg(unix)]
#[test]
fn the_resume_offer_waits_until_the_file_can_be_looked_at() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = executed_shop(dir.path());
    let holder = crate::common::Holder::start(&db, crate::common::Hold::Idle);
    let mut app = opened(&db);
    assert!(
        !matches!(app.view.modal, Some(Modal::Resume { .. })),
        "no claims about a file in use: {:?}",
        app.view.modal
    );
    assert!(app.prepared.preflight.as_ref().unwrap().in_use());
    drop(holder);
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.view.modal, Some(Modal::Resume { .. })), "{:?}", app.view.modal);
}
