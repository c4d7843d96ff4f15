//! Events the wizard reacts to, all on one channel: keys, resizes, ticks, and the messages of
//! the running job.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEvent};

use crate::tui::worker::JobMessage;

/// One thing that happened.
#[derive(Debug)]
pub enum Event {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal changed size.
    Resize,
    /// Time passed (to refresh elapsed times).
    Tick,
    /// The running job reported progress or finished.
    Job(JobMessage),
}

impl From<JobMessage> for Event {
    fn from(message: JobMessage) -> Event {
        Event::Job(message)
    }
}

/// Reads the terminal on its own thread until `stop` is set, sending keys and a tick every
/// quarter second.
pub fn spawn_input(tx: Sender<Event>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let ready = event::poll(Duration::from_millis(250)).unwrap_or(false);
            let sent = if ready {
                match event::read() {
                    // Releases are passed on too: the key table ignores them in one place.
                    Ok(TermEvent::Key(k)) => tx.send(Event::Key(k)),
                    Ok(TermEvent::Resize(..)) => tx.send(Event::Resize),
                    _ => Ok(()),
                }
            } else {
                tx.send(Event::Tick)
            };
            if sent.is_err() {
                return;
            }
        }
    });
}
