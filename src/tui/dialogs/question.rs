//! The y/N questions: roll back, quit, stop running work, and the technician's word that the
//! application is stopped. They own y and n (Esc answers no).

use crate::engine::shown;
use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Context, text_width};
use crate::engine::BackupRef;
use crate::tui::mode::{Action, Binding, Mode};
use crate::tui::widgets;

fn always(_: &Mode) -> bool {
    true
}

/// y and n (Esc too) answer the question.
pub(super) const KEYS: &[Binding] = &[
    Binding {
        label: "y",
        hint: "yes",
        keys: &[KeyCode::Char('y'), KeyCode::Char('Y')],
        action: Action::Yes,
        when: always,
    },
    Binding {
        label: "n/Esc",
        hint: "no",
        keys: &[KeyCode::Char('n'), KeyCode::Char('N'), KeyCode::Esc],
        action: Action::No,
        when: always,
    },
];

fn ask(frame: &mut Frame, width: u16, height: u16, title: Line<'static>, lines: Vec<Line<'static>>) {
    let inner = widgets::dialog(frame, frame.area(), width, height, title);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub(super) fn rollback(ctx: &Context<'_>, frame: &mut Frame, backup: &BackupRef) {
    let t = ctx.theme;
    let lines = vec![
        Line::raw(format!("Restore {} from", shown(ctx.db))),
        Line::raw(format!("  {}", shown(&backup.path))),
        Line::raw(format!("  sha256 {}", backup.sha256)),
        Line::raw(""),
        Line::raw("The migrated database is kept aside, so this can be undone."),
        Line::raw(""),
        Line::styled("Roll back now?  y yes · n no", t.title()),
    ];
    ask(frame, text_width(frame) + 4, 11, Line::styled(" Roll back ", t.warn()), lines);
}

pub(super) fn undo(ctx: &Context<'_>, frame: &mut Frame, drops: &str) {
    let t = ctx.theme;
    let lines = vec![
        Line::raw(format!("Undo in place on {}:", shown(ctx.db))),
        Line::raw(format!("  {drops}")),
        Line::raw("It backs the file up, rehearses on a copy with every check, then"),
        Line::raw("changes the database; the shop's rows stay. It can be rolled back."),
        Line::raw(""),
        Line::styled("Undo in place now?  y yes · n no", t.title()),
    ];
    ask(frame, text_width(frame) + 4, 10, Line::styled(" Undo in place ", t.warn()), lines);
}

pub(super) fn quit(ctx: &Context<'_>, frame: &mut Frame, reason: &str) {
    let t = ctx.theme;
    let lines = vec![
        Line::raw(format!("Quit now? {reason}.")),
        Line::raw("You can come back: the journal remembers where things stand."),
        Line::raw(""),
        Line::styled("y quit · n stay", t.title()),
    ];
    ask(frame, text_width(frame), 8, Line::styled(" Quit? ", t.warn()), lines);
}

pub(super) fn stop(ctx: &Context<'_>, frame: &mut Frame) {
    let t = ctx.theme;
    let lines = vec![
        Line::raw("Work is running. Stop it safely?"),
        Line::raw("A running transaction is rolled back; the wizard says when it has."),
        Line::raw(""),
        Line::styled("y stop · n keep going", t.title()),
    ];
    ask(frame, text_width(frame), 8, Line::styled(" Stop? ", t.warn()), lines);
}

pub(super) fn stopped(ctx: &Context<'_>, frame: &mut Frame, unseen: &str) {
    let t = ctx.theme;
    let lines = vec![
        Line::raw("cutover cannot look inside these processes (other users):"),
        Line::raw(format!("  {unseen}")),
        Line::raw("Any of them could be the shop's application holding the database."),
        Line::raw("Run cutover as root (sudo) to check them, or confirm:"),
        Line::raw(""),
        Line::styled("Is the shop's application stopped?  y yes · n no", t.title()),
    ];
    ask(frame, text_width(frame) + 4, 11, Line::styled(" Cannot check everything ", t.warn()), lines);
}
