//! Drawing the whole wizard from the app's state: stepper on top, the screen, a notice line,
//! the key bar at the bottom, and any dialog over them. Drawing never changes the app.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Step};
use crate::tui::widgets::{self, clip};
use crate::tui::{modals, screens};

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
    widgets::stepper(app, frame, top);
    frame.render_widget(Paragraph::new(Line::styled("─".repeat(rule.width as usize), app.theme.dim())), rule);
    match app.step {
        Step::Preflight => screens::preflight::render(app, frame, body),
        Step::Backup => screens::backup::render(app, frame, body),
        Step::Audit => screens::audit::render(app, frame, body),
        Step::Plan => screens::plan::render(app, frame, body),
        Step::DryRun => screens::dryrun::render(app, frame, body),
        Step::Execute => screens::execute::render(app, frame, body),
        Step::Verify => screens::verify::render(app, frame, body),
    }
    if let Some(text) = &app.notice {
        frame.render_widget(Paragraph::new(Line::styled(clip(text, notice.width as usize), app.theme.warn())), notice);
    }
    widgets::key_bar(app, frame, bar);
    if let Some(modal) = &app.modal {
        modals::render(app, modal, frame);
    }
}
