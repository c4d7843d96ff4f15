//! The engine: every piece of database work cutover does, with no terminal or command-line code.
//!
//! Each phase is a synchronous function that pushes [`Progress`] to a callback and returns a
//! report; the CLI prints the progress, the wizard forwards it to its screen.

pub mod apply;
pub mod audit;
pub mod backup;
pub mod backup_ref;
pub mod changes;
pub mod demo;
pub mod dryrun;
pub mod durable;
pub mod error;
pub mod execute;
pub mod guard;
pub mod hashing;
pub mod hold;
pub mod holder;
pub mod human;
pub mod inuse;
pub mod journal;
pub mod open;
pub mod ospath;
pub mod paths;
pub mod plan;
pub mod platform;
pub mod preflight;
pub mod progress;
pub mod recovery;
pub mod refusal;
pub mod reports;
pub mod reverify;
pub mod rollback;
pub mod session;
pub mod shown;
pub mod sql;
pub mod status;
pub mod verify;
pub mod wal;

pub use error::{Error, ExitKind, Result};
pub use progress::Progress;
