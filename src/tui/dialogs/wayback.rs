//! The ways back once the shop wrote to the database since the execute: undo in place, which
//! keeps that work, offered first; restoring the backup, which discards it, second (it then
//! asks for a word). It owns u and d; Esc keeps the database as it is.

use crate::engine::shown;
use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Context, text_width};
use crate::tui::mode::{Action, Binding, Mode};
use crate::tui::widgets;

fn can_undo(mode: &Mode) -> bool {
    mode.can_undo
}

fn always(_: &Mode) -> bool {
    true
}

/// u undoes in place (when it can), d restores the backup anyway, Esc keeps the file.
pub(super) const KEYS: &[Binding] = &[
    Binding { label: "u", hint: "undo in place", keys: &[KeyCode::Char('u')], action: Action::Undo, when: can_undo },
    Binding {
        label: "d",
        hint: "restore, discarding",
        keys: &[KeyCode::Char('d')],
        action: Action::Discard,
        when: always,
    },
    Binding { label: "Esc", hint: "keep as is", keys: &[KeyCode::Esc], action: Action::No, when: always },
];

/// What the dialog shows: what changed, the undo (or why there is none) and what a restore discards.
#[derive(Debug, Clone, PartialEq)]
pub struct WayBack {
    /// What the shop wrote since the execute, a line each.
    pub changed: Vec<String>,
    /// What a restore throws away, counted (`3 rows in 2 tables`).
    pub discards: String,
    /// Why there is no undo in place, when there is none.
    pub no_undo: Option<String>,
}

pub(super) fn render(ctx: &Context<'_>, frame: &mut Frame, way: &WayBack) {
    let t = ctx.theme;
    let mut lines = vec![Line::raw(format!("{} changed since the last execute:", shown(ctx.db)))];
    lines.extend(way.changed.iter().map(|l| Line::raw(format!("  {l}"))));
    lines.push(Line::raw(""));
    match &way.no_undo {
        None => {
            lines.push(Line::styled("u  undo in place: drop the tenant column and its indexes and", t.title()));
            lines.push(Line::raw("   keep every row — backup, dry run, execute, verify, as any change"));
        }
        Some(why) => {
            lines.push(Line::styled("No undo in place:", t.warn()));
            lines.push(Line::raw(format!("   {why}")));
        }
    }
    lines.push(Line::raw(format!("d  restore the backup (discards {})", way.discards)));
    lines.push(Line::styled("Esc keeps the database as it is. Nothing has changed yet.", t.dim()));
    let area = frame.area();
    let width = text_width(frame) + 4;
    // Each line as wrapped in the dialog, so the last one is never cut off.
    let inside = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inside)).sum();
    let height = (rows as u16 + 3).min(area.height.saturating_sub(2));
    let title = Line::styled(" The shop wrote since the execute ", t.warn());
    let inner = widgets::dialog(frame, area, width, height, title);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
