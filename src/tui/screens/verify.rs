//! The verification dashboard: each check with PASS/WARN/FAIL, per-table drill-down, totals,
//! timings, where the reports are, and rollback with `r`.

use crate::engine::shown;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::tui::app::App;
use crate::tui::widgets::clip;
use crate::tui::{chrome, widgets};

/// Draws the dashboard.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    if app.job.is_some() {
        chrome::progress(app, frame, Rect { height: area.height.min(7), ..area });
        return;
    }
    let Some(v) = &app.results.verification else {
        frame.render_widget(Paragraph::new("No verification yet."), area);
        return;
    };
    let drill_height = if app.view.drill { 7 } else { 0 };
    let [head, list, drill, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(drill_height),
        Constraint::Length(2),
    ])
    .areas(area);
    let state = match (&app.results.rolled_back, &app.results.changed_since, v.ok) {
        (Some(_), _, _) if app.results.undone => {
            Line::styled("UNDO ROLLED BACK: the database is exactly as it was before the undo", t.warn())
        }
        (Some(_), _, _) if app.choices.isolation => {
            Line::styled("ROLLED BACK: the database is exactly as it was before the isolation fix", t.warn())
        }
        (Some(_), _, _) => {
            Line::styled("ROLLED BACK: the database is exactly as it was before the migration", t.warn())
        }
        (None, Some(_), true) => {
            Line::styled(format!("MIGRATED, CHANGED SINCE THE EXECUTE: {}", v.summary()), t.warn())
        }
        (None, Some(_), false) => {
            Line::styled(format!("CHANGED SINCE THE EXECUTE, CHECKS FAIL: {}", v.summary()), t.bad())
        }
        (None, None, true) if app.results.undone => {
            Line::styled(format!("UNDONE IN PLACE AND VERIFIED: {}", v.summary()), t.good())
        }
        (None, None, true) if app.choices.isolation => {
            Line::styled(format!("KEYS SCOPED PER TENANT, VERIFIED: {}", v.summary()), t.good())
        }
        (None, None, true) => Line::styled(format!("MIGRATED AND VERIFIED: {}", v.summary()), t.good()),
        (None, None, false) => {
            Line::styled(format!("VERIFICATION FAILED: {} — press r to roll back", v.summary()), t.bad())
        }
    };
    let timing = match &app.results.execute() {
        Some(x) => format!(
            "result {} · {} · execute {:.2} s · verify {:.2} s",
            &x.result_sha256[..12.min(x.result_sha256.len())],
            if x.identical { "MATCH with the rehearsal" } else { "differs from the rehearsal" },
            x.seconds - v.seconds,
            v.seconds
        ),
        None => match &app.results.changed_since {
            Some(what) => what.clone(),
            None => format!("{:?} checks · {:.2} s", v.scope, v.seconds),
        },
    };
    frame.render_widget(Paragraph::new(vec![state, Line::styled(clip(&timing, head.width as usize), t.dim())]), head);
    let checks = app.dashboard_checks();
    let lines = widgets::check_lines(t, &checks, Some(app.view.cursor), list.height as usize, list.width);
    frame.render_widget(Paragraph::new(lines), list);
    if app.view.drill
        && let Some(c) = checks.get(app.view.cursor)
    {
        let block = Block::bordered().title(format!(" {} ", c.name));
        let inner = block.inner(drill);
        frame.render_widget(block, drill);
        let mut findings: Vec<Line> = c
            .findings
            .iter()
            .map(|f| {
                Line::from(vec![
                    Span::styled(format!("{:<5}", f.status.label()), t.status(f.status)),
                    Span::raw(clip(&format!("{}: {}", f.subject, f.detail), inner.width.saturating_sub(5) as usize)),
                ])
            })
            .collect();
        if findings.is_empty() {
            findings.push(Line::raw(clip(&c.detail, inner.width as usize)));
        }
        frame.render_widget(Paragraph::new(findings), inner);
    }
    let reports = match app.results.reports.iter().find(|p| p.ends_with("execution.md")).or(app.results.reports.first())
    {
        Some(p) => format!("Reports: {}", p.parent().map(shown).unwrap_or_default()),
        None => String::new(),
    };
    let hint = if app.results.rolled_back.is_some() {
        "Restart the shop's application. q quits."
    } else if app.results.changed_since.is_some() {
        "Enter: details · r: roll back (it lists what the shop wrote since, and asks twice)"
    } else {
        "Enter: details of the selected check · r: roll back to the backup"
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled(clip(&reports, foot.width as usize), t.dim()),
            Line::raw(clip(hint, foot.width as usize)),
        ]),
        foot,
    );
}
