//! What the Delivery Service may learn from a message without any key: its kind, its
//! conversation and its epoch, and for a KeyPackage whether it is well signed, in our
//! ciphersuite, within its lifetime and certified for the uploading device. The server
//! uses this to order and route; it never sees content.

use openmls::prelude::{
    ContentType, KeyPackage, MlsMessageBodyIn, MlsMessageIn, ProtocolVersion,
    tls_codec::{Deserialize as _, Serialize as _},
};
use openmls_rust_crypto::RustCrypto;

use crate::CIPHERSUITE;
use crate::cert::{DeviceCertificate, Trust};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Application,
    Proposal,
    Commit,
    Welcome,
    KeyPackage,
    GroupInfo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub kind: MessageKind,
    /// For application messages, proposals and commits.
    pub conversation: Option<Vec<u8>>,
    pub epoch: Option<u64>,
}

pub(crate) fn parse(bytes: &[u8]) -> Result<MlsMessageIn> {
    MlsMessageIn::tls_deserialize_exact(bytes).map_err(|_| Error::Malformed)
}

/// Reads the unencrypted framing of one MLS message.
pub fn inspect(bytes: &[u8]) -> Result<Inspected> {
    let message = parse(bytes)?;
    Ok(match message.extract() {
        MlsMessageBodyIn::PublicMessage(m) => {
            let protocol: openmls::prelude::ProtocolMessage = m.into();
            framed(&protocol)
        }
        MlsMessageBodyIn::PrivateMessage(m) => {
            let protocol: openmls::prelude::ProtocolMessage = m.into();
            framed(&protocol)
        }
        MlsMessageBodyIn::Welcome(_) => Inspected {
            kind: MessageKind::Welcome,
            conversation: None,
            epoch: None,
        },
        MlsMessageBodyIn::KeyPackage(_) => Inspected {
            kind: MessageKind::KeyPackage,
            conversation: None,
            epoch: None,
        },
        MlsMessageBodyIn::GroupInfo(_) => Inspected {
            kind: MessageKind::GroupInfo,
            conversation: None,
            epoch: None,
        },
        #[allow(unreachable_patterns)]
        _ => return Err(Error::Malformed),
    })
}

fn framed(message: &openmls::prelude::ProtocolMessage) -> Inspected {
    let kind = match message.content_type() {
        ContentType::Application => MessageKind::Application,
        ContentType::Proposal => MessageKind::Proposal,
        ContentType::Commit => MessageKind::Commit,
    };
    Inspected {
        kind,
        conversation: Some(message.group_id().as_slice().to_vec()),
        epoch: Some(message.epoch().as_u64()),
    }
}

/// A KeyPackage that passed every check, as the directory stores it.
#[derive(Debug, Clone)]
pub struct CheckedKeyPackage {
    pub certificate: DeviceCertificate,
    /// The KeyPackage's hash reference (RFC 9420 5.2): its stable id.
    pub reference: Vec<u8>,
    pub last_resort: bool,
    /// Unix seconds before which it is refused (its lifetime extension's start).
    pub not_before: u64,
    /// Unix seconds after which it is refused.
    pub not_after: u64,
    /// The canonical encoding, as claimed members receive it.
    pub encoded: Vec<u8>,
}

/// Checks an uploaded KeyPackage: its signatures, its ciphersuite, its lifetime as of the
/// system clock, and the device certificate in it, as of `now` (Unix seconds).
pub fn check_key_package(bytes: &[u8], trust: &Trust, now: u64) -> Result<CheckedKeyPackage> {
    let crypto = RustCrypto::default();
    let key_package = validate_key_package(&crypto, bytes)?;
    let leaf = key_package.leaf_node();
    let certificate = crate::device::leaf_certificate(leaf.credential())?;
    trust.check(&certificate, leaf.signature_key().as_slice(), Some(now))?;
    let reference = key_package
        .hash_ref(&crypto)
        .map_err(Error::internal)?
        .as_slice()
        .to_vec();
    let lifetime = key_package.life_time();
    let (not_before, not_after) = (lifetime.not_before(), lifetime.not_after());
    let encoded = openmls::prelude::MlsMessageOut::from(key_package.clone())
        .tls_serialize_detached()
        .map_err(Error::internal)?;
    Ok(CheckedKeyPackage {
        last_resort: key_package.last_resort(),
        certificate,
        reference,
        not_before,
        not_after,
        encoded,
    })
}

pub(crate) fn validate_key_package(crypto: &RustCrypto, bytes: &[u8]) -> Result<KeyPackage> {
    let MlsMessageBodyIn::KeyPackage(key_package) = parse(bytes)?.extract() else {
        return Err(Error::Malformed);
    };
    let key_package = key_package
        .validate(crypto, ProtocolVersion::Mls10)
        .map_err(Error::refused)?;
    if key_package.ciphersuite() != CIPHERSUITE {
        return Err(Error::WrongCiphersuite);
    }
    Ok(key_package)
}
