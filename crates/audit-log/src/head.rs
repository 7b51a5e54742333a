//! Signed tree heads: the server's Ed25519 signature over (organisation, size, time,
//! root). A head kept anywhere else later proves, with a consistency proof, that the log
//! only grew.
//!
//! One server key signs the heads of every organisation it hosts, so the organisation
//! is inside what is signed: a head of one tenant's log cannot be relabelled as another's,
//! and a verifier always says which organisation's head it expects.

use ed25519_dalek::{
    PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, Signature, Signer, SigningKey, Verifier, VerifyingKey,
};
use haven_protocol::audit::ExportLine;
use serde::{Deserialize, Serialize};

use crate::tree::Hash;
use crate::{from_hex, hex};

/// Domain separation: a signature over a tree head can be nothing else. v2 added the
/// organisation; a v1 signature never verifies as v2.
const CONTEXT: &[u8] = b"haven audit tree head v2\n";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// The organisation whose log this is (its id).
    pub organisation: String,
    pub size: u64,
    /// Unix seconds.
    pub timestamp: i64,
    pub root: Hash,
}

impl TreeHead {
    /// The signed bytes: every variable-length field is length-prefixed, so no two heads
    /// share a message.
    fn message(&self) -> Vec<u8> {
        let org = self.organisation.as_bytes();
        let mut m = CONTEXT.to_vec();
        m.extend_from_slice(&(org.len() as u64).to_be_bytes());
        m.extend_from_slice(org);
        m.extend_from_slice(&self.size.to_be_bytes());
        m.extend_from_slice(&self.timestamp.to_be_bytes());
        m.extend_from_slice(&self.root);
        m
    }

    pub fn sign(&self, key: &SigningKey) -> SignedTreeHead {
        let signature = key.sign(&self.message());
        SignedTreeHead {
            organisation: self.organisation.clone(),
            tree_size: self.size,
            timestamp: self.timestamp,
            root_hash: hex(&self.root),
            signature: hex(&signature.to_bytes()),
            public_key: hex(key.verifying_key().as_bytes()),
        }
    }
}

/// A tree head as it travels and is stored: hex strings, self-describing. This JSON is
/// what `GET /api/audit/head` answers, what a witness browser keeps, and what
/// `haven-server audit check-head` reads.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTreeHead {
    /// The organisation whose log this is; covered by the signature.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::organisation))]
    pub organisation: String,
    pub tree_size: u64,
    pub timestamp: i64,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::root_hash))]
    pub root_hash: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::signature))]
    pub signature: String,
    /// The key that signed; a verifier compares it with the key it trusts.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::public_key))]
    pub public_key: String,
}

/// The hex fields' schemas, from the lengths [`parse_head`] reads.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::PartialSchema;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Object, RefOr, Schema};

    use super::{PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH};
    use crate::tree::Hash;

    /// `bytes` bytes in hex of either case, as `from_hex` reads them.
    fn hex(bytes: usize, description: &str) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(2 * bytes))
            .max_length(Some(2 * bytes))
            .pattern(Some(format!("^[0-9a-fA-F]{{{}}}$", 2 * bytes)))
            .description(Some(description))
            .examples(["ab".repeat(bytes)])
            .build()
    }

    pub fn organisation() -> RefOr<Schema> {
        haven_protocol::identity::Id::schema()
    }
    pub fn root_hash() -> Object {
        hex(
            size_of::<Hash>(),
            "The Merkle tree's root hash (SHA-256), in hex.",
        )
    }
    pub fn signature() -> Object {
        hex(
            SIGNATURE_LENGTH,
            "The server's Ed25519 signature over the head, in hex.",
        )
    }
    pub fn public_key() -> Object {
        hex(
            PUBLIC_KEY_LENGTH,
            "The Ed25519 key that signed, in hex; a verifier compares it with the key it trusts.",
        )
    }
}

impl SignedTreeHead {
    /// The first line of an export.
    pub fn export_line(&self) -> ExportLine {
        ExportLine::Head {
            organisation: self.organisation.clone(),
            tree_size: self.tree_size,
            timestamp: self.timestamp,
            root_hash: self.root_hash.clone(),
            signature: self.signature.clone(),
            public_key: self.public_key.clone(),
        }
    }

    /// The head an export's first line carries, if it is one.
    pub fn from_export_line(line: ExportLine) -> Option<Self> {
        match line {
            ExportLine::Head {
                organisation,
                tree_size,
                timestamp,
                root_hash,
                signature,
                public_key,
            } => Some(Self {
                organisation,
                tree_size,
                timestamp,
                root_hash,
                signature,
                public_key,
            }),
            _ => None,
        }
    }
}

