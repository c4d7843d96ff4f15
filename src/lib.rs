//! cutover: take a live SQLite database through a risky migration without losing a byte.
//!
//! The [`engine`] does the database work and knows nothing of terminals; the [`tui`] wizard and
//! the binary's command line sit on top of it.

pub mod engine;
pub mod tui;
