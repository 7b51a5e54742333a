//! Who is calling: signing in (password, TOTP, rate limits), sessions and their ends,
//! invitations, and the registry of live sockets that lets an ended session reach its
//! browser at once. Everything else in the server trusts only what this module hands it:
//! an [`session::Authed`] caller, checked against the permission table.

pub mod devices;
pub mod duties;
pub mod invitations;
pub mod live;
pub mod ratelimit;
pub mod session;
pub mod signin;
