//! The Isolation screen (the audit step of an isolation run): every unique key, foreign key,
//! view and trigger that ignores the tenant column, the keys to rebuild marked `[x]` (space
//! toggles), why the selected one matters and its fix, and what a second tenant met on a copy.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::engine::Concern;
use crate::tui::app::App;
use crate::tui::chrome;
use crate::tui::widgets::clip;

/// Draws the findings.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let Some(report) = &app.prepared.isolation else {
        chrome::progress(app, frame, Rect { height: area.height.min(6), ..area });
        return;
    };
    let [head, list, detail, probe, summary] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::styled(format!("    {:<8} {:<20} {}", "WHAT", "WHERE", "AS WRITTEN"), t.dim())),
        head,
    );
    let height = list.height as usize;
    let offset = app.view.cursor.saturating_sub(height.saturating_sub(1));
    let rows = app.isolation_rows();
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, f)| {
            let (mark, kind, place) = match &f.concern {
                Concern::UniqueKey { table, .. } => (if app.key_chosen(f) { "[x]" } else { "[ ]" }, "key", table),
                Concern::ForeignKey { table, .. } => (" · ", "fk", table),
                Concern::View { view, .. } => (" · ", "view", view),
                Concern::Trigger { on, .. } => (" · ", "trigger", on),
            };
            let text = format!("{mark} {kind:<8} {:<20} {}", clip(place, 20), f.written);
            let style = if matches!(f.concern, Concern::UniqueKey { .. }) { Style::new() } else { t.dim() };
            let style = if i == app.view.cursor { t.selected() } else { style };
            Line::styled(clip(&text, list.width as usize), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);

    let selected = rows.get(app.view.cursor).copied();
    if let Some(f) = selected {
        let text = vec![
            Line::from(vec![Span::styled("why ", t.dim()), Span::raw(f.why.clone())]),
            Line::from(vec![Span::styled("fix ", t.dim()), Span::raw(f.fix.clone())]),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), detail);
    }
    if let Some(s) = &report.second_tenant {
        let style = if s.fits() { t.good() } else { t.warn() };
        // What the second tenant met at the selected key, when it is one.
        let here = selected.and_then(|f| match &f.concern {
            Concern::UniqueKey { table, index, columns, .. } => {
                let index = (!index.starts_with("sqlite_autoindex")).then_some(index.as_str());
                let tried = s.tried_in.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n);
                Some(match s.refusal_of(table, columns, index) {
                    Some(b) => format!("here: refused {} of the {tried} rows tried ({})", b.rows, b.by),
                    None if tried == 0 => format!("here: {table} has no rows to try"),
                    // Refused by another key of the table first: this one was never reached.
                    None => match s.blocked.iter().find(|b| &b.table == table) {
                        Some(b) => format!("here: not reached — {table}'s rows were refused first ({})", b.by),
                        None => format!("here: the {tried} rows tried fit"),
                    },
                })
            }
            _ => None,
        });
        let lines = vec![
            Line::styled(clip(&format!("second tenant: {}", s.short()), probe.width as usize), style),
            Line::styled(clip(&here.unwrap_or_default(), probe.width as usize), t.dim()),
        ];
        frame.render_widget(Paragraph::new(lines), probe);
    }
    let chosen = report.findings.iter().filter(|f| app.key_chosen(f)).count();
    let keys = report.findings.iter().filter(|f| matches!(f.concern, Concern::UniqueKey { .. })).count();
    let line = format!(
        "{keys} key{} ignore{} {} · {chosen} chosen · {} more for a person",
        if keys == 1 { "" } else { "s" },
        if keys == 1 { "s" } else { "" },
        report.column,
        report.findings.len() - keys
    );
    frame.render_widget(Paragraph::new(Line::styled(clip(&line, summary.width as usize), t.title())), summary);
}
