//! Device certificates: the server, as MLS Authentication Service, binds an organisation,
//! a user, their role and name, a device and that device's signature key, and signs the
//! binding. The certificate travels as the identity of an MLS basic credential, so every
//! member of a group can check every other member without asking anyone.
//!
//! Trust: a certificate is believed only if the organisation's issuer key signed it, it
//! names the organisation the reader is in, its lifetime covers the moment it entered the
//! group, the leaf that carries it holds the key it names, its role may take part in
//! conversations, and its device is not on the revocation list the reader holds.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use serde::{Deserialize, Serialize};

/// What the issuer signs is this prefix and then the body's JSON, so a certificate
/// signature can never be mistaken for any other signature made with the same key.
const DOMAIN: &[u8] = b"haven device certificate v1\n";
const SIGNATURE_LEN: usize = 64;
/// Longest encoded certificate accepted: a body with a 200-character name is well under.
pub const MAX_CERTIFICATE_BYTES: usize = 2048;
/// Longest display name a certificate carries, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Why a member's certificate was refused. Each names what a person would need to know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the member has no Haven device certificate")]
    Missing,
    #[error("the member's device certificate cannot be read")]
    Malformed,
    #[error("the member's device certificate is not signed by this organisation's key")]
    BadSignature,
    #[error("the member's device certificate is for another organisation")]
    OtherOrganisation,
    #[error("the member's device certificate has expired or is not valid yet")]
    OutsideLifetime,
    #[error("the member's device certificate names another signature key")]
    KeyMismatch,
    #[error("the member's device has been revoked")]
    Revoked,
    #[error("a {0} cannot be a member of a conversation")]
    RoleNotAllowed(Role),
}

/// The signed statement. Field order is the encoding order: never reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    pub organisation: Id,
    pub user: Id,
    pub role: Role,
    pub name: String,
    pub device: Id,
    /// The device's Ed25519 signature key, lower-case hex.
    pub signature_key: String,
    /// Unix seconds.
    pub not_before: u64,
    pub not_after: u64,
}

/// Most certificates a [`Trust`] remembers having verified; past it, it starts afresh.
const MAX_REMEMBERED: usize = 4096;

/// A certificate as it travels: the issuer's signature, then the body's exact bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCertificate {
    body: CertificateBody,
    encoded: Vec<u8>,
}

impl std::fmt::Debug for DeviceCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCertificate")
            .field("device", &self.body.device)
            .field("role", &self.body.role)
            .finish_non_exhaustive()
    }
}

impl DeviceCertificate {
    /// Reads a certificate without trusting it; [`Trust::check`] decides that.
    pub fn decode(encoded: &[u8]) -> Result<Self, CertificateError> {
        if encoded.len() > MAX_CERTIFICATE_BYTES {
            return Err(CertificateError::Malformed);
        }
        let body_bytes = encoded
            .get(SIGNATURE_LEN..)
            .ok_or(CertificateError::Missing)?;
        let body: CertificateBody =
            serde_json::from_slice(body_bytes).map_err(|_| CertificateError::Missing)?;
        if body.name.chars().count() > MAX_NAME_CHARS || decode_key(&body.signature_key).is_none() {
            return Err(CertificateError::Malformed);
        }
        Ok(Self {
            body,
            encoded: encoded.to_vec(),
        })
    }

    pub fn body(&self) -> &CertificateBody {
        &self.body
    }

    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    fn signature(&self) -> Option<Signature> {
        let bytes: [u8; SIGNATURE_LEN] = self.encoded.get(..SIGNATURE_LEN)?.try_into().ok()?;
        Some(Signature::from_bytes(&bytes))
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let body = self.encoded.get(SIGNATURE_LEN..).unwrap_or_default();
        [DOMAIN, body].concat()
    }
}

fn decode_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

