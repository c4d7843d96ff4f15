//! The first screen: is this a healthy SQLite database that nobody else is using?

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::engine::error::human_bytes;
use crate::tui::app::App;

/// Draws the preflight facts.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let Some(p) = &app.preflight else {
        let text = if app.job.is_some() { "Checking the database…" } else { "Press Enter to check the database." };
        frame.render_widget(Paragraph::new(text), area);
        return;
    };
    let row = |k: &str, v: String| Line::from(vec![Span::styled(format!("{k:<14}"), t.dim()), Span::raw(v)]);
    let mut lines = vec![
        row("Database", p.path.display().to_string()),
        row("Size", format!("{} ({} pages of {} bytes)", human_bytes(p.file_size), p.page_count, p.page_size)),
        row("Journal mode", p.journal_mode.clone()),
        Line::from(vec![
            Span::styled(format!("{:<14}", "Health"), t.dim()),
            Span::styled(
                format!("quick_check {}", p.quick_check),
                if p.quick_check == "ok" { t.good() } else { t.bad() },
            ),
        ]),
        row("SQLite", p.sqlite_version.clone()),
        Line::from(vec![
            Span::styled(format!("{:<14}", "Free disk"), t.dim()),
            Span::raw(format!("{} free, about {} needed ", human_bytes(p.free_disk), human_bytes(p.needed_disk))),
            if p.enough_disk { Span::styled("enough", t.good()) } else { Span::styled("NOT ENOUGH", t.bad()) },
        ]),
    ];
    if p.in_use() {
        let who = p.who();
        lines.push(Line::from(vec![
            Span::styled(format!("{:<14}", "In use"), t.dim()),
            Span::styled(format!("YES, by {who}"), t.bad()),
        ]));
        lines.push(Line::raw(""));
        lines.push(Line::styled("Stop the shop's application first, then press Enter to check again.", t.bad()));
    } else {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<14}", "In use"), t.dim()),
            Span::styled("no other process has the file open", t.good()),
        ]));
        lines.push(Line::raw(""));
        lines.push(Line::raw("Press Enter to make a backup. Nothing is changed until you confirm the execute."));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
