//! The witness's decisions, with no I/O: given the newest head this browser verified and
//! kept, and the head the server shows now (and, when needed, the consistency proof
//! between them), keep the newer head or raise the alarm.
//!
//! Trust: none in the server. The server's own key cannot prove that the server did not
//! rewrite history (it can re-sign anything), so the only check that catches a rewrite is
//! that every newer head extends the one kept here. The first head is trusted on first
//! use, with its key and its organisation; every later head must carry the same ones.

use haven_audit_log::{
    HeadError, SignedTreeHead, from_hex, parse_head, verify_consistency, verify_head,
};
use haven_i18n::Arg;
use haven_protocol::audit::AuditProof;

use crate::i18n::{Msg, t, tf};

/// What the witness does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep this head: the first one seen, or one proven to extend the kept one.
    Keep(SignedTreeHead),
    /// The server shows the head already kept.
    Unchanged,
    /// Nothing is kept yet and the server's head does not verify even with its own key:
    /// nothing to keep, and no kept head to raise an alarm against.
    Untrusted,
    /// Fetch the consistency proof between these sizes, then [`conclude`].
    Prove {
        from: u64,
        to: u64,
    },
    Alarm(Alarm),
}

/// Why the log cannot be shown to extend the kept head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// The consistency proof between the two heads does not hold.
    NotExtended,
    /// The server would not give a proof between the two sizes.
    NoProof,
    /// Same size, another root: two different histories.
    Forked,
    /// Fewer entries than the kept head: entries were removed.
    Shrunk,
    /// Signed by another key than the kept head.
    OtherKey,
    /// A head of another organisation than the kept one.
    OtherOrganisation,
    /// The newer head's signature does not verify.
    BadSignature,
}

impl Finding {
    /// Why, as a clause of the alarm's sentence.
    fn explain(self) -> Msg {
        match self {
            Self::NotExtended => Msg::AuditFindingNotExtended,
            Self::NoProof => Msg::AuditFindingNoProof,
            Self::Forked => Msg::AuditFindingForked,
            Self::Shrunk => Msg::AuditFindingShrunk,
            Self::OtherKey => Msg::AuditFindingOtherKey,
            Self::OtherOrganisation => Msg::AuditFindingOtherOrganisation,
            Self::BadSignature => Msg::AuditFindingBadSignature,
        }
    }
}

/// The alarm: the kept head, the head that does not extend it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub kept: SignedTreeHead,
    pub newer: SignedTreeHead,
    pub finding: Finding,
}

impl Alarm {
    /// One paragraph for the auditor, naming both tree sizes, in the current language.
    pub fn message(&self) -> String {
        tf(
            Msg::AuditWitnessAlarmText,
            &[
                ("kept", Arg::from(self.kept.tree_size)),
                ("newer", Arg::from(self.newer.tree_size)),
                ("finding", Arg::from(t(self.finding.explain()))),
            ],
        )
    }

    fn raise(kept: &SignedTreeHead, newer: &SignedTreeHead, finding: Finding) -> Step {
        Step::Alarm(Self {
            kept: kept.clone(),
            newer: newer.clone(),
            finding,
        })
    }
}

/// The first step when the server shows `newest` and this browser kept `kept`. A kept
/// head that no longer parses counts as none kept (the store is this browser's own).
pub fn assess(kept: Option<&SignedTreeHead>, newest: &SignedTreeHead) -> Step {
    let Some(kept) = kept.filter(|k| parse_head(k).is_ok()) else {
        // Trust on first use, but only a head that verifies with its own key.
        return match verify_head(newest, &newest.public_key, &newest.organisation) {
            Ok(_) => Step::Keep(newest.clone()),
            Err(_) => Step::Untrusted,
        };
    };
    let finding = match verify_head(newest, &kept.public_key, &kept.organisation) {
        Ok(_) => None,
        Err(HeadError::WrongKey) => Some(Finding::OtherKey),
        Err(HeadError::WrongOrganisation) => Some(Finding::OtherOrganisation),
        Err(HeadError::BadSignature | HeadError::Malformed) => Some(Finding::BadSignature),
    };
    if let Some(finding) = finding {
        return Alarm::raise(kept, newest, finding);
    }
    let (old, new) = (kept.tree_size, newest.tree_size);
    if new < old {
        return Alarm::raise(kept, newest, Finding::Shrunk);
    }
    if new == old {
        return if same_root(kept, newest) {
            Step::Unchanged
        } else {
            Alarm::raise(kept, newest, Finding::Forked)
        };
    }
    if old == 0 {
        // Every log extends the empty one.
        return Step::Keep(newest.clone());
    }
    Step::Prove { from: old, to: new }
}

