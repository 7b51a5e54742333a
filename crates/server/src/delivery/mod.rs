//! End-to-end encrypted messaging, the server's side: the MLS Authentication Service
//! (device certificates), the KeyPackage directory, and the Delivery Service
//! (conversations, the ordered log and its group-commit writer, per-device delivery,
//! encrypted attachments). The server handles public keys and ciphertext only; it never
//! holds a key that opens a message.

pub mod attachments;
pub mod challenge;
pub mod claims;
pub mod conversations;
pub mod directory;
pub mod duties;
pub mod fanout;
pub mod quota;
pub mod socket;
pub mod writer;

use std::path::Path;

/// The Authentication Service's signing key, kept beside the audit key in the data
/// directory and created on first start.
pub fn load_or_create_issuer(data_dir: &Path) -> std::io::Result<haven_mls::Issuer> {
    crate::secrets::load_or_create_key(&data_dir.join(ISSUER_KEY_FILE)).map(haven_mls::Issuer::new)
}

const ISSUER_KEY_FILE: &str = "mls-issuer.key";
