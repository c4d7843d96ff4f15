//! The key tables: they dispatch keys, draw the key bar and fill the help overlay, so what the
//! screen says and what the keys do can never disagree. An open dialog's own keys come first,
//! then the screen's; both read only the [`Mode`] the app computes.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::tui::dialogs;
use crate::tui::mode::{Action, Binding, DialogKind, Mode};

fn typing(m: &Mode) -> bool {
    m.typing()
}
fn in_list(m: &Mode) -> bool {
    m.navigating() && m.list
}
fn on_audit(m: &Mode) -> bool {
    m.navigating() && m.on_audit
}
fn on_plan(m: &Mode) -> bool {
    m.navigating() && m.on_plan
}
fn can_choose_app(m: &Mode) -> bool {
    m.navigating() && m.can_choose_app
}
fn can_switch_app(m: &Mode) -> bool {
    m.navigating() && m.can_switch_app
}
fn can_continue(m: &Mode) -> bool {
    m.navigating() && !m.busy && m.next.is_some()
}
fn can_go_back(m: &Mode) -> bool {
    m.dialog != Some(DialogKind::YesNo) && (m.dialog.is_some() || m.typing() || m.can_step_back)
}
fn can_roll_back(m: &Mode) -> bool {
    m.navigating() && m.can_roll_back
}
fn on_isolation(m: &Mode) -> bool {
    m.navigating() && m.on_isolation
}
fn can_isolate(m: &Mode) -> bool {
    m.navigating() && !m.busy && m.can_isolate
}
fn vouching(m: &Mode) -> bool {
    m.navigating() && !m.busy && m.vouching
}
fn nothing_open(m: &Mode) -> bool {
    m.dialog.is_none() && !m.typing()
}
fn can_quit(m: &Mode) -> bool {
    !m.typing() && matches!(m.dialog, None | Some(DialogKind::Message | DialogKind::Help))
}

/// The screen's key table, in the order the key bar shows it.
pub const BINDINGS: &[Binding] = &[
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
    Binding { label: "space", hint: "in/out", keys: &[KeyCode::Char(' ')], action: Action::Toggle, when: on_isolation },
    Binding { label: "i", hint: "isolation", keys: &[KeyCode::Char('i')], action: Action::Isolate, when: can_isolate },
    Binding { label: "t", hint: "tenant", keys: &[KeyCode::Char('t')], action: Action::EditTenant, when: on_plan },
    Binding {
        label: "m",
        hint: "app folder",
        keys: &[KeyCode::Char('m')],
        action: Action::EditMigrations,
        when: can_choose_app,
    },
    Binding {
        label: "a",
        hint: "app's plan",
        keys: &[KeyCode::Char('a')],
        action: Action::SwitchPlan,
        when: can_switch_app,
    },
    Binding {
        label: "r",
        hint: "roll back",
        keys: &[KeyCode::Char('r')],
        action: Action::Rollback,
        when: can_roll_back,
    },
    Binding { label: "Esc", hint: "back", keys: &[KeyCode::Esc], action: Action::Back, when: can_go_back },
    Binding { label: "?", hint: "help", keys: &[KeyCode::Char('?')], action: Action::Help, when: nothing_open },
    Binding { label: "q", hint: "quit", keys: &[KeyCode::Char('q')], action: Action::Quit, when: can_quit },
];

/// The bindings that apply in `mode`: the open dialog's own, then the screen's.
fn applying(mode: &Mode) -> impl Iterator<Item = &'static Binding> + '_ {
    let own = mode.dialog.map_or(&[][..], dialogs::keys);
    own.iter().chain(BINDINGS.iter()).filter(|b| (b.when)(mode))
}

