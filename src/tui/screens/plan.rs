//! The plan screen: the tenant value and column, and the exact SQL, scrollable, with
//! destructive statements highlighted.

use crate::engine::shown;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::chrome;
use crate::tui::mode::Focus;
use crate::tui::widgets::clip;

/// Draws the plan.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    // The application's line, except in an isolation fix (keys rebuilt: no migration of its).
    let side_rows = u16::from(!app.choices.isolation);
    let [head, side, notes, sql, full] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(side_rows),
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(3),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(app_line(app, side.width as usize)), side);
    let head_lines = match &app.script {
        _ if app.choices.isolation => {
            let keys = app.prepared.plan().and_then(|p| p.rebuild()).map_or(0, |r| r.keys.len());
            let tables = app.prepared.plan().and_then(|p| p.rebuild()).map_or(0, |r| r.tables.len());
            vec![
                Line::from(vec![
                    Span::styled("Isolation ", t.dim()),
                    Span::styled(format!("{keys} keys rebuilt to lead with the tenant column"), t.title()),
                ]),
                Line::from(vec![
                    Span::styled("Rebuild   ", t.dim()),
                    Span::raw(format!("{tables} tables by SQLite's 12-step rebuild, every row kept")),
                ]),
            ]
        }
        Some(path) => vec![Line::from(vec![Span::styled("Script   ", t.dim()), Span::raw(shown(path))])],
        None if app.choices.app_plan => {
            let pending = app.prepared.plan().and_then(|p| match &p.source {
                crate::engine::PlanSource::Migrations(spec) => Some(spec.migrations.len()),
                _ => None,
            });
            vec![
                Line::from(vec![
                    Span::styled("App      ", t.dim()),
                    Span::styled(
                        format!("its own pending migrations{}", pending.map_or(String::new(), |n| format!(": {n}"))),
                        t.title(),
                    ),
                    Span::styled("   (a: the tenant plan instead)", t.dim()),
                ]),
                Line::from(vec![
                    Span::styled("Ledger   ", t.dim()),
                    Span::raw("each one's row written as its runner writes it, in the same transaction"),
                ]),
            ]
        }
        None => {
            let editing = app.view.focus == Focus::Tenant;
            let value = if editing {
                format!("{}{}", app.choices.tenant.text, app.theme.cursor())
            } else {
                app.choices.tenant.text.clone()
            };
            let column = app.prepared.audit.as_ref().map_or("tenant_id", |a| a.column.as_str());
            vec![
                Line::from(vec![
                    Span::styled("Tenant   ", t.dim()),
                    Span::styled(value, if editing { t.selected() } else { t.title() }),
                    Span::styled(if editing { "   type, then Enter" } else { "   (t to change)" }, t.dim()),
                ]),
                Line::from(vec![
                    Span::styled("Column   ", t.dim()),
                    Span::raw(format!("{column} VARCHAR(255) NOT NULL DEFAULT <tenant>, indexed")),
                ]),
            ]
        }
    };
    frame.render_widget(Paragraph::new(head_lines), head);
    let Some(plan) = &app.prepared.plan() else {
        if app.job.is_some() {
            chrome::progress(app, frame, Rect { height: sql.height.min(6), ..sql });
        }
        return;
    };
    let mut note_lines = vec![Line::styled(
        format!("Plan {} · {} statements · one transaction", plan.short_hash(), plan.statements.len()),
        t.dim(),
    )];
    if let Some(n) = plan.notices.first() {
        note_lines.push(Line::styled(clip(&format!("note: {n}"), notes.width as usize), t.warn()));
    } else if let Some(d) = plan.destructive().next() {
        note_lines.push(Line::styled(
            clip(
                &format!("DESTROYS DATA: line {}: {}", d.line, d.destructive.as_deref().unwrap_or("")),
                notes.width as usize,
            ),
            t.bad(),
        ));
    }
    frame.render_widget(Paragraph::new(note_lines), notes);
    let height = sql.height as usize;
    let offset = app.view.cursor.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = plan
        .statements
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, s)| {
            let at = match &s.file {
                Some(file) => format!("{}:{}", clip(file, 22), s.line),
                None => format!("{:>4}", s.line),
            };
            let text = clip(&format!("{at}  {}", s.sql.lines().next().unwrap_or("")), sql.width as usize);
            let style = if s.destructive.is_some() { t.bad() } else { ratatui::style::Style::new() };
            let style = if i == app.view.cursor { style.patch(t.selected()) } else { style };
            Line::styled(text, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), sql);
    if let Some(s) = plan.statements.get(app.view.cursor) {
        let at = s.file.as_ref().map_or_else(|| format!("line {}:", s.line), |f| format!("{f} line {}:", s.line));
        let mut text = vec![Line::styled(at, t.dim())];
        text.extend(s.sql.lines().map(|l| Line::raw(l.to_string())));
        if let Some(why) = &s.destructive {
            text.insert(1, Line::styled(format!("DESTROYS DATA: {why}"), t.bad()));
        }
        frame.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: false }), full);
    }
}

/// The application's migrations folder against its ledger, in one line (what `m` and `a` do).
fn app_line(app: &App, width: usize) -> Line<'static> {
    let t = app.theme;
    if app.view.focus == Focus::Migrations {
        let typed = format!("App      folder: {}{}   Enter sets it", app.choices.migrations.text, t.cursor());
        return Line::styled(clip(&typed, width), t.selected());
    }
    let text = match &app.prepared.app {
        None => "App      m: name the app's migrations folder to check it will start".to_string(),
        Some(Err(e)) => format!("App      {e}"),
        Some(Ok(v)) if v.pending.is_empty() => format!("App      {} · nothing pending", v.ledger),
        Some(Ok(v)) => format!("App      pending: {} · {}", v.pending.join(", "), v.ledger),
    };
    let style = match &app.prepared.app {
        Some(Err(_)) => t.bad(),
        Some(Ok(v)) if !v.pending.is_empty() && !app.choices.app_plan => t.warn(),
        _ => t.dim(),
    };
    Line::styled(clip(&text, width), style)
}
