//! The wizard's transitions, one module per step, each an `impl App` block: `app.rs` holds the
//! state and dispatches actions here, so no one file grows into the central knot.

mod answers;
mod execute;
mod hold;
mod isolation;
mod navigation;
mod preflight;
mod results;
mod tables;
