//! Video visits: WebRTC between the members of a visit's MLS group, with signalling
//! carried inside that group (issue 23). [`state`] is the negotiation and admission logic,
//! plain Rust; the browser side that carries out its commands comes with the visit views.

pub mod state;
