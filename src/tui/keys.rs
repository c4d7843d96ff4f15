//! The one key table: it dispatches keys, draws the key bar and fills the help overlay, so
//! what the screen says and what the keys do can never disagree.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::tui::app::{App, Focus, Modal, Step};

/// Everything a key can ask the wizard to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// Go on to the next step (or start this step's work).
    Continue,
    /// Go back one step, or close what is open. Never quits.
    Back,
    /// Show the help overlay.
    Help,
    /// Quit (asks first while work runs or after an unverified execute).
    Quit,
    /// Stop: Ctrl-C, asks like Quit.
    Interrupt,
    /// Filter the table list.
    Filter,
    /// Put the selected table in or out of the migration.
    Toggle,
    /// Edit the tenant value.
    EditTenant,
    /// Roll back to the backup.
    Rollback,
    /// Vouch that the application is stopped (processes cutover cannot look into).
    ConfirmStopped,
    /// Verify again (after a resume).
    Verify,
    /// Start over (after a resume).
    StartOver,
    /// Answer yes in a confirmation.
    Yes,
    /// Answer no in a confirmation.
    No,
    /// A character typed into the focused input.
    Type(char),
    /// Delete the last typed character.
    Erase,
}

/// One row of the key table.
pub struct Binding {
    /// The key as the bar shows it.
    pub label: &'static str,
    /// What it does, in a word or two.
    pub hint: &'static str,
    /// The keys that trigger it.
    pub keys: &'static [KeyCode],
    /// The action.
    pub action: Action,
    /// When it applies.
    pub when: fn(&App) -> bool,
}

fn navigating(app: &App) -> bool {
    app.focus == Focus::Screen && app.modal.is_none()
}
fn typing(app: &App) -> bool {
    matches!(app.focus, Focus::Filter | Focus::Tenant | Focus::Confirm)
}
fn confirming(app: &App) -> bool {
    app.modal.as_ref().is_some_and(|m| m.asks_yes_no())
}
fn resuming(app: &App) -> bool {
    app.modal.as_ref().is_some_and(|m| m.is_resume())
}
fn in_list(app: &App) -> bool {
    navigating(app) && matches!(app.step, Step::Audit | Step::Plan | Step::DryRun | Step::Verify)
}
fn on_audit(app: &App) -> bool {
    navigating(app) && app.step == Step::Audit && app.audit.is_some() && app.job.is_none()
}
fn on_plan(app: &App) -> bool {
    navigating(app) && app.step == Step::Plan && app.script.is_none() && app.job.is_none()
}
fn can_continue(app: &App) -> bool {
    navigating(app) && app.job.is_none() && app.continue_label().is_some()
}
fn can_go_back(app: &App) -> bool {
    if confirming(app) {
        return false;
    }
    let settled = app.execute.is_some() || app.verification.is_some();
    app.modal.is_some() || app.focus != Focus::Screen || (app.job.is_none() && app.step != Step::Preflight && !settled)
}
fn can_roll_back(app: &App) -> bool {
    navigating(app)
        && app.step == Step::Verify
        && app.job.is_none()
        && app.rollback_target.is_some()
        && app.rolled_back.is_none()
}
fn vouching(app: &App) -> bool {
    navigating(app) && app.job.is_none() && app.awaits_stop_confirmation()
}
fn modal_closed(app: &App) -> bool {
    app.modal.is_none() && !typing(app)
}
fn can_quit(app: &App) -> bool {
    !typing(app) && matches!(app.modal, None | Some(Modal::Info { .. } | Modal::Error { .. } | Modal::Help))
}

/// The key table, in the order the key bar shows it.
pub const BINDINGS: &[Binding] = &[
    Binding {
        label: "y",
        hint: "yes",
        keys: &[KeyCode::Char('y'), KeyCode::Char('Y')],
        action: Action::Yes,
        when: confirming,
    },
    Binding {
        label: "n/Esc",
        hint: "no",
        keys: &[KeyCode::Char('n'), KeyCode::Char('N')],
        action: Action::No,
        when: confirming,
    },
    Binding { label: "v", hint: "verify", keys: &[KeyCode::Char('v')], action: Action::Verify, when: resuming },
    Binding { label: "r", hint: "roll back", keys: &[KeyCode::Char('r')], action: Action::Rollback, when: resuming },
    Binding { label: "s", hint: "start over", keys: &[KeyCode::Char('s')], action: Action::StartOver, when: resuming },
    Binding { label: "Enter", hint: "accept", keys: &[KeyCode::Enter], action: Action::Continue, when: typing },
    Binding { label: "Bksp", hint: "erase", keys: &[KeyCode::Backspace], action: Action::Erase, when: typing },
    Binding { label: "Enter", hint: "continue", keys: &[KeyCode::Enter], action: Action::Continue, when: can_continue },
    Binding {
        label: "↑↓", hint: "move", keys: &[KeyCode::Up, KeyCode::Char('k')], action: Action::Up, when: in_list
    },
    Binding { label: "", hint: "", keys: &[KeyCode::Down, KeyCode::Char('j')], action: Action::Down, when: in_list },
    Binding {
        label: "",
        hint: "",
        keys: &[KeyCode::PageUp, KeyCode::Char('h'), KeyCode::Left],
        action: Action::PageUp,
        when: in_list,
    },
    Binding {
        label: "",
        hint: "",
        keys: &[KeyCode::PageDown, KeyCode::Char('l'), KeyCode::Right],
        action: Action::PageDown,
        when: in_list,
    },
    Binding {
        label: "c",
        hint: "app is stopped",
        keys: &[KeyCode::Char('c')],
        action: Action::ConfirmStopped,
        when: vouching,
    },
    Binding { label: "/", hint: "filter", keys: &[KeyCode::Char('/')], action: Action::Filter, when: on_audit },
    Binding { label: "space", hint: "in/out", keys: &[KeyCode::Char(' ')], action: Action::Toggle, when: on_audit },
    Binding { label: "t", hint: "tenant", keys: &[KeyCode::Char('t')], action: Action::EditTenant, when: on_plan },
    Binding {
        label: "r",
        hint: "roll back",
        keys: &[KeyCode::Char('r')],
        action: Action::Rollback,
        when: can_roll_back,
    },
    Binding { label: "Esc", hint: "back", keys: &[KeyCode::Esc], action: Action::Back, when: can_go_back },
    Binding { label: "?", hint: "help", keys: &[KeyCode::Char('?')], action: Action::Help, when: modal_closed },
    Binding { label: "q", hint: "quit", keys: &[KeyCode::Char('q')], action: Action::Quit, when: can_quit },
];

