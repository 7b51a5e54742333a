//! This browser's device credentials: after a completed sign-in the server gives the
//! browser a credential for that account, kept here in IndexedDB and sent with later
//! sign-ins, so that someone spending the account's budget of attempts cannot lock its
//! owner out of a browser they used before. The credential is not a password and signs
//! nobody in by itself.
//!
//! Entries are keyed by a hash of the account's address, so the store does not list who
//! signs in here.

use haven_protocol::identity::{DeviceCredential, Email};
use sha2::{Digest, Sha256};

use crate::storage::KeyValue;

const DB: &str = "haven-devices";
const CREDENTIALS: &str = "credentials";

/// The store key for `email` (already normalised by [`Email::parse`]).
pub fn key(email: &Email) -> String {
    let digest = Sha256::digest(format!("haven device v1\n{}", email.as_str()));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The credential this browser holds for `email`, if any (a storage failure counts as
/// none: sign-in still works, only without the lock-out protection).
pub async fn credential(email: &Email) -> Option<DeviceCredential> {
    let store = KeyValue::open(DB, &[CREDENTIALS]).await.ok()?;
    let text = store.get(CREDENTIALS, &key(email)).await.ok()??;
    DeviceCredential::parse(&text).ok()
}

/// Keeps `credential` for `email`.
pub async fn remember(email: &Email, credential: &DeviceCredential) {
    if let Ok(store) = KeyValue::open(DB, &[CREDENTIALS]).await {
        let _ = store
            .put(CREDENTIALS, &key(email), credential.expose())
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn keys_hide_the_address_and_follow_its_normal_form() {
        let a = Email::parse("Ana@Clinic.Example").unwrap();
        let b = Email::parse("ana@clinic.example").unwrap();
        assert_eq!(key(&a), key(&b));
        assert_eq!(key(&a).len(), 64);
        assert!(!key(&a).contains("ana"));
        assert_ne!(key(&a), key(&Email::parse("bo@clinic.example").unwrap()));
    }
}
