//! The dialogs drawn over the screen. Each kind owns its drawing and its keys: messages
//! (help, errors, information), y/N questions, words to type, and the resume offer.

mod message;
mod question;
mod resume;
mod typed;
mod wayback;

pub use wayback::WayBack;

use std::path::Path;

use ratatui::Frame;

use crate::engine::BackupRef;
use crate::tui::mode::{Binding, DialogKind};
use crate::tui::theme::Theme;

/// What is shown over the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    /// The key list.
    Help,
    /// Something went wrong: what happened and what to do next.
    Error { title: String, message: String, next: String },
    /// A message after something finished.
    Info { title: String, lines: Vec<String> },
    /// y/N before restoring the backup.
    ConfirmRollback { backup: BackupRef },
    /// y/N before the undo in place changes the database: what it drops, from how many tables.
    ConfirmUndo { drops: String },
    /// The database changed since the execute: what a restore would throw away, and the word to
    /// type to restore anyway (the second confirmation).
    TypeToDiscard { lines: Vec<String>, expected: String },
    /// y/N: the technician vouches that the application is stopped, for processes cutover
    /// cannot look into.
    ConfirmStopped { unseen: String },
    /// y/N before quitting with work unfinished.
    ConfirmQuit { reason: String },
    /// y/N before stopping running work.
    ConfirmStop,
    /// Type the tenant value (or the file name) to execute.
    TypeToExecute { expected: String },
    /// An earlier run of this database to pick up.
    Resume { text: Vec<String> },
    /// The shop wrote since the execute: undo in place first, or restore discarding it.
    WayBack(WayBack),
}

impl Modal {
    /// Which kind of dialog it is, for the keys.
    pub fn kind(&self) -> DialogKind {
        match self {
            Modal::Help => DialogKind::Help,
            Modal::Error { .. } | Modal::Info { .. } => DialogKind::Message,
            Modal::ConfirmRollback { .. }
            | Modal::ConfirmUndo { .. }
            | Modal::ConfirmStopped { .. }
            | Modal::ConfirmQuit { .. }
            | Modal::ConfirmStop => DialogKind::YesNo,
            Modal::TypeToDiscard { .. } | Modal::TypeToExecute { .. } => DialogKind::Typed,
            Modal::Resume { .. } => DialogKind::Resume,
            Modal::WayBack(_) => DialogKind::WayBack,
        }
    }

    /// Whether it waits for y or n.
    pub fn asks_yes_no(&self) -> bool {
        self.kind() == DialogKind::YesNo
    }

    /// Whether it is the resume offer.
    pub fn is_resume(&self) -> bool {
        self.kind() == DialogKind::Resume
    }
}

/// What a dialog shows besides its own fields.
pub struct Context<'a> {
    /// Colours.
    pub theme: Theme,
    /// The database, as the technician typed it.
    pub db: &'a Path,
    /// The text typed so far, for the dialogs that ask for a word.
    pub typed: &'a str,
    /// Every key with its hint, for the help.
    pub help: Vec<(&'static str, &'static str)>,
}

/// The keys a dialog of this kind owns (the bar shows them first).
pub fn keys(kind: DialogKind) -> &'static [Binding] {
    match kind {
        DialogKind::YesNo => question::KEYS,
        DialogKind::Resume => resume::KEYS,
        DialogKind::WayBack => wayback::KEYS,
        DialogKind::Help | DialogKind::Message | DialogKind::Typed => &[],
    }
}

/// Draws the dialog that is open.
pub fn render(ctx: &Context<'_>, modal: &Modal, frame: &mut Frame) {
    match modal {
        Modal::Help => message::help(ctx, frame),
        Modal::Error { title, message, next } => message::error(ctx, frame, title, message, next),
        Modal::Info { title, lines } => message::info(ctx, frame, title, lines),
        Modal::ConfirmRollback { backup } => question::rollback(ctx, frame, backup),
        Modal::ConfirmUndo { drops } => question::undo(ctx, frame, drops),
        Modal::ConfirmQuit { reason } => question::quit(ctx, frame, reason),
        Modal::ConfirmStop => question::stop(ctx, frame),
        Modal::ConfirmStopped { unseen } => question::stopped(ctx, frame, unseen),
        Modal::TypeToExecute { expected } => typed::execute(ctx, frame, expected),
        Modal::TypeToDiscard { lines, expected } => typed::discard(ctx, frame, lines, expected),
        Modal::Resume { text } => resume::render(ctx, frame, text),
        Modal::WayBack(way) => wayback::render(ctx, frame, way),
    }
}

/// The width of a dialog's text on this screen.
fn text_width(frame: &Frame) -> u16 {
    frame.area().width.saturating_sub(8).min(72)
}
