//! The Windows side of the platform layer (written next).
