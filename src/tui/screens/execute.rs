//! The execute screen: what will happen, then progress while production changes.

use crate::engine::shown;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::App;
use crate::tui::chrome;

/// Draws the execute step.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    if app.job.is_some() {
        let [intro, gauge] = Layout::vertical([Constraint::Length(2), Constraint::Length(7)]).areas(area);
        frame.render_widget(
            Paragraph::new(
                "Changing the database in one transaction. Stopping (q) rolls it back; nothing is half-done.",
            ),
            intro,
        );
        chrome::progress(app, frame, gauge);
        return;
    }
    let mut lines = vec![
        Line::raw(format!("This changes {} in one transaction:", shown(&app.db))),
        Line::raw("  1. prove the file still equals the backup (under an exclusive lock)"),
        Line::raw("  2. run the rehearsed plan; any error rolls everything back"),
        Line::raw("  3. compare the result with the rehearsal's SHA-256, then verify"),
        Line::raw(""),
    ];
    if let Some(b) = &app.prepared.backup {
        lines.push(Line::styled(format!("Backup to roll back to: {}", shown(&b.path)), t.dim()));
    }
    lines.push(Line::raw(""));
    lines.push(match app.rehearsal() {
        Some(_) => Line::styled("Press Enter and type the confirmation to start.", t.title()),
        None => Line::styled("Execute is locked: it needs a passed dry run of this plan.", t.bad()),
    });
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
