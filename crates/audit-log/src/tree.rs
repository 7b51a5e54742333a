//! The Merkle tree hash of RFC 9162 §2.1 and its proofs, over a source of perfect
//! subtree hashes.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// SHA-256(0x00 || data): a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// SHA-256(0x01 || left || right): an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A perfect subtree: `2^level` leaves starting at leaf `index * 2^level`. Level 0 nodes
/// are the leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u32,
    pub index: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the tree is empty")]
    EmptyTree,
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the older size {old} is not between 1 and the newer size {new}")]
    BadSizes { old: u64, new: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("the store has no hash for node {0:?}")]
    MissingNode(NodeId),
}

/// Largest power of two strictly less than `n` (n >= 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Anything that can give the hash of a perfect subtree: a store, or memory.
pub trait Tree {
    fn node(&self, id: NodeId) -> Option<Hash>;

    /// The hash of leaves `[start, end)`, where `[start, end)` is a range the RFC's
    /// recursion visits: either perfect, or the right edge of a tree.
    fn range(&self, start: u64, end: u64) -> Result<Hash, ProofError> {
        let size = end - start;
        if size.is_power_of_two() && start.is_multiple_of(size) {
            let id = NodeId {
                level: size.trailing_zeros(),
                index: start / size,
            };
            return self.node(id).ok_or(ProofError::MissingNode(id));
        }
        let k = split(size);
        let left = self.range(start, start + k)?;
        let right = self.range(start + k, end)?;
        Ok(node_hash(&left, &right))
    }

    /// MTH of the first `size` leaves.
    fn root(&self, size: u64) -> Result<Hash, ProofError> {
        if size == 0 {
            return Ok(Sha256::digest([]).into());
        }
        self.range(0, size)
    }

    /// PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf to root.
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size == 0 {
            return Err(ProofError::EmptyTree);
        }
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        path(self, index, 0, size, &mut proof)?;
        Ok(proof)
    }

    /// PROOF(old, D[0:new]) of RFC 9162 §2.1.4.1.
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if old == 0 || old > new {
            return Err(ProofError::BadSizes { old, new });
        }
        let mut proof = Vec::new();
        if old < new {
            subproof(self, old, 0, new, true, &mut proof)?;
        }
        Ok(proof)
    }
}

fn path<T: Tree + ?Sized>(
    tree: &T,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(tree, m, start, start + k, out)?;
        out.push(tree.range(start + k, end)?);
    } else {
        path(tree, m - k, start + k, end, out)?;
        out.push(tree.range(start, start + k)?);
    }
    Ok(())
}

fn subproof<T: Tree + ?Sized>(
    tree: &T,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(tree.range(start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(tree, m, start, start + k, complete, out)?;
        out.push(tree.range(start + k, end)?);
    } else {
        subproof(tree, m - k, start + k, end, false, out)?;
        out.push(tree.range(start, start + k)?);
    }
    Ok(())
}

/// The perfect nodes that become complete when leaf `index` is appended, bottom up,
/// starting with the leaf itself: what a store must write for one append.
pub fn perfect_nodes_after_append(index: u64) -> Vec<NodeId> {
    let mut out = vec![NodeId { level: 0, index }];
    let mut level = 0;
    let mut i = index;
    while i % 2 == 1 {
        level += 1;
        i /= 2;
        out.push(NodeId { level, index: i });
    }
    out
}

/// The perfect nodes whose hashes make up the root of a tree of `size` leaves (one per
/// set bit of `size`, left to right).
pub fn nodes_for_root(size: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            out.push(NodeId {
                level,
                index: start / width,
            });
            start += width;
        }
    }
    out
}

/// An in-memory tree over leaf hashes: for verifiers that hold a whole export, and tests.
impl Tree for [Hash] {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let width = 1u64.checked_shl(id.level)?;
        let start = usize::try_from(id.index.checked_mul(width)?).ok()?;
        let end = start.checked_add(usize::try_from(width).ok()?)?;
        let leaves = self.get(start..end)?;
        Some(root_from_leaves(leaves))
    }
}

/// MTH over a slice of leaf hashes, in memory.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(
                &root_from_leaves(&leaves[..k]),
                &root_from_leaves(&leaves[k..]),
            )
        }
    }
}

