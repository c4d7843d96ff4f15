//! cutover: take a live SQLite database through a risky migration without losing a byte.
//!
//! The [`engine`] (its own crate, `cutover-engine`, so Cargo keeps terminal and command-line
//! crates out of it) does the database work; the [`tui`] wizard and the binary's command line
//! sit on top of it.

pub use cutover_engine as engine;

pub mod tui;
