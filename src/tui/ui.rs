//! Drawing the whole wizard from the app's state: stepper on top, the screen, a notice line,
//! the key bar at the bottom, and any dialog over them. Drawing never changes the app.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Step};
use crate::tui::dialogs::{self, Context};
use crate::tui::widgets::clip;
use crate::tui::{chrome, keys, screens};

/// Draws one frame.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let [top, rule, body, notice, bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::stepper(app, frame, top);
    frame.render_widget(Paragraph::new(Line::styled("─".repeat(rule.width as usize), app.theme.dim())), rule);
    match app.view.step {
        Step::Preflight => screens::preflight::render(app, frame, body),
        Step::Backup => screens::backup::render(app, frame, body),
        Step::Audit if app.choices.isolation => screens::isolation::render(app, frame, body),
        Step::Audit => screens::audit::render(app, frame, body),
        Step::Plan => screens::plan::render(app, frame, body),
        Step::DryRun => screens::dryrun::render(app, frame, body),
        Step::Execute => screens::execute::render(app, frame, body),
        Step::Verify => screens::verify::render(app, frame, body),
    }
    if let Some(text) = app.view.notice.clone().or_else(|| app.hold_line()) {
        frame.render_widget(Paragraph::new(Line::styled(clip(&text, notice.width as usize), app.theme.warn())), notice);
    }
    chrome::key_bar(app, frame, bar);
    if let Some(modal) = &app.view.modal {
        let help = if matches!(modal, dialogs::Modal::Help) { keys::help() } else { Vec::new() };
        let ctx = Context { theme: app.theme, db: &app.db, typed: &app.choices.confirm.text, help };
        dialogs::render(&ctx, modal, frame);
    }
}
