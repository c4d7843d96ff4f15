//! Pieces every screen shares: the stepper, the key bar, the progress box, the check table,
//! and the dialogs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Gauge, Paragraph, Wrap};

use crate::engine::Progress;
use crate::engine::error::human_bytes;
use crate::engine::verify::Check;
use crate::tui::app::{App, Step};
use crate::tui::keys;
use crate::tui::theme::Theme;

/// `✓ Preflight › ✓ Backup › Audit › …` with the current step highlighted.
pub fn stepper(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let mut spans = Vec::new();
    for (i, step) in Step::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(t.step_separator(), t.dim()));
        }
        let done = step_done(app, *step);
        let mark = if done { t.tick() } else { "" };
        let style = if *step == app.step {
            t.title().add_modifier(ratatui::style::Modifier::UNDERLINED)
        } else if done {
            t.good()
        } else {
            t.dim()
        };
        spans.push(Span::styled(format!("{mark}{}", step.label()), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn step_done(app: &App, step: Step) -> bool {
    match step {
        Step::Preflight => app.preflight.as_ref().is_some_and(|p| !p.in_use()),
        Step::Backup => app.backup.is_some(),
        Step::Audit => app.audit.is_some() && app.step > Step::Audit,
        Step::Plan => app.plan.is_some() && app.step > Step::Plan,
        Step::DryRun => app.dry_run.as_ref().is_some_and(|d| d.ok),
        Step::Execute => app.execute.is_some(),
        Step::Verify => app.verification.as_ref().is_some_and(|v| v.ok),
    }
}

/// The key bar, built from the same table that dispatches keys.
pub fn key_bar(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let mut spans = Vec::new();
    for (label, hint) in keys::bar(app) {
        spans.push(Span::styled(label, t.key()));
        spans.push(Span::raw(format!(" {hint}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The running job: what it does, a gauge, the current statement, elapsed time and rate.
pub fn progress(app: &App, frame: &mut Frame, area: Rect) {
    let Some(job) = &app.job else { return };
    let t = app.theme;
    let elapsed = job.started.elapsed().as_secs_f64();
    let (ratio, detail) = match &job.progress {
        Some(Progress::Bytes { stage, done, total }) => {
            let rate = if elapsed > 0.0 { *done as f64 / elapsed } else { 0.0 };
            (
                ratio(*done, *total),
                format!("{stage}: {} of {} · {}/s", human_bytes(*done), human_bytes(*total), human_bytes(rate as u64)),
            )
        }
        Some(Progress::Table { name, index, total }) => {
            (ratio(*index as u64, *total as u64), format!("table {index} of {total}: {name}"))
        }
        Some(Progress::Statement { index, total, line, sql }) => {
            let rate = if elapsed > 0.0 { *index as f64 / elapsed } else { 0.0 };
            (
                ratio(*index as u64, *total as u64),
                format!("statement {index} of {total} (line {line}) · {rate:.1}/s\n{sql}"),
            )
        }
        Some(Progress::Check { name }) => (0.0, format!("checking: {name}")),
        Some(Progress::Step(text) | Progress::Notice(text)) => (0.0, text.clone()),
        None => (0.0, "starting…".to_string()),
    };
    let stop = if job.stopping { " — stopping safely…" } else { "" };
    let title = format!(" {} · {:.1} s{stop} ", job.kind.label(), elapsed);
    let block = Block::bordered().title(Span::styled(title, t.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [gauge, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(
        Gauge::default().ratio(ratio.clamp(0.0, 1.0)).gauge_style(t.good()).label(format!("{:.0}%", ratio * 100.0)),
        gauge,
    );
    let mut lines: Vec<Line> = detail.lines().map(|l| Line::raw(l.to_string())).collect();
    // While checks run after the statements, keep saying how far the statements got.
    if let Some(Progress::Statement { index, total, .. }) = &job.statement
        && !matches!(job.progress, Some(Progress::Statement { .. }))
    {
        lines.insert(0, Line::styled(format!("statements done: {index} of {total}"), t.dim()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
}

fn ratio(done: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { done as f64 / total as f64 }
}

/// Checks as rows: verdict, name, detail; the selected one reversed.
pub fn check_lines(
    theme: Theme,
    checks: &[Check],
    selected: Option<usize>,
    height: usize,
    width: u16,
) -> Vec<Line<'static>> {
    let offset = selected.map_or(0, |s| s.saturating_sub(height.saturating_sub(1)));
    checks
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, c)| {
            let detail = clip(&c.detail, (width as usize).saturating_sub(27));
            let row_style = if Some(i) == selected { theme.selected() } else { Style::new() };
            Line::from(vec![
                Span::styled(format!(" {:<4} ", c.status.label()), theme.status(c.status)),
                Span::styled(format!("{:<20} ", clip(&c.name, 20)), row_style),
                Span::styled(detail, row_style),
            ])
        })
        .collect()
}

/// Cuts text to `max` characters with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A centred box of the given size, cleared, with a title.
pub fn dialog(frame: &mut Frame, area: Rect, width: u16, height: u16, title: Line<'static>) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    let rect = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}
