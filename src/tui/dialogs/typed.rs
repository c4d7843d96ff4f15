//! The dialogs that ask for a word: the tenant value (or file name) before execute, and
//! `discard` before a restore that throws away the shop's work. The typing keys apply.

use crate::engine::shown;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Context, text_width};
use crate::tui::widgets;

fn prompt(ctx: &Context<'_>) -> Line<'static> {
    let t = ctx.theme;
    Line::from(vec![Span::styled("> ", t.dim()), Span::styled(format!("{}{}", ctx.typed, t.cursor()), t.title())])
}

pub(super) fn execute(ctx: &Context<'_>, frame: &mut Frame, expected: &str) {
    let t = ctx.theme;
    let lines = vec![
        Line::raw(format!("This changes {} for real.", shown(ctx.db))),
        Line::raw(format!("Type  {expected}  and press Enter to execute.")),
        Line::raw(""),
        prompt(ctx),
        Line::raw(""),
        Line::styled("Esc cancels.", t.dim()),
    ];
    let width = text_width(frame);
    let inner = widgets::dialog(frame, frame.area(), width, 10, Line::styled(" Confirm execute ", t.warn()));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub(super) fn discard(ctx: &Context<'_>, frame: &mut Frame, lines: &[String], expected: &str) {
    let t = ctx.theme;
    let mut body: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
    body.extend([
        Line::raw(""),
        Line::raw(format!("Type  {expected}  and press Enter to restore the backup anyway.")),
        prompt(ctx),
        Line::styled("Esc keeps the database as it is.", t.dim()),
    ]);
    let area = frame.area();
    let height = (body.len() as u16 + 4).min(area.height.saturating_sub(2));
    let width = text_width(frame) + 4;
    let inner = widgets::dialog(frame, area, width, height, Line::styled(" Rollback would discard work ", t.bad()));
    frame.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), inner);
}
