//! The wizard's speed: time to draw the audit list of 2,000 tables, and key-to-screen latency
//! while a job streams progress.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cutover::engine::audit::{self, AuditOptions};
use cutover::tui::app::{App, Effect, Step};
use cutover::tui::event::Event;
use cutover::tui::theme::Theme;
use cutover::tui::{ui, worker};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Median milliseconds to draw one 80×24 frame of the audit list of `tables` tables.
pub fn frame_ms(dir: &Path, tables: usize) -> f64 {
    let db = dir.join("many-tables.db");
    let _ = std::fs::remove_file(&db);
    let conn = rusqlite::Connection::open(&db).expect("create the many-tables database");
    let mut sql = String::from("BEGIN;");
    for i in 0..tables {
        sql.push_str(&format!("CREATE TABLE t{i:04} (id INTEGER PRIMARY KEY, code TEXT UNIQUE, v TEXT);"));
    }
    sql.push_str("COMMIT;");
    conn.execute_batch(&sql).expect("create 2,000 tables");
    drop(conn);
    let report = audit::run(&db, &AuditOptions::default(), &mut |_| {}).expect("audit");
    let mut app = App::new(db, None, Theme::new(true));
    app.prepared.audit = Some(report);
    app.view.step = Step::Audit;
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    let mut times = Vec::new();
    for i in 0..400 {
        app.view.cursor = (i * 7) % tables;
        let started = Instant::now();
        terminal.draw(|f| ui::render(&app, f)).expect("draw");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    crate::median(&mut times)
}

/// Key-to-screen latency (milliseconds: median, worst) while a backup of `db` runs on a
/// worker, with the wizard's own update and draw on this thread.
pub fn key_latency_ms(db: &Path) -> (f64, f64) {
    let mut app = App::new(db.to_path_buf(), None, Theme::new(true));
    app.view.step = Step::Backup;
    let (tx, rx) = mpsc::channel::<Event>();
    for effect in app.update(cutover::tui::mode::Action::Continue) {
        if let Effect::Start(job, cancel) = effect {
            worker::spawn(job, cancel, tx.clone());
        }
    }
    let keys = tx.clone();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let sent_log = sent.clone();
    std::thread::spawn(move || {
        for _ in 0..60 {
            std::thread::sleep(Duration::from_millis(25));
            if let Ok(mut log) = sent_log.lock() {
                log.push(Instant::now());
            }
            if keys.send(Event::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE))).is_err() {
                return;
            }
        }
    });
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    let mut latencies = Vec::new();
    let mut keys_seen = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline && (app.job.is_some() || keys_seen < 60) {
        let Ok(first) = rx.recv_timeout(Duration::from_secs(5)) else { break };
        let mut pending_keys = 0;
        let mut handle = |app: &mut App, e: Event| {
            if matches!(e, Event::Key(_)) {
                pending_keys += 1;
            }
            for effect in app.handle(e) {
                if let Effect::Start(job, cancel) = effect {
                    worker::spawn(job, cancel, tx.clone());
                }
            }
        };
        handle(&mut app, first);
        while let Ok(more) = rx.try_recv() {
            handle(&mut app, more);
        }
        app.view.modal = None;
        terminal.draw(|f| ui::render(&app, f)).expect("draw");
        let drawn = Instant::now();
        if pending_keys > 0 {
            let log = sent.lock().expect("key log");
            for at in log.iter().skip(keys_seen).take(pending_keys) {
                latencies.push(drawn.duration_since(*at).as_secs_f64() * 1000.0);
            }
            keys_seen += pending_keys;
        }
    }
    let worst = latencies.iter().cloned().fold(0.0, f64::max);
    (crate::median(&mut latencies), worst)
}
