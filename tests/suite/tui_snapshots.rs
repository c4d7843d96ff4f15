//! Every screen of the wizard at 80×24, rendered to a test backend and snapshotted (hashes,
//! times, paths and dates filtered out), including the error panel and the dialogs.

use std::fs;
use std::path::Path;

use crate::common::wizard::{press, settle};
use crate::common::{Journal, make_db};
use cutover::tui::app::{App, Step};
use cutover::tui::event::Event;
use cutover::tui::theme::Theme;
use cutover::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The screen as text, one line per row.
fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| ui::render(app, f)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

macro_rules! snap {
    ($name:expr, $app:expr) => {
        insta::with_settings!({
            filters => vec![
                (r"/[^\s]*/\.tmp[A-Za-z0-9]+", "[DIR]"),
                // The same folder under Windows: C:\users\…\Temp\.tmpXXXX\shop.db
                (r"[A-Z]:\\[^\s]*\\\.tmp[A-Za-z0-9]+\\", "[DIR]/"),
                (r"\.cutover\\reports", ".cutover/reports"),
                (r"[0-9a-f]{64}", "[SHA256]"),
                (r"\b[0-9a-f]{12,16}\b", "[HASH]"),
                // A second backup in the same second is named `…-2`: the padding after it varies.
                (r"\d{8}-\d{6}(-\d+)?", "[STAMP]"),
                (r"\[STAMP\] +│", "[STAMP] │"),
                (r"\d+\.\d+ s\b", "[T] s"),
                (r"\d+(\.\d)? (GiB|MiB|KiB|TiB) free", "[FREE] free"),
                (r"SQLite( +)\d+\.\d+\.\d+", "SQLite$1[VERSION]"),
            ],
            prepend_module_to_snapshot => false,
            snapshot_path => "../snapshots",
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, screen(&$app));
        });
    };
}

/// A temp folder whose path is as long on every system (`/tmp/.tmpXXXXXX`, `C:\t\.tmpXXXXXX`),
/// so dialogs that show it wrap the same way in every snapshot.
fn snapshot_dir() -> tempfile::TempDir {
    let base = if cfg!(windows) { std::path::PathBuf::from(r"C:\t") } else { std::path::PathBuf::from("/tmp") };
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

fn shop(dir: &Path) -> std::path::PathBuf {
    make_db(
        dir,
        "shop.db",
        Journal::Rollback,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE _migrations (version INTEGER PRIMARY KEY, name TEXT UNIQUE);
         CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT);
         INSERT INTO items (sku, name) VALUES ('A1', 'bolt'), ('B2', 'nut');
         CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
         CREATE VIRTUAL TABLE docs USING fts5(body);
         CREATE VIEW v_items AS SELECT name FROM items;
         CREATE TRIGGER trg AFTER INSERT ON items BEGIN UPDATE kv SET v = NEW.name WHERE k = 'last'; END;",
    )
}

#[test]
fn every_screen_at_80_by_24() {
    let dir = snapshot_dir();
    let db = shop(dir.path());
    let mut app = App::new(db, None, Theme::new(false));
    let effects = app.start();
    settle(&mut app, effects);
    snap!("01_preflight", app);
    press(&mut app, KeyCode::Enter);
    snap!("02_backup_ready", app);
    press(&mut app, KeyCode::Enter);
    snap!("03_backup_match", app);
    press(&mut app, KeyCode::Enter);
    snap!("04_audit", app);
    press(&mut app, KeyCode::Char('?'));
    snap!("05_help", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    snap!("06_plan", app);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::DryRun);
    snap!("07_dry_run_passed", app);
    press(&mut app, KeyCode::Enter);
    snap!("08_confirm_execute", app);
    for c in "acme".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Verify);
    snap!("09_verify", app);
    press(&mut app, KeyCode::Enter);
    snap!("10_verify_drill_down", app);
    press(&mut app, KeyCode::Char('r'));
    snap!("11_confirm_rollback", app);
    press(&mut app, KeyCode::Char('y'));
    snap!("12_rolled_back", app);
}

