//! The backup screen: both hashes side by side, MATCH or MISMATCH in colour and in words.

use crate::engine::shown;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::engine::human_bytes;
use crate::tui::app::App;
use crate::tui::chrome;

/// Draws the backup step.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    if app.job.is_some() {
        let [intro, gauge] = Layout::vertical([Constraint::Length(2), Constraint::Length(6)]).areas(area);
        frame.render_widget(
            Paragraph::new("Copying the database while hashing it, then reading the copy back from disk."),
            intro,
        );
        chrome::progress(app, frame, gauge);
        return;
    }
    let Some(b) = &app.prepared.backup else {
        let text = vec![
            Line::raw("The backup is a byte-for-byte copy beside the database, named <db>.backup-<date>-<time>."),
            Line::raw("It is hashed (SHA-256) while copied, synced to disk, then read back and hashed again."),
            Line::raw(""),
            Line::raw("Press Enter to make the backup."),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
        return;
    };
    let matched = b.sha256 == b.source_sha256;
    let verdict = if matched {
        Span::styled("MATCH — the backup is identical to the database", t.good())
    } else {
        Span::styled("MISMATCH — the backup was deleted", t.bad())
    };
    let mut lines = vec![
        Line::from(vec![Span::styled("Backup     ", t.dim()), Span::raw(shown(&b.path))]),
        Line::from(vec![Span::styled("Size       ", t.dim()), Span::raw(human_bytes(b.bytes))]),
        Line::raw(""),
        Line::styled("SHA-256 of the database, read while copying:", t.dim()),
        Line::raw(format!("  {}", b.source_sha256)),
        Line::styled("SHA-256 of the backup, read back from disk:", t.dim()),
        Line::raw(format!("  {}", b.sha256)),
        Line::raw(""),
        Line::from(verdict),
        Line::raw(""),
    ];
    if app.hold.is_held() {
        lines.push(Line::styled(
            format!(
                "The database stays locked for this run: the shop's application cannot read or write it until the execute ends, you quit or go back to Preflight, or {} pass with no key. Execute then needs no second hash.",
                app.hold_limit_text()
            ),
            t.warn(),
        ));
        lines.push(Line::raw(""));
    }
    lines.extend([Line::raw(format!(
        "Took {:.2} s. Press Enter to {}.",
        b.seconds,
        if app.choices.isolation { "audit isolation" } else { "audit the tables" }
    ))]);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
