//! Haven's end-to-end encryption, sans I/O: a thin layer over openmls (RFC 9420) that
//! knows Haven's device certificates and conversation rules and nothing about networks,
//! browsers or databases. Callers push in what the server sent and pull out what to send
//! and what to show; the same code runs natively (tests, benchmarks, the server's checks
//! of uploaded KeyPackages) and in the browser.
//!
//! Trust: everything pushed in is hostile until openmls and [`cert::Trust`] have checked
//! it. Nothing here logs, and the `Debug` of anything holding keys or plaintext is
//! redacted.

pub mod cert;
pub mod content;
mod device;
mod error;
pub mod link;
mod provider;
pub mod public;
pub mod wire;

pub use cert::{CertificateBody, CertificateError, DeviceCertificate, Issuer, Trust};
pub use content::{Content, Entry, Shown, Transcript};
pub use device::{Commit, Device, MAX_PAST_EPOCHS, Member, Received};
pub use error::{Error, Result};
pub use link::{Digest, Link, Links};
pub use wire::{Inspected, MessageKind};

use openmls::prelude::Ciphersuite;

/// X25519, AES-128-GCM, SHA-256, Ed25519: RFC 9420's mandatory suite, fast in wasm.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// How long a KeyPackage may wait in the directory before it is refused, in seconds.
pub const KEY_PACKAGE_LIFETIME_SECS: u64 = 28 * 24 * 3600;
