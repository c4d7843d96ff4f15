//! The wizard's frame around every screen: the stepper, the key bar and the running job's
//! progress box.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};

use crate::engine::Progress;
use crate::engine::human_bytes;
use crate::tui::app::{App, Step};
use crate::tui::keys;

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
        let style = if *step == app.view.step {
            t.title().add_modifier(ratatui::style::Modifier::UNDERLINED)
        } else if done {
            t.good()
        } else {
            t.dim()
        };
        let label = if *step == Step::Audit && app.choices.isolation { "Isolation" } else { step.label() };
        spans.push(Span::styled(format!("{mark}{label}"), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn step_done(app: &App, step: Step) -> bool {
    match step {
        Step::Preflight => app.prepared.preflight.as_ref().is_some_and(|p| !p.in_use()),
        Step::Backup => app.prepared.backup.is_some(),
        Step::Audit => {
            (app.prepared.audit.is_some() || app.prepared.isolation.is_some()) && app.view.step > Step::Audit
        }
        Step::Plan => app.prepared.plan().is_some() && app.view.step > Step::Plan,
        Step::DryRun => app.prepared.dry_run().as_ref().is_some_and(|d| d.ok),
        Step::Execute => app.results.execute().is_some(),
        Step::Verify => app.results.verification.as_ref().is_some_and(|v| v.ok),
    }
}

/// The key bar, built from the same table that dispatches keys.
pub fn key_bar(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let mut entries = keys::bar(&app.mode());
    // Whole entries, never a key without its word: what does not fit goes, from the last of
    // the screen's own keys, so Enter, Esc, help and quit always show.
    let width = |e: &[(&str, String)]| e.iter().map(|(l, h)| l.chars().count() + h.chars().count() + 3).sum::<usize>();
    while width(&entries) > area.width as usize + 2 {
        let Some(i) = entries.iter().rposition(|(l, _)| !["Enter", "Esc", "?", "q"].contains(l)) else { break };
        entries.remove(i);
    }
    let mut spans = Vec::new();
    for (label, hint) in entries {
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