/// RFC 9162 §2.1.3.2: does `proof` show leaf `leaf` at `index` in the tree of `size`
/// leaves with root `root`?
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n % 2 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// RFC 9162 §2.1.4.2: does `proof` show that the tree of `old` leaves with root
/// `old_root` is a prefix of the tree of `new` leaves with root `new_root`?
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    if old == new {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else if !proof.is_empty() {
            Err(ProofError::WrongLength)
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength);
    };
    let (mut f_n, mut s_n) = (old - 1, new - 1);
    while f_n % 2 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n % 2 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_hex, hex};

    /// The leaves of the Certificate Transparency reference test vectors (RFC 6962 test
    /// data, as used by certificate-transparency-go and transparency-dev/merkle).
    fn ct_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            (0x60..=0x6f).collect(),
        ]
    }

    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn known_answers_for_the_empty_tree_and_ct_roots() {
        let empty: &[Hash] = &[];
        assert_eq!(
            hex(&empty.root(0).unwrap()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let hashes: Vec<Hash> = ct_leaves().iter().map(|l| leaf_hash(l)).collect();
        for (i, want) in CT_ROOTS.iter().enumerate() {
            assert_eq!(
                hex(&hashes[..].root(i as u64 + 1).unwrap()),
                *want,
                "size {}",
                i + 1
            );
            assert_eq!(hex(&root_from_leaves(&hashes[..=i])), *want);
        }
    }

    #[test]
    fn ct_inclusion_and_consistency_vectors() {
        let hashes: Vec<Hash> = ct_leaves().iter().map(|l| leaf_hash(l)).collect();
        // Inclusion of leaf 0 in the tree of 8 (from the CT reference tests).
        let proof = hashes[..].inclusion_proof(0, 8).unwrap();
        let want = [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ];
        assert_eq!(proof.iter().map(|h| hex(h)).collect::<Vec<_>>(), want);
        // Consistency from 1 to 8 and from 6 to 8.
        let proof = hashes[..].consistency_proof(1, 8).unwrap();
        assert_eq!(proof.iter().map(|h| hex(h)).collect::<Vec<_>>(), want);
        let proof = hashes[..].consistency_proof(6, 8).unwrap();
        let want = [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ];
        assert_eq!(proof.iter().map(|h| hex(h)).collect::<Vec<_>>(), want);
        let r6 = from_hex::<32>(CT_ROOTS[5]).unwrap();
        let r8 = from_hex::<32>(CT_ROOTS[7]).unwrap();
        verify_consistency(6, 8, &proof, &r6, &r8).unwrap();
    }

    #[test]
    fn every_proof_verifies_and_any_change_breaks_it() {
        for size in 1..=40u64 {
            let tree = leaves(size as usize);
            let root = tree[..].root(size).unwrap();
            for index in 0..size {
                let proof = tree[..].inclusion_proof(index, size).unwrap();
                let leaf = tree[index as usize];
                verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
                // Another leaf, another index, a shorter or edited proof: refused.
                assert!(
                    verify_inclusion(&leaf_hash(b"forged"), index, size, &proof, &root).is_err()
                );
                if size > 1 {
                    assert!(
                        verify_inclusion(&leaf, (index + 1) % size, size, &proof, &root).is_err()
                    );
                    let mut short = proof.clone();
                    short.pop();
                    assert!(verify_inclusion(&leaf, index, size, &short, &root).is_err());
                    let mut edited = proof.clone();
                    edited[0][0] ^= 1;
                    assert!(verify_inclusion(&leaf, index, size, &edited, &root).is_err());
                }
            }
            for old in 1..=size {
                let proof = tree[..].consistency_proof(old, size).unwrap();
                let old_root = tree[..].root(old).unwrap();
                verify_consistency(old, size, &proof, &old_root, &root).unwrap();
                if old < size {
                    let mut edited = proof.clone();
                    edited[0][31] ^= 0x80;
                    assert!(verify_consistency(old, size, &edited, &old_root, &root).is_err());
                    assert!(
                        verify_consistency(old, size, &proof, &leaf_hash(b"x"), &root).is_err()
                    );
                }
            }
        }
    }

    /// A proof that verifies against one tree fails against a tree that differs in any
    /// single leaf.
    #[test]
    fn a_tree_differing_in_any_leaf_fails_every_proof() {
        let size = 13u64;
        let tree = leaves(size as usize);
        for changed in 0..size as usize {
            let mut other = tree.clone();
            other[changed] = leaf_hash(b"tampered");
            let other_root = other[..].root(size).unwrap();
            for index in 0..size {
                let proof = tree[..].inclusion_proof(index, size).unwrap();
                assert!(
                    verify_inclusion(&tree[index as usize], index, size, &proof, &other_root)
                        .is_err(),
                    "changed {changed}, index {index}"
                );
            }
            for old in 1..size {
                let proof = tree[..].consistency_proof(old, size).unwrap();
                let old_root = tree[..].root(old).unwrap();
                assert!(verify_consistency(old, size, &proof, &old_root, &other_root).is_err());
            }
        }
    }

    #[test]
    fn stored_perfect_nodes_give_every_root() {
        use std::collections::HashMap;
        let tree = leaves(37);
        let mut store: HashMap<NodeId, Hash> = HashMap::new();
        struct Store<'a>(&'a HashMap<NodeId, Hash>);
        impl Tree for Store<'_> {
            fn node(&self, id: NodeId) -> Option<Hash> {
                self.0.get(&id).copied()
            }
        }
        for (i, leaf) in tree.iter().enumerate() {
            for id in perfect_nodes_after_append(i as u64) {
                let hash = if id.level == 0 {
                    *leaf
                } else {
                    let l = store[&NodeId {
                        level: id.level - 1,
                        index: 2 * id.index,
                    }];
                    let r = store[&NodeId {
                        level: id.level - 1,
                        index: 2 * id.index + 1,
                    }];
                    node_hash(&l, &r)
                };
                store.insert(id, hash);
            }
            let size = i as u64 + 1;
            assert_eq!(
                Store(&store).root(size).unwrap(),
                tree[..].root(size).unwrap()
            );
            let from_root_nodes = nodes_for_root(size)
                .into_iter()
                .map(|id| store[&id])
                .rev()
                .reduce(|right, left| node_hash(&left, &right))
                .unwrap();
            assert_eq!(from_root_nodes, tree[..].root(size).unwrap());
        }
        assert_eq!(
            nodes_for_root(13),
            vec![
                NodeId { level: 3, index: 0 },
                NodeId { level: 2, index: 2 },
                NodeId {
                    level: 0,
                    index: 12
                },
            ]
        );
    }
}
