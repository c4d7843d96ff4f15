//! The first screen: is this a healthy SQLite database that nobody else is using?

use crate::engine::shown;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::engine::human_bytes;
use crate::tui::app::App;

/// Draws the preflight facts.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let Some(p) = &app.prepared.preflight else {
        let text = if app.job.is_some() { "Checking the database…" } else { "Press Enter to check the database." };
        frame.render_widget(Paragraph::new(text), area);
        return;
    };
    let row = |k: &str, v: String| Line::from(vec![Span::styled(format!("{k:<14}"), t.dim()), Span::raw(v)]);
    let mut lines = vec![
        row("Database", shown(&p.path)),
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
    let status = |k: &str, text: String, good: bool| {
        Line::from(vec![
            Span::styled(format!("{k:<14}"), t.dim()),
            Span::styled(text, if good { t.good() } else { t.bad() }),
        ])
    };
    if p.in_use() {
        lines.push(status("In use", format!("YES, by {}", p.who()), false));
    } else if p.uncertain() && !app.choices.confirmed_stopped {
        lines.push(status("In use", format!("UNKNOWN: cannot see inside {}", p.unseen_text()), false));
    } else if p.uncertain() {
        lines.push(status("In use", "you confirmed the application is stopped".into(), true));
    } else {
        lines.push(status("In use", "no other process has the file open".into(), true));
    }
    if let Some(why) = &p.restore_blocker {
        lines.push(status("Rollback", format!("NOT POSSIBLE: {why}"), false));
    }
    if let Some(r) = &p.recovered {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<14}", "Recovered"), t.dim()),
            Span::styled(format!("not shut down cleanly ({}); copy as found in {}", r.found, shown(&r.kept)), t.warn()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(if p.in_use() {
        Line::styled("Stop the shop's application first, then press Enter to check again.", t.bad())
    } else if p.restore_blocker.is_some() {
        Line::styled("Fix what is named above, then press Enter to check again.", t.bad())
    } else if app.awaits_stop_confirmation() {
        Line::styled("Run cutover as root to check them, or press c if the application is stopped.", t.bad())
    } else if app.choices.isolation {
        Line::raw("Isolation fix: press Enter to make a backup. Nothing is changed until you confirm the execute.")
    } else {
        Line::raw("Press Enter to make a backup. Nothing is changed until you confirm the execute.")
    });
    if app.offers_isolation() {
        lines.push(Line::styled(
            "The tenant column is already in place: i audits isolation and rebuilds its keys per tenant.",
            t.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
