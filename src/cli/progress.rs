//! Printing the engine's progress on stderr: steps as lines, byte and table counts in place.

use std::io::{IsTerminal, Write};

use crossterm::cursor::MoveToColumn;
use crossterm::queue;
use crossterm::terminal::{Clear, ClearType};
use std::time::{Duration, Instant};

use cutover::engine::Progress;
use cutover::engine::human_bytes;

/// Prints progress for a person watching; quiet about counters when stderr is not a terminal.
pub struct StderrProgress {
    tty: bool,
    last: Option<Instant>,
    dirty: bool,
}

impl StderrProgress {
    /// A printer for the current stderr.
    pub fn new() -> Self {
        StderrProgress { tty: std::io::stderr().is_terminal(), last: None, dirty: false }
    }

    /// Shows one progress event.
    pub fn show(&mut self, p: Progress) {
        let mut err = std::io::stderr().lock();
        match p {
            Progress::Notice(text) => {
                if self.dirty {
                    clear_line(&mut err);
                    self.dirty = false;
                }
                let _ = writeln!(err, "notice: {text}");
            }
            Progress::Step(text) => {
                if self.dirty {
                    clear_line(&mut err);
                    self.dirty = false;
                }
                let _ = writeln!(err, "· {text}");
            }
            Progress::Bytes { stage, done, total } if self.tty && self.due(done == total) => {
                let pct = if total == 0 { 100.0 } else { done as f64 * 100.0 / total as f64 };
                clear_line(&mut err);
                let _ = write!(err, "  {stage}: {} of {} ({pct:.0}%)", human_bytes(done), human_bytes(total));
                self.dirty = true;
            }
            Progress::Table { name, index, total } if self.tty && self.due(index == total) => {
                clear_line(&mut err);
                let _ = write!(err, "  counting rows: table {index} of {total} ({name})");
                self.dirty = true;
            }
            _ => {}
        }
    }

    /// Runs one engine call with its progress shown here, and clears the counter line after it
    /// whatever it returned, so what is printed next starts on a clean line.
    pub fn during<T>(&mut self, call: impl FnOnce(&mut dyn FnMut(Progress)) -> T) -> T {
        let result = call(&mut |p| self.show(p));
        self.finish();
        result
    }

    /// Clears a half-drawn counter line before other output.
    pub fn finish(&mut self) {
        if self.dirty {
            let mut err = std::io::stderr().lock();
            clear_line(&mut err);
            let _ = err.flush();
            self.dirty = false;
        }
    }

    fn due(&mut self, last_one: bool) -> bool {
        let now = Instant::now();
        let due = last_one || self.last.is_none_or(|t| now.duration_since(t) >= Duration::from_millis(100));
        if due {
            self.last = Some(now);
        }
        due
    }
}

/// Clears the counter line through crossterm, which knows the Windows console as well as
/// terminals that take escape sequences.
fn clear_line(err: &mut impl Write) {
    let _ = queue!(err, MoveToColumn(0), Clear(ClearType::CurrentLine));
}
