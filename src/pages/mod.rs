//! Whole screens. Each reads state and renders it; logic lives below them.

pub mod audit;
pub mod refused;
pub mod shell;
pub mod signin;
pub mod start;
pub mod views;
