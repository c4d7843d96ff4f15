//! Colours and emphasis, honouring `NO_COLOR`: without colour, meaning is carried by words
//! (PASS, MATCH) and by bold and reverse video.

use ratatui::style::{Color, Modifier, Style};

use crate::engine::Status;

/// The styles and symbols the screens use.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
    ascii: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org); plain ASCII
    /// symbols where the console's default font may lack the others (the classic Windows
    /// console; Windows Terminal, which sets WT_SESSION, has them).
    pub fn from_env() -> Theme {
        let ascii = crate::engine::LIMITED_CONSOLE_FONT && std::env::var_os("WT_SESSION").is_none();
        Theme { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()), ascii }
    }

    /// A theme with or without colour, for tests.
    pub fn new(color: bool) -> Theme {
        Theme { color, ascii: false }
    }

    /// The same theme with ASCII symbols only.
    pub fn ascii(self) -> Theme {
        Theme { ascii: true, ..self }
    }

    /// The mark of a finished step.
    pub fn tick(self) -> &'static str {
        if self.ascii { "*" } else { "✓" }
    }

    /// Between two steps of the stepper.
    pub fn step_separator(self) -> &'static str {
        if self.ascii { " > " } else { " › " }
    }

    /// The cursor after typed text.
    pub fn cursor(self) -> &'static str {
        if self.ascii { "_" } else { "▏" }
    }

    fn fg(self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    /// Good news: PASS, MATCH, done.
    pub fn good(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    /// Worth a look.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Bad news: FAIL, MISMATCH, errors.
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Secondary text.
    pub fn dim(self) -> Style {
        if self.color { Style::new().fg(Color::DarkGray) } else { Style::new() }
    }

    /// Titles and the current step.
    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The selected row of a list.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Keys in the key bar.
    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The style of a check's verdict.
    pub fn status(self, s: Status) -> Style {
        match s {
            Status::Pass => self.good(),
            Status::Warn => self.warn(),
            Status::Fail => self.bad(),
        }
    }
}
