//! The offer to pick up an earlier run the journal recorded: verify it, roll it back, or start
//! over. It owns v, r and s.

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Context, text_width};
use crate::tui::mode::{Action, Binding, Mode};
use crate::tui::widgets;

fn always(_: &Mode) -> bool {
    true
}

/// v, r and s choose.
pub(super) const KEYS: &[Binding] = &[
    Binding { label: "v", hint: "verify", keys: &[KeyCode::Char('v')], action: Action::Verify, when: always },
    Binding { label: "r", hint: "roll back", keys: &[KeyCode::Char('r')], action: Action::Rollback, when: always },
    Binding { label: "s", hint: "start over", keys: &[KeyCode::Char('s')], action: Action::StartOver, when: always },
];

pub(super) fn render(ctx: &Context<'_>, frame: &mut Frame, text: &[String]) {
    let lines: Vec<Line> = text.iter().map(|l| Line::raw(l.clone())).collect();
    let width = text_width(frame) + 4;
    let title = Line::styled(" Pick up where it stopped ", ctx.theme.title());
    let inner = widgets::dialog(frame, frame.area(), width, 10, title);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
