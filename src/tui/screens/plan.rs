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
    let [head, notes, sql, full] =
        Layout::vertical([Constraint::Length(2), Constraint::Length(2), Constraint::Min(3), Constraint::Length(3)])
            .areas(area);
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
            let text = clip(&format!("{:>4}  {}", s.line, s.sql.lines().next().unwrap_or("")), sql.width as usize);
            let style = if s.destructive.is_some() { t.bad() } else { ratatui::style::Style::new() };
            let style = if i == app.view.cursor { style.patch(t.selected()) } else { style };
            Line::styled(text, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), sql);
    if let Some(s) = plan.statements.get(app.view.cursor) {
        let mut text = vec![Line::styled(format!("line {}:", s.line), t.dim())];
        text.extend(s.sql.lines().map(|l| Line::raw(l.to_string())));
        if let Some(why) = &s.destructive {
            text.insert(1, Line::styled(format!("DESTROYS DATA: {why}"), t.bad()));
        }
        frame.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: false }), full);
    }
}
