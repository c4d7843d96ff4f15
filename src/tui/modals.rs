//! The dialogs drawn over the screen: help, errors, confirmations, the typed confirmations and
//! the resume offer.

use crate::engine::paths::shown;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::{App, Modal};
use crate::tui::{keys, widgets};

/// Draws the dialog that is open.
pub fn render(app: &App, modal: &Modal, frame: &mut Frame) {
    let t = app.theme;
    let area = frame.area();
    let text_width = area.width.saturating_sub(8).min(72);
    match modal {
        Modal::Help => {
            let mut lines: Vec<Line> = keys::help()
                .into_iter()
                .map(|(k, h)| Line::from(vec![Span::styled(format!("{k:<10}"), t.key()), Span::raw(h)]))
                .collect();
            lines.push(Line::raw(""));
            lines.push(Line::styled("Esc closes this help. Esc never quits; q does.", t.dim()));
            let inner = widgets::dialog(frame, area, 60, lines.len() as u16 + 2, Line::styled(" Keys ", t.title()));
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Modal::Error { title, message, next } => {
            let mut lines: Vec<Line> = message.lines().map(|l| Line::raw(l.trim().to_string())).collect();
            lines.extend([
                Line::raw(""),
                Line::styled("What to do:", t.title()),
                Line::raw(next.clone()),
                Line::raw(""),
                Line::styled("Esc closes this. Details are in the log in <db>.cutover/.", t.dim()),
            ]);
            let inner = widgets::dialog(frame, area, text_width + 4, 14, Line::styled(format!(" {title} "), t.bad()));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::Info { title, lines } => {
            let mut body: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
            body.push(Line::raw(""));
            body.push(Line::styled("Esc closes this.", t.dim()));
            let inner = widgets::dialog(
                frame,
                area,
                text_width + 4,
                body.len() as u16 + 4,
                Line::styled(format!(" {title} "), t.good()),
            );
            frame.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), inner);
        }
        Modal::ConfirmRollback { backup } => {
            let lines = vec![
                Line::raw(format!("Restore {} from", shown(&app.db))),
                Line::raw(format!("  {}", shown(&backup.path))),
                Line::raw(format!("  sha256 {}", backup.sha256)),
                Line::raw(""),
                Line::raw("The migrated database is kept aside, so this can be undone."),
                Line::raw(""),
                Line::styled("Roll back now?  y yes · n no", t.title()),
            ];
            let inner = widgets::dialog(frame, area, text_width + 4, 11, Line::styled(" Roll back ", t.warn()));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::ConfirmQuit { reason } => {
            let lines = vec![
                Line::raw(format!("Quit now? {reason}.")),
                Line::raw("You can come back: the journal remembers where things stand."),
                Line::raw(""),
                Line::styled("y quit · n stay", t.title()),
            ];
            let inner = widgets::dialog(frame, area, text_width, 8, Line::styled(" Quit? ", t.warn()));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::ConfirmStop => {
            let lines = vec![
                Line::raw("Work is running. Stop it safely?"),
                Line::raw("A running transaction is rolled back; the wizard says when it has."),
                Line::raw(""),
                Line::styled("y stop · n keep going", t.title()),
            ];
            let inner = widgets::dialog(frame, area, text_width, 8, Line::styled(" Stop? ", t.warn()));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::TypeToExecute { expected } => {
            let lines = vec![
                Line::raw(format!("This changes {} for real.", shown(&app.db))),
                Line::raw(format!("Type  {expected}  and press Enter to execute.")),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("> ", t.dim()),
                    Span::styled(format!("{}{}", app.confirm.text, t.cursor()), t.title()),
                ]),
                Line::raw(""),
                Line::styled("Esc cancels.", t.dim()),
            ];
            let inner = widgets::dialog(frame, area, text_width, 10, Line::styled(" Confirm execute ", t.warn()));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::TypeToDiscard { lines, expected } => {
            let mut body: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
            body.extend([
                Line::raw(""),
                Line::raw(format!("Type  {expected}  and press Enter to restore the backup anyway.")),
                Line::from(vec![
                    Span::styled("> ", t.dim()),
                    Span::styled(format!("{}{}", app.confirm.text, t.cursor()), t.title()),
                ]),
                Line::styled("Esc keeps the database as it is.", t.dim()),
            ]);
            let height = (body.len() as u16 + 4).min(area.height.saturating_sub(2));
            let inner = widgets::dialog(
                frame,
                area,
                text_width + 4,
                height,
                Line::styled(" Rollback would discard work ", t.bad()),
            );
            frame.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), inner);
        }
        Modal::ConfirmStopped { unseen } => {
            let lines = vec![
                Line::raw("cutover cannot look inside these processes (other users):"),
                Line::raw(format!("  {unseen}")),
                Line::raw("Any of them could be the shop's application holding the database."),
                Line::raw("Run cutover as root (sudo) to check them, or confirm:"),
                Line::raw(""),
                Line::styled("Is the shop's application stopped?  y yes · n no", t.title()),
            ];
            let inner =
                widgets::dialog(frame, area, text_width + 4, 11, Line::styled(" Cannot check everything ", t.warn()));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::Resume { text } => {
            let lines: Vec<Line> = text.iter().map(|l| Line::raw(l.clone())).collect();
            let inner =
                widgets::dialog(frame, area, text_width + 4, 10, Line::styled(" Pick up where it stopped ", t.title()));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
    }
}