/// `POST /api/audit/witness-alarm`: a browser that had verified `kept` found that the
/// log does not extend it to `newer` (or could not be shown to).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessAlarmReport {
    /// The newest head this browser had verified.
    pub kept: SignedTreeHead,
    /// The head the server shows now.
    pub newer: SignedTreeHead,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("the tree head is malformed")]
    Malformed,
    #[error("the tree head was signed by a key other than the one trusted")]
    WrongKey,
    #[error("the tree head is of another organisation than the one expected")]
    WrongOrganisation,
    #[error("the tree head's signature is not valid")]
    BadSignature,
}

/// Checks that `head` is of `organisation` and signed by the `trusted` public key
/// (32 bytes, hex), and returns its contents.
pub fn verify_head(
    head: &SignedTreeHead,
    trusted: &str,
    organisation: &str,
) -> Result<TreeHead, HeadError> {
    if !head.public_key.eq_ignore_ascii_case(trusted) {
        return Err(HeadError::WrongKey);
    }
    if head.organisation != organisation {
        return Err(HeadError::WrongOrganisation);
    }
    let parsed = parse_head(head)?;
    let key_bytes = from_hex::<32>(trusted).ok_or(HeadError::Malformed)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| HeadError::Malformed)?;
    let signature = from_hex::<64>(&head.signature).ok_or(HeadError::Malformed)?;
    key.verify(&parsed.message(), &Signature::from_bytes(&signature))
        .map_err(|_| HeadError::BadSignature)?;
    Ok(parsed)
}

/// The contents of `head` if every field has its shape (hex of the right lengths), its
/// signature NOT checked: for a report about a head, never for trusting one.
pub fn parse_head(head: &SignedTreeHead) -> Result<TreeHead, HeadError> {
    from_hex::<SIGNATURE_LENGTH>(&head.signature).ok_or(HeadError::Malformed)?;
    from_hex::<PUBLIC_KEY_LENGTH>(&head.public_key).ok_or(HeadError::Malformed)?;
    Ok(TreeHead {
        organisation: head.organisation.clone(),
        size: head.tree_size,
        timestamp: head.timestamp,
        root: from_hex::<32>(&head.root_hash).ok_or(HeadError::Malformed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(organisation: &str) -> TreeHead {
        TreeHead {
            organisation: organisation.into(),
            size: 5,
            timestamp: 1_700_000_000,
            root: [3u8; 32],
        }
    }

    #[test]
    fn heads_verify_only_with_their_key_and_unchanged() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let head = head("org-a");
        let signed = head.sign(&key);
        let trusted = hex(key.verifying_key().as_bytes());
        assert_eq!(verify_head(&signed, &trusted, "org-a"), Ok(head.clone()));
        // Re-signed by another key: refused even though the signature itself is valid.
        assert_eq!(
            verify_head(&head.sign(&other), &trusted, "org-a"),
            Err(HeadError::WrongKey)
        );
        let mut grown = signed.clone();
        grown.tree_size = 6;
        assert_eq!(
            verify_head(&grown, &trusted, "org-a"),
            Err(HeadError::BadSignature)
        );
        let mut moved = signed.clone();
        moved.root_hash = hex(&[4u8; 32]);
        assert_eq!(
            verify_head(&moved, &trusted, "org-a"),
            Err(HeadError::BadSignature)
        );
        let mut junk = signed;
        junk.signature = "zz".into();
        assert_eq!(
            verify_head(&junk, &trusted, "org-a"),
            Err(HeadError::Malformed)
        );
    }

    /// Defect 8: the same key signs every organisation's heads. A head of one
    /// organisation is refused where another's is expected, and relabelling it breaks
    /// its signature.
    #[test]
    fn a_head_of_another_organisation_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let trusted = hex(key.verifying_key().as_bytes());
        let theirs = head("org-b").sign(&key);
        assert!(verify_head(&theirs, &trusted, "org-b").is_ok());
        assert_eq!(
            verify_head(&theirs, &trusted, "org-a"),
            Err(HeadError::WrongOrganisation)
        );
        let mut relabelled = theirs.clone();
        relabelled.organisation = "org-a".into();
        assert_eq!(
            verify_head(&relabelled, &trusted, "org-a"),
            Err(HeadError::BadSignature)
        );
        // Two organisations whose names run into the size bytes still sign apart.
        let a = TreeHead {
            organisation: "a".into(),
            ..head("")
        };
        let b = TreeHead {
            organisation: "a\0".into(),
            ..head("")
        };
        assert_ne!(a.message(), b.message());
    }

    /// The signed message is fixed: a change of format is a new context string.
    #[test]
    fn the_signed_message_is_the_v2_format() {
        let message = head("org").message();
        let mut expected = b"haven audit tree head v2\n".to_vec();
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(b"org");
        expected.extend_from_slice(&5u64.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000i64.to_be_bytes());
        expected.extend_from_slice(&[3u8; 32]);
        assert_eq!(message, expected);
    }

    #[test]
    fn a_head_travels_as_an_export_line_and_back() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let signed = head("org-a").sign(&key);
        assert_eq!(
            SignedTreeHead::from_export_line(signed.export_line()),
            Some(signed)
        );
    }
}
