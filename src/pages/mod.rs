//! Whole screens. Each reads state and renders it; logic lives below them.

pub mod refused;
pub mod start;
