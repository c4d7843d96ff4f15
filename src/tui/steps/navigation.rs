//! Going back: Esc closes what is open, leaves an input, or goes back a step — never quits,
//! and never back past a change made to production.

use crate::tui::app::App;
use crate::tui::input::Input;
use crate::tui::mode::Focus;

impl App {
    pub(crate) fn back(&mut self) {
        if self.view.modal.take().is_some() {
            if self.view.focus == Focus::Confirm {
                self.view.focus = Focus::Screen;
            }
            return;
        }
        match self.view.focus {
            Focus::Filter => {
                self.choices.filter = Input::default();
                self.view.focus = Focus::Screen;
                return;
            }
            Focus::Tenant | Focus::Migrations | Focus::Confirm => {
                self.view.focus = Focus::Screen;
                return;
            }
            Focus::Screen => {}
        }
        // Once production has changed, the earlier steps are history: stay on the results.
        if self.mode().can_step_back {
            let to = self.view.step.previous();
            self.move_to(to);
        }
    }
}
