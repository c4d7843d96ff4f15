//! Dialogs to read and close: the key list, an error with what to do next, and information
//! after something finished. Esc closes them (the screen's keys); q still quits.

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Context, text_width};
use crate::tui::widgets;

pub(super) fn help(ctx: &Context<'_>, frame: &mut Frame) {
    let t = ctx.theme;
    let mut lines: Vec<Line> = ctx
        .help
        .iter()
        .map(|(k, h)| Line::from(vec![Span::styled(format!("{k:<10}"), t.key()), Span::raw(*h)]))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled("Esc closes this help. Esc never quits; q does.", t.dim()));
    let inner = widgets::dialog(frame, frame.area(), 60, lines.len() as u16 + 2, Line::styled(" Keys ", t.title()));
    frame.render_widget(Paragraph::new(lines), inner);
}

pub(super) fn error(ctx: &Context<'_>, frame: &mut Frame, title: &str, message: &str, next: &str) {
    let t = ctx.theme;
    let mut lines: Vec<Line> = message.lines().map(|l| Line::raw(l.trim().to_string())).collect();
    lines.extend([
        Line::raw(""),
        Line::styled("What to do:", t.title()),
        Line::raw(next.to_string()),
        Line::raw(""),
        Line::styled("Esc closes this. Details are in the log in <db>.cutover/.", t.dim()),
    ]);
    let width = text_width(frame) + 4;
    let inner = widgets::dialog(frame, frame.area(), width, 14, Line::styled(format!(" {title} "), t.bad()));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub(super) fn info(ctx: &Context<'_>, frame: &mut Frame, title: &str, lines: &[String]) {
    let t = ctx.theme;
    let mut body: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
    body.push(Line::raw(""));
    body.push(Line::styled("Esc closes this.", t.dim()));
    let width = text_width(frame) + 4;
    let inner = widgets::dialog(
        frame,
        frame.area(),
        width,
        body.len() as u16 + 4,
        Line::styled(format!(" {title} "), t.good()),
    );
    frame.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), inner);
}
