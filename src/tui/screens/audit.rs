//! The audit screen: every table with rows, kind, tenant column, risk and decision; filter
//! with `/`, toggle with space, a summary line with totals.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::Decision;
use crate::tui::app::App;
use crate::tui::chrome;
use crate::tui::mode::Focus;
use crate::tui::widgets::clip;

/// Draws the table list.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let Some(audit) = &app.prepared.audit else {
        chrome::progress(app, frame, Rect { height: area.height.min(6), ..area });
        return;
    };
    let [head, list, detail, summary] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(2), Constraint::Length(3)])
            .areas(area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("{:<24} {:>9} {:<9} {:<7} {:<6} {}", "TABLE", "ROWS", "KIND", "COLUMN", "RISK", "DECISION"),
            t.dim(),
        )),
        head,
    );
    let tables = app.visible_tables();
    let height = list.height as usize;
    let offset = app.view.cursor.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = tables
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, tb)| {
            let (decision, _) = app.effective(tb);
            let has = match &tb.tenant_column {
                None => "no",
                Some(c) if c.matches => "yes",
                Some(_) => "differs",
            };
            let rows = tb.rows.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
            let style = match decision {
                Decision::Migrate => Style::new(),
                Decision::Skip | Decision::Excluded => t.dim(),
            };
            let style = if i == app.view.cursor { t.selected() } else { style };
            let text = format!(
                "{:<24} {:>9} {:<9} {:<7} {:<6} {}",
                clip(&tb.name, 24),
                rows,
                clip(tb.kind.label(), 9),
                has,
                tb.risk.label(),
                decision.label()
            );
            Line::styled(clip(&text, list.width as usize), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);

    let mut info = Vec::new();
    if let Some(sel) = tables.get(app.view.cursor) {
        let (decision, reason) = app.effective(sel);
        info.push(Line::from(vec![
            Span::styled(format!("{}: ", clip(&sel.name, 30)), t.title()),
            Span::raw(clip(&format!("{} — {reason}", decision.label()), detail.width as usize)),
        ]));
        if let Some(u) =
            sel.unique_risks.first().filter(|_| decision == Decision::Migrate || sel.tenant_column.is_some())
        {
            info.push(Line::styled(
                clip(&format!("isolation risk: {} will block a second tenant", u.description), detail.width as usize),
                t.warn(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(info), detail);

    let migrate = audit.tables.iter().filter(|tb| app.effective(tb).0 == Decision::Migrate).count();
    let rows: u64 =
        audit.tables.iter().filter(|tb| app.effective(tb).0 == Decision::Migrate).filter_map(|tb| tb.rows).sum();
    let filter = match app.view.focus {
        Focus::Filter => format!(" · filter: {}{}", app.choices.filter.text, app.theme.cursor()),
        _ if !app.choices.filter.text.is_empty() => format!(" · filter: {}", app.choices.filter.text),
        _ => String::new(),
    };
    let line = format!(
        "{} tables · {migrate} to migrate · {rows} rows · {} isolation risks{filter}",
        audit.tables.len(),
        audit.summary.unique_risks,
    );
    let views: Vec<&str> = audit.views.iter().map(|v| v.name.as_str()).collect();
    let triggers: Vec<&str> = audit.triggers.iter().map(|t| t.name.as_str()).collect();
    let objects = format!("views: {} · triggers: {}", none_or(&views), none_or(&triggers));
    let (app_line, app_style) = app_line(app, audit);
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled(clip(&line, summary.width as usize), t.title()),
            Line::styled(clip(&objects, summary.width as usize), t.dim()),
            Line::styled(clip(&app_line, summary.width as usize), app_style),
        ]),
        summary,
    );
}

/// The application's ledger and migrations folder, in one line: what `m` sets.
fn app_line(app: &App, audit: &crate::engine::AuditReport) -> (String, Style) {
    let t = app.theme;
    if app.view.focus == Focus::Migrations {
        return (
            format!("app's migrations folder: {}{}   Enter sets it", app.choices.migrations.text, t.cursor()),
            t.selected(),
        );
    }
    let folder = match &app.side.migrations {
        Some(dir) => format!("folder {}", crate::engine::shown(dir)),
        None => "m: name its migrations folder".into(),
    };
    match (audit.ledgers.ledgers.first(), audit.ledgers.not_ledgers.first()) {
        (Some(l), _) => (
            format!("app ledger: {} · {folder}", l.describe()),
            if app.side.migrations.is_some() { t.dim() } else { t.warn() },
        ),
        (None, Some(n)) => (format!("no migration ledger ({} is not one: {}) · {folder}", n.table, n.why), t.dim()),
        (None, None) => (format!("no migration ledger found · {folder}"), t.dim()),
    }
}

fn none_or(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}
