//! The device's sealed local store: MLS state and decrypted history, kept in IndexedDB
//! encrypted with AES-256-GCM under a key that JavaScript can never read.
//!
//! The data key is generated once per device and kept only wrapped (AES-KW) by a 256-bit
//! secret the server releases to a signed-in session of the device's owner
//! (`GET /api/mls/devices/{id}/state-key`). While signed in, the page holds the unwrapped
//! key as a non-extractable `CryptoKey`; sign-out and automatic logoff drop it, and what
//! is on disk cannot be read again until the next sign-in fetches the secret. Each
//! record has a fresh 96-bit nonce and is bound to its device and name, so records cannot
//! be swapped between names or devices unnoticed.
//!
//! A record put back from an older copy (a restored profile, a disk image) would open: the
//! vault cannot tell by itself. So the sealed state carries a version, one more at every
//! save, that every `send` names; the server keeps the highest next to the state key and
//! releases it with the secret, and the worker refuses to restore a state older than it
//! (`Failure::RolledBack`). Not caught: a copy at least as new as the last state the
//! server heard from (its keys were never used for anything that left the browser).

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use crate::i18n::{Msg, t};
use crate::storage::KeyValue;

pub const DATABASE: &str = "haven-e2ee";
pub const STORE: &str = "vault";
const NONCE_BYTES: u32 = 12;

/// Why the vault could not be used. Shown to people through its `Display`, which is in
/// their language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultError {
    /// This browser offers no WebCrypto or IndexedDB.
    Unavailable,
    /// The secret does not open this device's store (signed in as someone else?).
    WrongSecret,
    /// A stored record was changed or damaged.
    Damaged,
    /// The browser refused to store or encrypt.
    Refused,
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&t(match self {
            Self::Unavailable => Msg::E2eeVaultUnavailable,
            Self::WrongSecret => Msg::E2eeVaultWrongSecret,
            Self::Damaged => Msg::E2eeVaultDamaged,
            Self::Refused => Msg::E2eeVaultRefused,
        }))
    }
}

impl std::error::Error for VaultError {}

pub type Result<T> = std::result::Result<T, VaultError>;

fn subtle() -> Result<SubtleCrypto> {
    let crypto = web_sys::window()
        .ok_or(VaultError::Unavailable)?
        .crypto()
        .map_err(|_| VaultError::Unavailable)?;
    Ok(crypto.subtle())
}

fn object(pairs: &[(&str, JsValue)]) -> Result<Object> {
    let object = Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &JsValue::from_str(key), value).map_err(|_| VaultError::Refused)?;
    }
    Ok(object)
}

fn usages(list: &[&str]) -> JsValue {
    list.iter()
        .map(|u| JsValue::from_str(u))
        .collect::<Array>()
        .into()
}

async fn wait(
    promise: std::result::Result<js_sys::Promise, JsValue>,
    error: VaultError,
) -> Result<JsValue> {
    let promise = promise.map_err(|_| error.clone())?;
    JsFuture::from(promise).await.map_err(|_| error)
}

fn random(n: u32) -> Result<Uint8Array> {
    let bytes = Uint8Array::new_with_length(n);
    web_sys::window()
        .ok_or(VaultError::Unavailable)?
        .crypto()
        .map_err(|_| VaultError::Unavailable)?
        .get_random_values_with_array_buffer_view(&bytes)
        .map_err(|_| VaultError::Refused)?;
    Ok(bytes)
}

