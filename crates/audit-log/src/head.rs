//! Signed tree heads: the server's Ed25519 signature over (size, time, root). A head kept
//! anywhere else later proves, with a consistency proof, that the log only grew.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::tree::Hash;
use crate::{from_hex, hex};

/// Domain separation: a signature over a tree head can be nothing else.
const CONTEXT: &[u8] = b"haven audit tree head v1\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    /// Unix seconds.
    pub timestamp: i64,
    pub root: Hash,
}

impl TreeHead {
    fn message(&self) -> Vec<u8> {
        let mut m = CONTEXT.to_vec();
        m.extend_from_slice(&self.size.to_be_bytes());
        m.extend_from_slice(&self.timestamp.to_be_bytes());
        m.extend_from_slice(&self.root);
        m
    }

    pub fn sign(self, key: &SigningKey) -> SignedTreeHead {
        let signature = key.sign(&self.message());
        SignedTreeHead {
            tree_size: self.size,
            timestamp: self.timestamp,
            root_hash: hex(&self.root),
            signature: hex(&signature.to_bytes()),
            public_key: hex(key.verifying_key().as_bytes()),
        }
    }
}

/// A tree head as it travels and is stored: hex strings, self-describing.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    pub timestamp: i64,
    pub root_hash: String,
    pub signature: String,
    /// The key that signed; a verifier compares it with the key it trusts.
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("the tree head is malformed")]
    Malformed,
    #[error("the tree head was signed by a key other than the one trusted")]
    WrongKey,
    #[error("the tree head's signature is not valid")]
    BadSignature,
}

/// Checks `head`'s signature with the `trusted` public key (32 bytes, hex) and returns
/// its contents.
pub fn verify_head(head: &SignedTreeHead, trusted: &str) -> Result<TreeHead, HeadError> {
    if !head.public_key.eq_ignore_ascii_case(trusted) {
        return Err(HeadError::WrongKey);
    }
    let key_bytes = from_hex::<32>(trusted).ok_or(HeadError::Malformed)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| HeadError::Malformed)?;
    let root = from_hex::<32>(&head.root_hash).ok_or(HeadError::Malformed)?;
    let signature = from_hex::<64>(&head.signature).ok_or(HeadError::Malformed)?;
    let parsed = TreeHead {
        size: head.tree_size,
        timestamp: head.timestamp,
        root,
    };
    key.verify(&parsed.message(), &Signature::from_bytes(&signature))
        .map_err(|_| HeadError::BadSignature)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_verify_only_with_their_key_and_unchanged() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let head = TreeHead {
            size: 5,
            timestamp: 1_700_000_000,
            root: [3u8; 32],
        };
        let signed = head.sign(&key);
        let trusted = hex(key.verifying_key().as_bytes());
        assert_eq!(verify_head(&signed, &trusted), Ok(head));
        // Re-signed by another key: refused even though the signature itself is valid.
        assert_eq!(
            verify_head(&head.sign(&other), &trusted),
            Err(HeadError::WrongKey)
        );
        let mut grown = signed.clone();
        grown.tree_size = 6;
        assert_eq!(verify_head(&grown, &trusted), Err(HeadError::BadSignature));
        let mut moved = signed.clone();
        moved.root_hash = hex(&[4u8; 32]);
        assert_eq!(verify_head(&moved, &trusted), Err(HeadError::BadSignature));
        let mut junk = signed;
        junk.signature = "zz".into();
        assert_eq!(verify_head(&junk, &trusted), Err(HeadError::Malformed));
    }
}