/// What a key press asks for in the app's current state, if anything.
///
/// Windows consoles report every key twice, pressed and released: only presses (and repeats,
/// for scrolling) act. AltGr arrives there as Ctrl+Alt, so Ctrl+Alt with a character is that
/// character (`@ { [ ] } \ | ~ €` on German or French keyboards), not a chord.
pub fn dispatch(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let alt_gr = key.modifiers.contains(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if alt_gr && let KeyCode::Char(c) = key.code {
        return typing(app).then_some(Action::Type(c));
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        // The one control key: Ctrl-C stops safely, like q. Chords do nothing else.
        return (key.code == KeyCode::Char('c')).then_some(Action::Interrupt);
    }
    if let Some(b) = BINDINGS.iter().find(|b| b.keys.contains(&key.code) && (b.when)(app)) {
        return Some(b.action);
    }
    if matches!(key.code, KeyCode::Esc) && confirming(app) {
        return Some(Action::No);
    }
    match key.code {
        KeyCode::Char(c) if typing(app) => Some(Action::Type(c)),
        _ => None,
    }
}

/// The bindings that apply now, for the key bar (labels merged for paired keys).
pub fn bar(app: &App) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for b in BINDINGS.iter().filter(|b| (b.when)(app) && !b.label.is_empty()) {
        let hint = match (b.action, app.continue_label()) {
            (Action::Continue, Some(label)) if !typing(app) => label.to_string(),
            _ => b.hint.to_string(),
        };
        if !out.iter().any(|(l, _)| *l == b.label) {
            out.push((b.label, hint));
        }
    }
    out
}

/// Every binding with its hint, for the help overlay.
pub fn help() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> =
        vec![("↑↓ jk", "move in a list"), ("←→ hl", "a page up or down (also PgUp PgDn)")];
    for b in BINDINGS.iter().filter(|b| !b.label.is_empty() && b.action != Action::Up) {
        if !out.iter().any(|(l, h)| *l == b.label && *h == b.hint) {
            out.push((b.label, b.hint));
        }
    }
    out.push(("Ctrl-C", "stop safely (asks first)"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Focus;
    use crate::tui::theme::Theme;
    use ratatui::crossterm::event::KeyEventState;

    fn key(code: KeyCode, modifiers: KeyModifiers, kind: KeyEventKind) -> KeyEvent {
        KeyEvent { code, modifiers, kind, state: KeyEventState::NONE }
    }

    #[test]
    fn a_key_acts_once_on_its_press_never_on_its_release() {
        let app = App::new("pos.db".into(), None, Theme::new(false));
        let press = key(KeyCode::Char('?'), KeyModifiers::NONE, KeyEventKind::Press);
        assert_eq!(dispatch(&app, press), Some(Action::Help));
        assert_eq!(dispatch(&app, key(KeyCode::Char('?'), KeyModifiers::NONE, KeyEventKind::Release)), None);
        let down = key(KeyCode::Down, KeyModifiers::NONE, KeyEventKind::Repeat);
        let mut app = app;
        app.step = Step::Audit;
        assert_eq!(dispatch(&app, down), Some(Action::Down), "a held arrow scrolls");
    }

    #[test]
    fn alt_gr_characters_type_and_ctrl_c_still_stops() {
        let mut app = App::new("pos.db".into(), None, Theme::new(false));
        app.focus = Focus::Tenant;
        for c in ['@', '{', '[', ']', '}', '\\', '|', '~', '€'] {
            let altgr = key(KeyCode::Char(c), KeyModifiers::CONTROL | KeyModifiers::ALT, KeyEventKind::Press);
            assert_eq!(dispatch(&app, altgr), Some(Action::Type(c)), "{c}");
        }
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL, KeyEventKind::Press);
        assert_eq!(dispatch(&app, ctrl_c), Some(Action::Interrupt));
        let ctrl_x = key(KeyCode::Char('x'), KeyModifiers::CONTROL, KeyEventKind::Press);
        assert_eq!(dispatch(&app, ctrl_x), None, "no other chords");
    }
}
