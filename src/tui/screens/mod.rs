//! One file per wizard screen; each draws from the app's state and changes nothing.

pub mod audit;
pub mod backup;
pub mod dryrun;
pub mod execute;
pub mod isolation;
pub mod plan;
pub mod preflight;
pub mod verify;
