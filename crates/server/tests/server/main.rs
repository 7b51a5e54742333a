//! The server's integration tests, one binary (one link on two cores): a real server on
//! a real TLS listener, driven by clients that trust exactly its certificate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

mod asyncapi;
mod audit;
mod bounds;
mod brand;
mod conversations;
mod delivery;
mod directory;
mod http;
mod identity;
mod invitations;
mod openapi;
mod ordering;
mod phi_reads;
mod quotas;
mod rate_limits;
mod sessions;
mod tls;
mod visits;
mod ws;
