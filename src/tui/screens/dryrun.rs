//! The dry-run screen: progress while the copy is rehearsed, then the copy's checks.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::widgets::clip;
use crate::tui::{chrome, widgets};

/// Draws the rehearsal.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    if app.job.is_some() {
        let [intro, gauge] = Layout::vertical([Constraint::Length(2), Constraint::Length(7)]).areas(area);
        frame.render_widget(
            Paragraph::new("Rehearsing the plan on a scratch copy of the backup. The database is not touched."),
            intro,
        );
        chrome::progress(app, frame, gauge);
        return;
    }
    let Some(d) = &app.prepared.dry_run() else {
        frame.render_widget(Paragraph::new("Press Enter to rehearse the plan on a copy."), area);
        return;
    };
    let [head, list, foot] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(2)]).areas(area);
    let verdict = if d.ok {
        Line::styled(format!("Dry run PASSED on the copy: {}", d.verification.summary()), t.good())
    } else {
        Line::styled(
            format!("Dry run FAILED on the copy: {} — execute stays locked", d.verification.summary()),
            t.bad(),
        )
    };
    let stmts = d.statements.len();
    let plan_s: f64 = d.statements.iter().map(|s| s.seconds).sum();
    frame.render_widget(
        Paragraph::new(vec![
            verdict,
            Line::styled(format!("{stmts} statements in {plan_s:.2} s · whole rehearsal {:.2} s", d.seconds), t.dim()),
        ]),
        head,
    );
    let lines =
        widgets::check_lines(t, &d.verification.checks, Some(app.view.cursor), list.height as usize, list.width);
    frame.render_widget(Paragraph::new(lines), list);
    let next = if d.ok {
        "Press Enter to execute on the database (you will be asked to confirm)."
    } else {
        "Esc to go back and change the plan."
    };
    frame.render_widget(Paragraph::new(vec![Line::raw(clip(next, foot.width as usize))]), foot);
}
