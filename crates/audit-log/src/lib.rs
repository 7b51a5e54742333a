//! Haven's tamper-evident audit log as pure functions: the RFC 9162 (Certificate
//! Transparency v2) Merkle tree hash with distinct leaf and node prefixes, inclusion and
//! consistency proofs and their verification, and signed tree heads (Ed25519).
//!
//! Nothing here trusts the party that stores the log. The tree is described by its
//! *perfect* subtrees (a subtree of 2^level leaves starting at a multiple of 2^level),
//! which never change once complete; any root or proof for any tree size is assembled
//! from O(log n) of them. A store therefore keeps those nodes beside the entries and a
//! proof costs a few reads (see [`NodeId`] and [`Tree`]). The same code verifies in the
//! browser (wasm32), on the command line and in the server.

mod export;
mod head;
mod tree;

pub use export::{Verdict, verify_export};
pub use head::{HeadError, SignedTreeHead, TreeHead, WitnessAlarmReport, parse_head, verify_head};
pub use tree::{
    Hash, NodeId, ProofError, Tree, leaf_hash, node_hash, nodes_for_root,
    perfect_nodes_after_append, root_from_leaves, verify_consistency, verify_inclusion,
};

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    // Every export line carries a leaf hash: no formatting machinery per byte.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Parses lower- or upper-case hex into exactly `N` bytes.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = hex(&bytes);
        assert!(text.starts_with("000102") && text.ends_with("fdfeff"));
        assert_eq!(from_hex::<256>(&text).map(|b| b.to_vec()), Some(bytes));
        assert_eq!(from_hex::<1>("AB"), Some([0xab]));
        assert_eq!(from_hex::<1>("g0"), None);
    }
}
