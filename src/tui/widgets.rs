//! Drawing pieces that know nothing of the wizard's state: the check table, clipped text and
//! the dialog box.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear};

use crate::engine::Check;
use crate::tui::theme::Theme;

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