/// An open vault: the device's data key, unwrapped and not extractable.
pub struct Vault {
    store: KeyValue,
    device: String,
    key: CryptoKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

fn key_name(device: &str) -> String {
    format!("{device}/key")
}

fn record_name(device: &str, name: &str) -> String {
    format!("{device}/record/{name}")
}

impl Vault {
    /// Opens `device`'s vault with the server's `secret` (32 bytes), creating its data
    /// key on first use.
    pub async fn open(device: &str, secret: &[u8]) -> Result<Self> {
        let subtle = subtle()?;
        let store = KeyValue::open(DATABASE, &[STORE])
            .await
            .map_err(|_| VaultError::Unavailable)?;
        let wrapping: CryptoKey = wait(
            subtle.import_key_with_object(
                "raw",
                &Uint8Array::from(secret),
                &object(&[("name", "AES-KW".into())])?,
                false,
                &usages(&["wrapKey", "unwrapKey"]),
            ),
            VaultError::Refused,
        )
        .await?
        .unchecked_into();
        let algorithm = object(&[("name", "AES-GCM".into()), ("length", 256.into())])?;
        let wrapped = match store
            .get_value(STORE, &key_name(device))
            .await
            .map_err(|_| VaultError::Refused)?
        {
            Some(wrapped) => wrapped
                .dyn_into::<Uint8Array>()
                .map_err(|_| VaultError::Damaged)?,
            None => {
                // Extractable only for the moment it takes to wrap it.
                let fresh: CryptoKey = wait(
                    subtle.generate_key_with_object(
                        &algorithm,
                        true,
                        &usages(&["encrypt", "decrypt"]),
                    ),
                    VaultError::Refused,
                )
                .await?
                .unchecked_into();
                let wrapped = Uint8Array::new(
                    &wait(
                        subtle.wrap_key_with_str("raw", &fresh, &wrapping, "AES-KW"),
                        VaultError::Refused,
                    )
                    .await?,
                );
                store
                    .put_value(STORE, &key_name(device), &wrapped)
                    .await
                    .map_err(|_| VaultError::Refused)?;
                wrapped
            }
        };
        let key: CryptoKey = wait(
            subtle.unwrap_key_with_js_u8_array_and_str_and_object(
                "raw",
                &wrapped,
                &wrapping,
                "AES-KW",
                &algorithm,
                false,
                &usages(&["encrypt", "decrypt"]),
            ),
            VaultError::WrongSecret,
        )
        .await?
        .unchecked_into();
        Ok(Self {
            store,
            device: device.to_owned(),
            key,
        })
    }

    fn params(&self, name: &str, nonce: &Uint8Array) -> Result<Object> {
        let bound = Uint8Array::from(record_name(&self.device, name).as_bytes());
        object(&[
            ("name", "AES-GCM".into()),
            ("iv", nonce.into()),
            ("additionalData", bound.into()),
        ])
    }

    /// Seals `plaintext` under `name`, replacing what was there.
    pub async fn put(&self, name: &str, plaintext: &[u8]) -> Result<()> {
        let nonce = random(NONCE_BYTES)?;
        let sealed = wait(
            subtle()?.encrypt_with_object_and_js_u8_array(
                &self.params(name, &nonce)?,
                &self.key,
                &Uint8Array::from(plaintext),
            ),
            VaultError::Refused,
        )
        .await?;
        let mut record = nonce.to_vec();
        record.extend(Uint8Array::new(&sealed).to_vec());
        self.store
            .put_value(
                STORE,
                &record_name(&self.device, name),
                &Uint8Array::from(record.as_slice()),
            )
            .await
            .map_err(|_| VaultError::Refused)
    }

    /// The plaintext under `name`, if any.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(value) = self
            .store
            .get_value(STORE, &record_name(&self.device, name))
            .await
            .map_err(|_| VaultError::Refused)?
        else {
            return Ok(None);
        };
        let record = value
            .dyn_into::<Uint8Array>()
            .map_err(|_| VaultError::Damaged)?
            .to_vec();
        if record.len() < NONCE_BYTES as usize + 16 {
            return Err(VaultError::Damaged);
        }
        let (nonce, sealed) = record.split_at(NONCE_BYTES as usize);
        let opened = wait(
            subtle()?.decrypt_with_object_and_js_u8_array(
                &self.params(name, &Uint8Array::from(nonce))?,
                &self.key,
                &Uint8Array::from(sealed),
            ),
            VaultError::Damaged,
        )
        .await?;
        Ok(Some(Uint8Array::new(&opened).to_vec()))
    }
}
