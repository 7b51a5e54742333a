//! End-to-end encryption in the browser: the glue between `crates/mls` (the protocol,
//! sans I/O), the server's directory and delivery, and the browser's sealed store.
//!
//! Trust: nothing here sends plaintext anywhere but to the page; what is kept on disk is
//! sealed by [`vault::Vault`], whose key opens only with a secret the server releases
//! to a signed-in session of the device's owner.

pub mod vault;
