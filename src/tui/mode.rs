//! What the keys see of the wizard: a small [`Mode`] the app computes from its state, and the
//! vocabulary of actions and bindings. Keys dispatch on this alone, so the key table depends on
//! no screen or state type.

use ratatui::crossterm::event::KeyCode;

/// Where typed keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Keys move and act.
    Screen,
    /// Keys type into the audit filter.
    Filter,
    /// Keys type the tenant value.
    Tenant,
    /// Keys type the application's migrations folder.
    Migrations,
    /// Keys type the confirmation in an open dialog.
    Confirm,
}

/// Which kind of dialog is open, for the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    /// The key list.
    Help,
    /// An error or an information: read, then close.
    Message,
    /// A y/N question.
    YesNo,
    /// A word to type (the typing keys apply).
    Typed,
    /// The offer to pick up an earlier run.
    Resume,
    /// The ways back once the shop wrote since the execute: undo in place or restore.
    WayBack,
}

/// The wizard as the keys see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Where typed keys go.
    pub focus: Focus,
    /// The dialog that is open.
    pub dialog: Option<DialogKind>,
    /// A job is running.
    pub busy: bool,
    /// What Enter does on the screen now (its key-bar label); `None`: nothing.
    pub next: Option<&'static str>,
    /// The screen shows a list to move in.
    pub list: bool,
    /// Esc goes back a step (production unchanged, not on the first step).
    pub can_step_back: bool,
    /// The audit list can be filtered and its tables toggled.
    pub on_audit: bool,
    /// The tenant value can be edited.
    pub on_plan: bool,
    /// `r` asks to roll back to a backup.
    pub can_roll_back: bool,
    /// The first screen waits for the technician's word that the application is stopped.
    pub vouching: bool,
    /// The last execute can be undone in place (its inverse is planned and checked).
    pub can_undo: bool,
    /// `i` starts the isolation fix (the tenant column is in place).
    pub can_isolate: bool,
    /// The isolation list: its keys can be toggled.
    pub on_isolation: bool,
    /// `m` names the application's migrations folder (audit and plan).
    pub can_choose_app: bool,
    /// `a` switches the plan between the tenant migration and the app's own pending ones.
    pub can_switch_app: bool,
}

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
    /// Name the application's migrations folder.
    EditMigrations,
    /// Switch the plan between the tenant migration and the application's own migrations.
    SwitchPlan,
    /// Roll back to the backup.
    Rollback,
    /// Vouch that the application is stopped (processes cutover cannot look into).
    ConfirmStopped,
    /// Verify again (after a resume).
    Verify,
    /// Start over (after a resume).
    StartOver,
    /// Undo the last execute in place, keeping the shop's new work.
    Undo,
    /// Start the isolation fix: keys rebuilt to lead with the tenant column.
    Isolate,
    /// Restore the backup although it discards the shop's new work (asks for a word first).
    Discard,
    /// Answer yes in a confirmation.
    Yes,
    /// Answer no in a confirmation.
    No,
    /// A character typed into the focused input.
    Type(char),
    /// Delete the last typed character.
    Erase,
}

/// One row of a key table.
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
    pub when: fn(&Mode) -> bool,
}

impl Mode {
    /// Keys type into an input.
    pub fn typing(&self) -> bool {
        self.focus != Focus::Screen
    }

    /// Keys act on the screen: no dialog, no input.
    pub fn navigating(&self) -> bool {
        self.focus == Focus::Screen && self.dialog.is_none()
    }
}