/// What a key press asks for in this mode, if anything.
///
/// Windows consoles report every key twice, pressed and released: only presses (and repeats,
/// for scrolling) act. AltGr arrives there as Ctrl+Alt, so Ctrl+Alt with a character is that
/// character (`@ { [ ] } \ | ~ €` on German or French keyboards), not a chord.
pub fn dispatch(mode: &Mode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let alt_gr = key.modifiers.contains(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if alt_gr && let KeyCode::Char(c) = key.code {
        return mode.typing().then_some(Action::Type(c));
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        // The one control key: Ctrl-C stops safely, like q. Chords do nothing else.
        return (key.code == KeyCode::Char('c')).then_some(Action::Interrupt);
    }
    if let Some(b) = applying(mode).find(|b| b.keys.contains(&key.code)) {
        return Some(b.action);
    }
    match key.code {
        KeyCode::Char(c) if mode.typing() => Some(Action::Type(c)),
        _ => None,
    }
}

/// The bindings that apply now, for the key bar (labels merged for paired keys).
pub fn bar(mode: &Mode) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for b in applying(mode).filter(|b| !b.label.is_empty()) {
        let hint = match (b.action, mode.next) {
            (Action::Continue, Some(label)) if !mode.typing() => label.to_string(),
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
    let dialog_keys = [DialogKind::YesNo, DialogKind::Resume].into_iter().flat_map(dialogs::keys);
    for b in dialog_keys.chain(BINDINGS).filter(|b| !b.label.is_empty() && b.action != Action::Up) {
        if !out.iter().any(|(l, h)| *l == b.label && *h == b.hint) {
            out.push((b.label, b.hint));
        }
    }
    // Pairs on one line each, so the list fits an 80×24 screen: a question's two answers,
    // Enter's two meanings, and the application's folder with its plan.
    let pairs = [
        (("y", "yes"), ("n/Esc", "no"), ("y n/Esc", "yes, no (in a question)")),
        (("Enter", "continue"), ("Enter", "accept"), ("Enter", "continue, or accept what is typed")),
        (("m", "app folder"), ("a", "app's plan"), ("m a", "the app's migrations folder; its own plan")),
    ];
    for (first, second, both) in pairs {
        if let (Some(i), Some(j)) = (out.iter().position(|e| *e == first), out.iter().position(|e| *e == second)) {
            out[i.min(j)] = both;
            out.remove(i.max(j));
        }
    }
    out.push(("Ctrl-C", "stop safely (asks first)"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::mode::Focus;
    use ratatui::crossterm::event::KeyEventState;

    fn key(code: KeyCode, modifiers: KeyModifiers, kind: KeyEventKind) -> KeyEvent {
        KeyEvent { code, modifiers, kind, state: KeyEventState::NONE }
    }

    fn screen() -> Mode {
        Mode {
            focus: Focus::Screen,
            dialog: None,
            busy: false,
            next: None,
            list: false,
            can_step_back: false,
            on_audit: false,
            on_plan: false,
            can_roll_back: false,
            vouching: false,
            can_undo: false,
            can_isolate: false,
            on_isolation: false,
            can_choose_app: false,
            can_switch_app: false,
        }
    }

    #[test]
    fn a_key_acts_once_on_its_press_never_on_its_release() {
        let mode = screen();
        let press = key(KeyCode::Char('?'), KeyModifiers::NONE, KeyEventKind::Press);
        assert_eq!(dispatch(&mode, press), Some(Action::Help));
        assert_eq!(dispatch(&mode, key(KeyCode::Char('?'), KeyModifiers::NONE, KeyEventKind::Release)), None);
        let down = key(KeyCode::Down, KeyModifiers::NONE, KeyEventKind::Repeat);
        let in_a_list = Mode { list: true, ..screen() };
        assert_eq!(dispatch(&in_a_list, down), Some(Action::Down), "a held arrow scrolls");
    }

    #[test]
    fn alt_gr_characters_type_and_ctrl_c_still_stops() {
        let mode = Mode { focus: Focus::Tenant, ..screen() };
        for c in ['@', '{', '[', ']', '}', '\\', '|', '~', '€'] {
            let altgr = key(KeyCode::Char(c), KeyModifiers::CONTROL | KeyModifiers::ALT, KeyEventKind::Press);
            assert_eq!(dispatch(&mode, altgr), Some(Action::Type(c)), "{c}");
        }
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL, KeyEventKind::Press);
        assert_eq!(dispatch(&mode, ctrl_c), Some(Action::Interrupt));
        let ctrl_x = key(KeyCode::Char('x'), KeyModifiers::CONTROL, KeyEventKind::Press);
        assert_eq!(dispatch(&mode, ctrl_x), None, "no other chords");
    }

    #[test]
    fn an_open_question_owns_y_n_and_esc() {
        let mode = Mode { dialog: Some(DialogKind::YesNo), can_step_back: true, ..screen() };
        let press = |c| key(c, KeyModifiers::NONE, KeyEventKind::Press);
        assert_eq!(dispatch(&mode, press(KeyCode::Char('y'))), Some(Action::Yes));
        assert_eq!(dispatch(&mode, press(KeyCode::Esc)), Some(Action::No), "Esc answers no, never goes back");
        assert_eq!(dispatch(&mode, press(KeyCode::Char('q'))), None, "q does not quit past a question");
        let labels: Vec<&str> = bar(&mode).into_iter().map(|(l, _)| l).collect();
        assert_eq!(labels, ["y", "n/Esc"]);
    }

    #[test]
    fn the_bar_names_what_enter_does() {
        let mode = Mode { next: Some("dry run"), ..screen() };
        assert_eq!(bar(&mode).first().map(|(l, h)| (*l, h.as_str())), Some(("Enter", "dry run")));
        let busy = Mode { busy: true, ..mode };
        assert!(!bar(&busy).iter().any(|(l, _)| *l == "Enter"), "Enter does nothing while a job runs");
    }

    #[test]
    fn the_way_back_offers_u_only_when_there_is_an_undo() {
        let press = |c| key(c, KeyModifiers::NONE, KeyEventKind::Press);
        let without = Mode { dialog: Some(DialogKind::WayBack), ..screen() };
        assert_eq!(dispatch(&without, press(KeyCode::Char('u'))), None);
        assert_eq!(dispatch(&without, press(KeyCode::Char('d'))), Some(Action::Discard));
        assert!(!bar(&without).iter().any(|(k, _)| *k == "u"));
        let with = Mode { can_undo: true, ..without };
        assert_eq!(dispatch(&with, press(KeyCode::Char('u'))), Some(Action::Undo));
        assert_eq!(bar(&with).first().map(|(k, _)| *k), Some("u"), "undo is offered first");
    }
}
