//! The wizard's ways back once the shop has written since the execute, by keys: the restore
//! that names what it discards and asks for a word, the undo in place offered first (and its
//! own y/N), none after a script, and the cutover back in force after the undo is rolled back.

use std::fs;

use crate::common::wizard::{press, type_text};
use crate::common::{Journal, make_db};
use crate::tui_app::{a_sale, executed_shop, opened, shop};
use cutover::engine::hashing::sha256_hex;
use cutover::tui::app::Modal;
use cutover::tui::mode::Focus;
use ratatui::crossterm::event::KeyCode;

#[test]
fn a_rollback_that_would_discard_new_sales_needs_the_typed_word() {
    let dir = tempfile::tempdir().unwrap();
    let (db, original) = executed_shop(dir.path());
    a_sale(&db);
    let after_sale = fs::read(&db).unwrap();
    let mut app = opened(&db);
    assert!(matches!(app.view.modal, Some(Modal::Resume { .. })));
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    let Some(Modal::WayBack(way)) = &app.view.modal else {
        panic!("the rollback must stop and offer the ways back: {:?}", app.view.modal);
    };
    assert_eq!(way.no_undo, None, "the tenant plan can be undone in place");
    assert_eq!(way.discards, "1 row in 1 table");
    press(&mut app, KeyCode::Char('d'));
    let Some(Modal::TypeToDiscard { lines, .. }) = &app.view.modal else {
        panic!("the restore must say what it would discard: {:?}", app.view.modal);
    };
    assert!(lines.iter().any(|l| l.contains("items: 1 row added")), "{lines:?}");
    assert_eq!(app.view.focus, Focus::Confirm);
    assert!(app.results.rolled_back.is_none());
    assert_eq!(fs::read(&db).unwrap(), after_sale, "nothing changed yet");

    type_text(&mut app, "disc");
    press(&mut app, KeyCode::Enter);
    assert!(app.results.rolled_back.is_none(), "a wrong word restores nothing");
    assert_eq!(fs::read(&db).unwrap(), after_sale);
    press(&mut app, KeyCode::Esc);
    assert!(app.view.modal.is_none() && app.results.rolled_back.is_none(), "Esc keeps the database as it is");

    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Char('d'));
    type_text(&mut app, "discard");
    press(&mut app, KeyCode::Enter);
    let rolled = app.results.rolled_back.clone().expect("restored once the word was typed");
    assert!(rolled.discarded.as_ref().is_some_and(|c| c.summary().contains("items: 1 row added")));
    assert_eq!(fs::read(&db).unwrap(), original);
}

#[test]
fn the_discard_dialog_keeps_its_prompt_on_an_80_by_24_screen() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "shop.db",
        Journal::Rollback,
        &format!(
            "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');{}",
            (0..22)
                .map(|i| format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY); INSERT INTO t{i} VALUES (1);"))
                .collect::<String>()
        ),
    );
    assert_cmd::Command::cargo_bin("cutover")
        .unwrap()
        .args(["execute", "--tenant", "acme", "--yes"])
        .arg(&db)
        .assert()
        .success();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for i in 0..22 {
        conn.execute(&format!("DELETE FROM t{i}"), []).unwrap();
    }
    drop(conn);
    let mut app = opened(&db);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Char('d'));
    let Some(Modal::TypeToDiscard { lines, .. }) = &app.view.modal else { panic!("{:?}", app.view.modal) };
    assert!(lines.len() <= 12, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("more")), "{lines:?}");
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| cutover::tui::ui::render(&app, f)).unwrap();
    let screen: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(screen.contains("Type  discard"), "the prompt is on screen:\n{screen}");
}

