//! Video visits: WebRTC between the members of a visit's MLS group, with signalling
//! carried inside that group (issue 23). [`state`] is the negotiation and admission logic,
//! plain Rust; [`call`] carries out its commands with the browser's WebRTC; [`views`] are
//! the visit views. They run in the visit module (`src/bin/visit.rs`), loaded when a
//! visit view opens; [`host`] is the app's side of it and [`bridge`] what the two say.

pub mod bridge;
pub mod call;
pub mod host;
pub mod module;
pub mod state;
pub mod views;
