//! The wizard: a keyboard-driven terminal UI over the engine. The event loop owns the
//! terminal; each job runs on a worker thread; keys, progress and results arrive on one
//! channel, so the screen keeps answering keys while work runs.

pub mod app;
mod chrome;
pub mod dialogs;
pub mod event;
mod farewell;
pub mod input;
pub mod keys;
pub mod mode;
mod outcome;
mod screens;
mod steps;
pub mod theme;
pub mod ui;
mod widgets;
pub mod worker;

use crate::engine::shown;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use app::{App, Effect};
use event::Event;
use theme::Theme;

/// Runs the wizard on `db` until the technician quits. The terminal is restored on every way
/// out, panics included (ratatui's panic hook).
pub fn run(db: PathBuf, script: Option<PathBuf>, side: crate::engine::AppSide) -> std::io::Result<App> {
    start_log(&db);
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, App::new(db, script, Theme::from_env()).with_side(side));
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, mut app: App) -> std::io::Result<App> {
    let (tx, rx) = mpsc::channel::<Event>();
    let stop = Arc::new(AtomicBool::new(false));
    event::spawn_input(tx.clone(), stop.clone());
    let mut effects = app.start();
    loop {
        for effect in effects.drain(..) {
            match effect {
                Effect::Start(job, cancel) => worker::spawn(job, cancel, tx.clone()),
                Effect::Quit => app.quit = true,
            }
        }
        if app.quit {
            break;
        }
        terminal.draw(|frame| ui::render(&app, frame))?;
        let Ok(first) = rx.recv() else { break };
        effects.extend(app.handle(first));
        // Take everything already waiting before drawing again, so a burst of progress never
        // delays a key.
        while let Ok(more) = rx.try_recv() {
            effects.extend(app.handle(more));
        }
    }
    stop.store(true, Ordering::SeqCst);
    Ok(app)
}

/// Diagnostics go to `<db>.cutover/cutover.log`: the wizard owns the terminal.
fn start_log(db: &Path) {
    let Ok(dir) = crate::engine::records_dir(db) else { return };
    let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("cutover.log")) else {
        return;
    };
    let _ = tracing_subscriber::fmt().with_writer(std::sync::Mutex::new(file)).with_ansi(false).try_init();
    tracing::info!(db = %shown(db), version = env!("CARGO_PKG_VERSION"), "wizard started");
}