pub(crate) fn encode_key(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signing half, held by the server.
pub struct Issuer {
    key: SigningKey,
}

impl Issuer {
    pub fn new(key: SigningKey) -> Self {
        Self { key }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `body`. Refuses a body that no reader would accept as well-formed.
    pub fn issue(&self, body: CertificateBody) -> Result<DeviceCertificate, CertificateError> {
        if body.name.chars().count() > MAX_NAME_CHARS || decode_key(&body.signature_key).is_none() {
            return Err(CertificateError::Malformed);
        }
        let body_bytes = serde_json::to_vec(&body).map_err(|_| CertificateError::Malformed)?;
        let signature = self.key.sign(&[DOMAIN, &body_bytes].concat());
        let encoded = [signature.to_bytes().as_slice(), &body_bytes].concat();
        if encoded.len() > MAX_CERTIFICATE_BYTES {
            return Err(CertificateError::Malformed);
        }
        Ok(DeviceCertificate { body, encoded })
    }
}

/// What one reader believes: its organisation, that organisation's issuer key, and the
/// devices the server has said are revoked.
#[derive(Debug, Clone)]
pub struct Trust {
    pub organisation: Id,
    pub issuer: VerifyingKey,
    pub revoked: BTreeSet<Id>,
    /// Issuer key and exact certificate bytes whose signature already verified. Every
    /// message and commit of a member carries the same certificate; the signature over
    /// the same bytes by the same key cannot verify differently the next time, so only
    /// the first costs an Ed25519 verification. Every other check runs each time.
    verified: Arc<Mutex<HashSet<Vec<u8>>>>,
}

impl Trust {
    pub fn new(organisation: Id, issuer: VerifyingKey) -> Self {
        Self {
            organisation,
            issuer,
            revoked: BTreeSet::new(),
            verified: Arc::default(),
        }
    }

    /// What the server published (`GET /api/mls/trust`): refused if its key is not an
    /// Ed25519 public key.
    pub fn from_anchor(
        anchor: &haven_protocol::messaging::TrustAnchor,
    ) -> Result<Self, CertificateError> {
        let key = haven_protocol::messaging::SignatureKey::parse(&anchor.issuer_key)
            .map_err(|_| CertificateError::Malformed)?;
        let bytes: [u8; 32] = key
            .as_bytes()
            .try_into()
            .map_err(|_| CertificateError::Malformed)?;
        let issuer = VerifyingKey::from_bytes(&bytes).map_err(|_| CertificateError::Malformed)?;
        let mut trust = Self::new(anchor.organisation.clone(), issuer);
        trust.revoked = anchor.revoked.iter().cloned().collect();
        Ok(trust)
    }

    /// Whether a certificate may be believed for a leaf holding `signature_key`, as of
    /// `now` (Unix seconds). `now` is `None` for a member already in the group: its
    /// lifetime was checked when it entered, and only revocation ends it later.
    pub fn check(
        &self,
        certificate: &DeviceCertificate,
        signature_key: &[u8],
        now: Option<u64>,
    ) -> Result<(), CertificateError> {
        self.check_signature(certificate)?;
        let body = certificate.body();
        if body.organisation != self.organisation {
            return Err(CertificateError::OtherOrganisation);
        }
        if let Some(now) = now
            && (now < body.not_before || now >= body.not_after)
        {
            return Err(CertificateError::OutsideLifetime);
        }
        if decode_key(&body.signature_key)
            .as_ref()
            .map(|k| k.as_slice())
            != Some(signature_key)
        {
            return Err(CertificateError::KeyMismatch);
        }
        if !body.role.converses() {
            return Err(CertificateError::RoleNotAllowed(body.role));
        }
        if self.revoked.contains(&body.device) {
            return Err(CertificateError::Revoked);
        }
        Ok(())
    }

    fn check_signature(&self, certificate: &DeviceCertificate) -> Result<(), CertificateError> {
        let seen = [self.issuer.as_bytes().as_slice(), certificate.encoded()].concat();
        // A poisoned memo only means verifying again.
        if let Ok(verified) = self.verified.lock()
            && verified.contains(&seen)
        {
            return Ok(());
        }
        let signature = certificate.signature().ok_or(CertificateError::Malformed)?;
        self.issuer
            .verify(&certificate.signed_bytes(), &signature)
            .map_err(|_| CertificateError::BadSignature)?;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= MAX_REMEMBERED {
                verified.clear();
            }
            verified.insert(seen);
        }
        Ok(())
    }

    /// Decodes and checks in one step.
    pub fn verify(
        &self,
        encoded: &[u8],
        signature_key: &[u8],
        now: Option<u64>,
    ) -> Result<DeviceCertificate, CertificateError> {
        let certificate = DeviceCertificate::decode(encoded)?;
        self.check(&certificate, signature_key, now)?;
        Ok(certificate)
    }
}