#[test]
fn after_a_resume_the_wizard_undoes_in_place_by_keys_and_keeps_the_sale() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = executed_shop(dir.path());
    let original_schema = {
        let fresh = tempfile::tempdir().unwrap();
        crate::common::state::schema(&shop(fresh.path()))
    };
    a_sale(&db);
    let before_undo = fs::read(&db).unwrap();
    let mut app = opened(&db);
    assert!(matches!(app.view.modal, Some(Modal::Resume { .. })));
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    assert!(matches!(app.view.modal, Some(Modal::WayBack(_))), "{:?}", app.view.modal);
    assert_eq!(fs::read(&db).unwrap(), before_undo, "nothing changed by offering");
    press(&mut app, KeyCode::Char('u'));
    let Some(Modal::ConfirmUndo { drops }) = &app.view.modal else { panic!("u asks first: {:?}", app.view.modal) };
    assert_eq!(drops, "drops tenant_id from 2 tables and 2 indexes");
    press(&mut app, KeyCode::Char('n'));
    assert!(app.view.modal.is_none() && !app.results.undone, "n changes nothing");
    assert_eq!(fs::read(&db).unwrap(), before_undo);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Char('u'));
    press(&mut app, KeyCode::Char('y'));
    let Some(Modal::Info { title, lines }) = &app.view.modal else { panic!("{:?}", app.view.modal) };
    assert_eq!(title, "Undone in place: verified", "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("1 row in 1 table written since the cutover")), "{lines:?}");
    assert!(app.results.undone && app.results.verification.as_ref().is_some_and(|v| v.ok));
    assert_eq!(crate::common::state::schema(&db), original_schema, "the schema of before the cutover");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let sold: i64 = conn.query_row("SELECT count(*) FROM items WHERE sku = 'Z9'", [], |r| r.get(0)).unwrap();
    drop(conn);
    assert_eq!(sold, 1, "the sale made after the cutover is kept");

    // The undo is rolled back by the same key, to the bytes before it.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    assert!(app.results.rolled_back.is_some(), "{:?}", app.view.modal);
    assert_eq!(fs::read(&db).unwrap(), before_undo);
}

#[test]
fn after_a_script_only_the_restore_is_offered_and_the_wizard_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let script = dir.path().join("change.sql");
    fs::write(&script, "UPDATE items SET name = 'hex bolt' WHERE sku = 'A1';").unwrap();
    assert_cmd::Command::cargo_bin("cutover")
        .unwrap()
        .args(["execute", "--yes", "--script"])
        .arg(&script)
        .arg(&db)
        .assert()
        .success();
    a_sale(&db);
    let mut app = opened(&db);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    let Some(Modal::WayBack(way)) = &app.view.modal else { panic!("{:?}", app.view.modal) };
    assert!(way.no_undo.as_deref().is_some_and(|w| w.contains("a script has no inverse")), "{way:?}");
    let before = fs::read(&db).unwrap();
    press(&mut app, KeyCode::Char('u'));
    assert!(matches!(app.view.modal, Some(Modal::WayBack(_))), "u does nothing without an undo");
    assert_eq!(fs::read(&db).unwrap(), before);
    press(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.view.modal, Some(Modal::TypeToDiscard { .. })));
}

#[test]
fn after_the_undo_is_rolled_back_the_wizard_rolls_the_cutover_back_by_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (db, original) = executed_shop(dir.path());
    let cli = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("cutover").unwrap().args(args).arg(&db).assert().success();
    };
    cli(&["rollback", "--undo", "--yes"]);
    cli(&["rollback", "--yes"]);
    let mut app = opened(&db);
    assert!(matches!(app.view.modal, Some(Modal::Resume { .. })), "the cutover is in force again");
    press(&mut app, KeyCode::Char('r'));
    let Some(Modal::ConfirmRollback { backup }) = &app.view.modal else { panic!("{:?}", app.view.modal) };
    assert_eq!(backup.sha256, sha256_hex(&original), "the y/N names the backup from before the cutover");
    press(&mut app, KeyCode::Char('y'));
    let Some(Modal::Info { title, lines }) = &app.view.modal else { panic!("{:?}", app.view.modal) };
    assert_eq!(title, "Rolled back: MATCH", "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("exactly as it was before the migration")), "{lines:?}");
    assert_eq!(fs::read(&db).unwrap(), original, "what it says is what the file is");
}
