//! Wire types of end-to-end encrypted messaging: device registration with the
//! Authentication Service, the KeyPackage directory, and the bytes of MLS messages.
//!
//! Everything here is either public key material or MLS ciphertext: the server learns
//! which device talks in which conversation and how much, never what is said. Binary
//! values travel as lower-case hex in JSON bodies (exact to describe and to parse) and
//! as base64 in WebSocket frames (where size matters).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::{FieldError, Id};

/// Largest KeyPackage the directory takes, in bytes (one is about 1 KB with its
/// certificate).
pub const MAX_KEY_PACKAGE_BYTES: usize = 4096;
/// KeyPackages one upload may carry.
pub const MAX_KEY_PACKAGES_PER_UPLOAD: usize = 50;
/// One-time KeyPackages a device may keep in the directory at once.
pub const MAX_KEY_PACKAGE_POOL: u32 = 200;
/// The pool size a client keeps itself topped up to.
pub const KEY_PACKAGE_TARGET: u32 = 20;
/// MLS devices a person may have registered and not revoked at once.
pub const MAX_DEVICES_PER_USER: u32 = 10;
/// People whose devices one claim asks for.
pub const MAX_CLAIM_USERS: usize = 50;
/// How long a device certificate is valid, in seconds.
pub const CERTIFICATE_LIFETIME_SECS: u64 = 365 * 24 * 3600;

fn parse_hex(input: &str, max_bytes: usize) -> Result<Vec<u8>, FieldError> {
    if input.is_empty() || !input.len().is_multiple_of(2) || input.len() > 2 * max_bytes {
        return Err(FieldError::Bytes);
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    input
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or(FieldError::Bytes)
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A device's Ed25519 signature key: 32 bytes, as 64 lower-case hex characters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SignatureKey(Vec<u8>);

impl SignatureKey {
    pub const BYTES: usize = 32;
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let bytes = parse_hex(input, Self::BYTES)?;
        if bytes.len() != Self::BYTES {
            return Err(FieldError::Bytes);
        }
        Ok(Self(bytes))
    }
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes.to_vec())
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// An encoded MLS KeyPackage, as lower-case hex.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyPackageBytes(Vec<u8>);

impl KeyPackageBytes {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        parse_hex(input, MAX_KEY_PACKAGE_BYTES).map(Self)
    }
    pub fn new(bytes: Vec<u8>) -> Result<Self, FieldError> {
        if bytes.is_empty() || bytes.len() > MAX_KEY_PACKAGE_BYTES {
            return Err(FieldError::Bytes);
        }
        Ok(Self(bytes))
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

macro_rules! hex_string {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                to_hex(&v.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({} bytes)", stringify!($name), self.0.len())
            }
        }
    };
}
hex_string!(SignatureKey);
hex_string!(KeyPackageBytes);

/// `POST /api/mls/devices`: register this browser's MLS signature key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    pub signature_key: SignatureKey,
}

/// The server's certificate for a registered device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredDevice {
    pub device: Id,
    /// The encoded device certificate, hex.
    pub certificate: String,
}

/// `GET /api/mls/trust`: what a client needs to check certificates.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustAnchor {
    pub organisation: Id,
    /// The Authentication Service's Ed25519 key, hex.
    pub issuer_key: String,
    /// Devices of the organisation that were revoked: refuse them from now on.
    pub revoked: Vec<Id>,
}

/// `POST /api/mls/devices/{id}/key-packages`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadKeyPackages {
    pub key_packages: Vec<KeyPackageBytes>,
}

/// What the directory holds for one device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPackagePool {
    pub one_time: u32,
    pub last_resort: bool,
}

/// `POST /api/mls/key-packages/claim`: one KeyPackage for each device of these people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimKeyPackages {
    pub users: Vec<Id>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedKeyPackage {
    pub user: Id,
    pub device: Id,
    /// Hex.
    pub key_package: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_values_are_parsed_exactly() {
        let key = "ab".repeat(32);
        assert_eq!(SignatureKey::parse(&key).unwrap().as_bytes(), &[0xab; 32]);
        for bad in [
            "",
            "ab",
            &"AB".repeat(32),
            &"ab".repeat(33),
            &format!("{}g", "a".repeat(63)),
        ] {
            assert_eq!(SignatureKey::parse(bad), Err(FieldError::Bytes), "{bad}");
        }
        assert_eq!(
            KeyPackageBytes::parse("00ff").unwrap().as_bytes(),
            &[0, 255]
        );
        assert!(KeyPackageBytes::parse("0").is_err());
        assert!(KeyPackageBytes::parse(&"00".repeat(MAX_KEY_PACKAGE_BYTES)).is_ok());
        assert!(KeyPackageBytes::parse(&"00".repeat(MAX_KEY_PACKAGE_BYTES + 1)).is_err());
        let round: String = KeyPackageBytes::parse("0a1b").unwrap().into();
        assert_eq!(round, "0a1b");
    }
}
