//! One driver for the wizard's state machine in tests: every job an update starts runs to
//! completion on the test's thread (the real engine, real files), its progress and result fed
//! back as the events the event loop would deliver.

use cutover::engine::Progress;
use cutover::tui::app::{App, Effect};
use cutover::tui::event::Event;
use cutover::tui::worker::{self, JobMessage};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Runs every effect to completion; returns the progress the jobs reported, in order.
pub fn settle(app: &mut App, mut effects: Vec<Effect>) -> Vec<Progress> {
    let mut seen = Vec::new();
    while let Some(effect) = effects.pop() {
        if let Effect::Start(job, cancel) = effect {
            let kind = job.kind();
            let mut progress = Vec::new();
            let result = worker::run_now(job, &cancel, &mut |p| progress.push(p));
            for p in progress {
                seen.push(p.clone());
                effects.extend(app.handle(Event::Job(JobMessage::Progress(p))));
            }
            effects.extend(app.handle(Event::Job(JobMessage::Done(kind, result))));
        }
    }
    seen
}

/// Opens the wizard: its first job (the preflight) runs.
pub fn start(app: &mut App) {
    let effects = app.start();
    settle(app, effects);
}

/// One key press, and whatever it starts run to the end.
pub fn press(app: &mut App, code: KeyCode) {
    press_with(app, code, KeyModifiers::NONE);
}

/// One key press with modifiers (Ctrl-C), and whatever it starts run to the end.
pub fn press_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    let effects = app.handle(Event::Key(KeyEvent::new(code, modifiers)));
    settle(app, effects);
}

/// Types `text` a key at a time.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}