fn same_root(a: &SignedTreeHead, b: &SignedTreeHead) -> bool {
    matches!(
        (from_hex::<32>(&a.root_hash), from_hex::<32>(&b.root_hash)),
        (Some(x), Some(y)) if x == y
    )
}

/// After [`Step::Prove`]: keep `newest` if `proof` shows the log of `kept` is a prefix of
/// it, else the alarm.
pub fn conclude(kept: &SignedTreeHead, newest: &SignedTreeHead, proof: &AuditProof) -> Step {
    let alarm = || Alarm::raise(kept, newest, Finding::NotExtended);
    if proof.from != kept.tree_size || proof.to != newest.tree_size {
        return alarm();
    }
    let Some(hashes) = proof
        .hashes
        .iter()
        .map(|h| from_hex::<32>(h))
        .collect::<Option<Vec<_>>>()
    else {
        return alarm();
    };
    let (Ok(old), Ok(new)) = (parse_head(kept), parse_head(newest)) else {
        return alarm();
    };
    match verify_consistency(old.size, new.size, &hashes, &old.root, &new.root) {
        Ok(()) => Step::Keep(newest.clone()),
        Err(_) => alarm(),
    }
}

/// After [`Step::Prove`], when the server refused to give the proof.
pub fn refused(kept: &SignedTreeHead, newest: &SignedTreeHead) -> Step {
    Alarm::raise(kept, newest, Finding::NoProof)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

    use super::*;
    use ed25519_dalek::SigningKey;
    use haven_audit_log::{Hash, NodeId, Tree, TreeHead, hex, leaf_hash, node_hash};
    use std::collections::HashMap;
    use wasm_bindgen_test::wasm_bindgen_test;

    const ORG: &str = "org-a";

    /// An in-memory log: every perfect subtree of `n` leaves.
    struct Memory(HashMap<NodeId, Hash>);

    impl Tree for Memory {
        fn node(&self, id: NodeId) -> Option<Hash> {
            self.0.get(&id).copied()
        }
    }

    fn log(leaves: &[&str]) -> Memory {
        let mut nodes = HashMap::new();
        for (i, text) in leaves.iter().enumerate() {
            let mut id = NodeId {
                level: 0,
                index: i as u64,
            };
            nodes.insert(id, leaf_hash(text.as_bytes()));
            while id.index % 2 == 1 {
                let left = nodes[&NodeId {
                    level: id.level,
                    index: id.index - 1,
                }];
                let right = nodes[&id];
                id = NodeId {
                    level: id.level + 1,
                    index: id.index / 2,
                };
                nodes.insert(id, node_hash(&left, &right));
            }
        }
        Memory(nodes)
    }

    fn head(tree: &Memory, size: u64, key: &SigningKey) -> SignedTreeHead {
        TreeHead {
            organisation: ORG.into(),
            size,
            timestamp: 1_700_000_000 + size as i64,
            root: tree.root(size).unwrap(),
        }
        .sign(key)
    }

    fn proof(tree: &Memory, from: u64, to: u64) -> AuditProof {
        AuditProof {
            from,
            to,
            hashes: tree
                .consistency_proof(from, to)
                .unwrap()
                .iter()
                .map(|h| hex(h))
                .collect(),
        }
    }

    fn finding(step: Step) -> Finding {
        match step {
            Step::Alarm(alarm) => alarm.finding,
            other => panic!("no alarm: {other:?}"),
        }
    }

    const HONEST: [&str; 9] = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];

    #[wasm_bindgen_test]
    fn the_first_head_is_kept_and_a_grown_log_proven_before_it_replaces_it() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let tree = log(&HONEST);
        let old = head(&tree, 5, &key);
        let new = head(&tree, 9, &key);
        assert_eq!(assess(None, &old), Step::Keep(old.clone()));
        assert_eq!(assess(Some(&old), &old), Step::Unchanged);
        assert_eq!(assess(Some(&old), &new), Step::Prove { from: 5, to: 9 });
        assert_eq!(
            conclude(&old, &new, &proof(&tree, 5, 9)),
            Step::Keep(new.clone())
        );
        // A head of an empty log is extended by anything.
        let empty = TreeHead {
            organisation: ORG.into(),
            size: 0,
            timestamp: 1,
            root: [0; 32],
        }
        .sign(&key);
        assert_eq!(assess(Some(&empty), &new), Step::Keep(new.clone()));
    }

    /// The attack a witness exists for: the server rewrites an early entry, recomputes
    /// every node above it and re-signs with its own key. Each head verifies on its own;
    /// only the consistency proof from the kept head fails.
    #[wasm_bindgen_test]
    fn a_rewritten_history_re_signed_by_the_server_raises_the_alarm() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let honest = log(&HONEST);
        let kept = head(&honest, 5, &key);
        let mut rewritten_leaves = HONEST;
        rewritten_leaves[1] = "nothing to see";
        let rewritten = log(&rewritten_leaves);
        let newer = head(&rewritten, 9, &key);
        assert!(verify_head(&newer, &newer.public_key, ORG).is_ok());
        assert_eq!(assess(Some(&kept), &newer), Step::Prove { from: 5, to: 9 });
        let step = conclude(&kept, &newer, &proof(&rewritten, 5, 9));
        let Step::Alarm(alarm) = step else {
            panic!("no alarm")
        };
        assert_eq!(alarm.finding, Finding::NotExtended);
        let text = alarm.message();
        assert!(
            text.contains("Kept head: 5 entries") && text.contains("shows 9 entries"),
            "{text}"
        );
        // Nor does the honest proof save a rewritten head, or a proof of other sizes.
        assert_eq!(
            finding(conclude(&kept, &newer, &proof(&honest, 5, 9))),
            Finding::NotExtended
        );
        let honest_new = head(&honest, 9, &key);
        assert_eq!(
            finding(conclude(&kept, &honest_new, &proof(&honest, 4, 9))),
            Finding::NotExtended
        );
        let mut junk = proof(&honest, 5, 9);
        junk.hashes[0] = "zz".into();
        assert_eq!(
            finding(conclude(&kept, &honest_new, &junk)),
            Finding::NotExtended
        );
        assert_eq!(finding(refused(&kept, &honest_new)), Finding::NoProof);
    }

    #[wasm_bindgen_test]
    fn a_shorter_forked_foreign_or_unsigned_head_raises_the_alarm() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let honest = log(&HONEST);
        let kept = head(&honest, 6, &key);
        assert_eq!(
            finding(assess(Some(&kept), &head(&honest, 4, &key))),
            Finding::Shrunk
        );
        let mut other_leaves = HONEST;
        other_leaves[0] = "x";
        assert_eq!(
            finding(assess(Some(&kept), &head(&log(&other_leaves), 6, &key))),
            Finding::Forked
        );
        let stranger = SigningKey::from_bytes(&[2; 32]);
        assert_eq!(
            finding(assess(Some(&kept), &head(&honest, 9, &stranger))),
            Finding::OtherKey
        );
        let foreign = TreeHead {
            organisation: "org-b".into(),
            size: 9,
            timestamp: 2,
            root: honest.root(9).unwrap(),
        }
        .sign(&key);
        assert_eq!(
            finding(assess(Some(&kept), &foreign)),
            Finding::OtherOrganisation
        );
        let mut grown = head(&honest, 9, &key);
        grown.tree_size = 10;
        assert_eq!(finding(assess(Some(&kept), &grown)), Finding::BadSignature);
        // Nothing kept: an unsigned head is not kept (and there is nothing to alarm on).
        assert_eq!(assess(None, &grown), Step::Untrusted);
        // A kept head that no longer parses counts as none.
        let mut garbled = kept.clone();
        garbled.root_hash = "garbled".into();
        let fresh = head(&honest, 9, &key);
        assert_eq!(assess(Some(&garbled), &fresh), Step::Keep(fresh.clone()));
    }
}