#[test]
fn error_panel_for_a_failing_script() {
    let dir = snapshot_dir();
    let db = shop(dir.path());
    let script = dir.path().join("change.sql");
    fs::write(&script, "UPDATE items SET name = 'x' WHERE id = 1;\nINSERT INTO missing VALUES (1);\n").unwrap();
    let mut app = App::new(db, Some(script), Theme::new(false));
    let effects = app.start();
    settle(&mut app, effects);
    for _ in 0..5 {
        press(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.view.step, Step::DryRun);
    snap!("20_error_panel", app);
}

#[test]
fn stop_dialog_while_work_runs() {
    let dir = snapshot_dir();
    let db = shop(dir.path());
    let mut app = App::new(db, None, Theme::new(false));
    let _running = app.start();
    app.handle(Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)));
    let text = screen(&app);
    assert!(text.contains("Work is running. Stop it safely?"), "{text}");
    assert!(text.contains("y stop"), "{text}");
}

#[test]
fn no_color_still_says_it_in_words() {
    let dir = snapshot_dir();
    let db = shop(dir.path());
    let mut app = App::new(db, None, Theme::new(false));
    let effects = app.start();
    settle(&mut app, effects);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| ui::render(&app, f)).unwrap();
    let buffer = terminal.backend().buffer();
    let colored =
        buffer.content.iter().any(|c| c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset);
    assert!(!colored, "NO_COLOR: no cell may carry a colour");
    assert!(screen(&app).contains("MATCH"));
}

#[test]
fn every_screen_fits_larger_and_resized_terminals() {
    let dir = snapshot_dir();
    let db = shop(dir.path());
    let mut app = App::new(db, None, Theme::new(true));
    let effects = app.start();
    settle(&mut app, effects);
    for _ in 0..5 {
        for (w, h) in [(80, 24), (120, 40), (200, 60), (81, 25)] {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| ui::render(&app, f)).unwrap();
        }
        press(&mut app, KeyCode::Enter);
    }
}

/// The shop migrated by `cutover execute`, then trading: a sale the restore would discard.
fn executed_and_traded(dir: &Path, script: Option<&Path>) -> std::path::PathBuf {
    let db = shop(dir);
    let mut cmd = assert_cmd::Command::cargo_bin("cutover").unwrap();
    match script {
        Some(s) => cmd.args(["execute", "--yes", "--script"]).arg(s),
        None => cmd.args(["execute", "--tenant", "acme", "--yes"]),
    };
    cmd.arg(&db).assert().success();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("INSERT INTO items (sku, name) VALUES ('Z9', 'sold after the cutover')", []).unwrap();
    db
}

#[test]
fn undo_in_place_after_a_resume_at_80_by_24() {
    let dir = snapshot_dir();
    let db = executed_and_traded(dir.path(), None);
    let mut app = App::new(db, None, Theme::new(false));
    let effects = app.start();
    settle(&mut app, effects);
    snap!("30_resume_offer", app);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    snap!("31_way_back", app);
    press(&mut app, KeyCode::Char('u'));
    snap!("31b_confirm_undo", app);
    press(&mut app, KeyCode::Char('y'));
    snap!("32_undone", app);
    press(&mut app, KeyCode::Esc);
    snap!("33_undone_dashboard", app);
}

#[test]
fn after_a_script_the_way_back_says_there_is_no_undo() {
    let dir = snapshot_dir();
    let script = dir.path().join("change.sql");
    fs::write(&script, "UPDATE items SET name = 'hex bolt' WHERE sku = 'A1';").unwrap();
    let db = executed_and_traded(dir.path(), Some(&script));
    let mut app = App::new(db, None, Theme::new(false));
    let effects = app.start();
    settle(&mut app, effects);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    snap!("34_way_back_script", app);
}

#[test]
fn the_isolation_fix_from_the_dashboard_at_80_by_24() {
    let dir = snapshot_dir();
    let db = shop(dir.path());
    let mut app = App::new(db, None, Theme::new(false));
    let effects = app.start();
    settle(&mut app, effects);
    for _ in 0..6 {
        press(&mut app, KeyCode::Enter);
    }
    for c in "acme".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Verify);
    press(&mut app, KeyCode::Char('i'));
    snap!("40_isolation_preflight", app);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Audit);
    snap!("41_isolation", app);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char(' '));
    snap!("42_isolation_toggled", app);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    snap!("43_isolation_plan", app);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::DryRun);
    snap!("44_isolation_dry_run", app);
    press(&mut app, KeyCode::Enter);
    for c in "shop.db".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.view.step, Step::Verify);
    snap!("45_isolation_verified", app);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    snap!("46_isolation_rolled_back", app);
}
