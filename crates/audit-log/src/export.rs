//! Verifying an export (JSON Lines: a signed head, then every entry with its stored leaf
//! hash) without trusting whoever produced it. The same function runs in the browser's
//! auditor view and in `haven-server audit verify`.

use haven_protocol::audit::ExportLine;

#[cfg(test)]
use crate::head::HeadError;
use crate::head::{SignedTreeHead, TreeHead, verify_head};
use crate::tree::{Hash, leaf_hash, root_from_leaves};
use crate::{from_hex, hex};

/// What a verifier concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        entries: u64,
        head: TreeHead,
    },
    /// The log is not what was signed. `first_bad` names the first entry found wrong,
    /// when the fault can be placed.
    Broken {
        first_bad: Option<u64>,
        reason: String,
    },
}

impl Verdict {
    pub fn is_intact(&self) -> bool {
        matches!(self, Verdict::Intact { .. })
    }

    /// One sentence for a person.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Intact { entries, head } => format!(
                "Intact: {entries} entries, matching the tree head signed for {} entries.",
                head.size
            ),
            Verdict::Broken {
                first_bad: Some(i),
                reason,
            } => {
                format!("NOT intact: the first bad entry is #{i}: {reason}.")
            }
            Verdict::Broken {
                first_bad: None,
                reason,
            } => format!("NOT intact: {reason}."),
        }
    }
}

fn broken(first_bad: Option<u64>, reason: impl Into<String>) -> Verdict {
    Verdict::Broken {
        first_bad,
        reason: reason.into(),
    }
}

/// Checks every line of `export` against the head it starts with, and that head against
/// `trusted_key` (hex Ed25519 public key) and the `organisation` the export is expected
/// to be of.
pub fn verify_export(export: &str, trusted_key: &str, organisation: &str) -> Verdict {
    let mut lines = export.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return broken(None, "the export is empty");
    };
    let head = match serde_json::from_str::<ExportLine>(first)
        .ok()
        .and_then(SignedTreeHead::from_export_line)
    {
        Some(head) => head,
        None => return broken(None, "the export does not start with a signed tree head"),
    };
    let head = match verify_head(&head, trusted_key, organisation) {
        Ok(head) => head,
        Err(e) => return broken(None, e.to_string()),
    };
    let mut leaves: Vec<Hash> = Vec::new();
    for line in lines {
        let expected = leaves.len() as u64;
        // A readable entry carries its organisation; a row the store holds in some
        // other form is exported as its text, as it is.
        let (index, organisation, bytes, stored) = match serde_json::from_str::<ExportLine>(line) {
            Ok(ExportLine::Entry { entry, leaf_hash }) => (
                entry.index,
                Some(entry.organisation.clone()),
                entry.canonical_bytes(),
                leaf_hash,
            ),
            Ok(ExportLine::Unreadable {
                index,
                payload,
                leaf_hash,
            }) => (index, None, payload.into_bytes(), leaf_hash),
            _ => return broken(Some(expected), "this line is not a valid entry"),
        };
        if index != expected {
            return broken(
                Some(expected),
                format!("it is missing or out of order (found #{index} in its place)"),
            );
        }
        if organisation
            .as_ref()
            .is_some_and(|org| *org != head.organisation)
        {
            return broken(Some(expected), "it belongs to another organisation");
        }
        if expected >= head.size {
            return broken(
                Some(expected),
                "it is not covered by the signed tree head (inserted)",
            );
        }
        let computed = leaf_hash(&bytes);
        match from_hex::<32>(&stored) {
            Some(stored) if stored == computed && organisation.is_none() => {
                return broken(
                    Some(expected),
                    "it is stored in a form that is not an entry",
                );
            }
            Some(stored) if stored == computed => leaves.push(computed),
            Some(_) => {
                return broken(
                    Some(expected),
                    "its content does not match its hash in the tree (changed)",
                );
            }
            None => return broken(Some(expected), "the tree has no hash for it"),
        }
    }
    if (leaves.len() as u64) < head.size {
        return broken(
            Some(leaves.len() as u64),
            "it is missing (the signed head covers more entries)",
        );
    }
    if root_from_leaves(&leaves) != head.root {
        return broken(
            None,
            format!(
                "the entries do not produce the signed root {} (the tree itself was rewritten)",
                hex(&head.root)
            ),
        );
    }
    Verdict::Intact {
        entries: leaves.len() as u64,
        head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use haven_protocol::audit::{AuditAction, AuditEntry, AuditOutcome};

    const ORG: &str = "org";

    fn entry(index: u64) -> AuditEntry {
        AuditEntry {
            index,
            time: 1_700_000_000 + index as i64,
            organisation: ORG.into(),
            actor: None,
            action: AuditAction::SignIn,
            target: Some(format!("user{index}")),
            patient: None,
            detail: None,
            outcome: AuditOutcome::Success,
            source: None,
        }
    }

    fn export_of(organisation: &str, entries: &[AuditEntry], key: &SigningKey) -> Vec<String> {
        let leaves: Vec<Hash> = entries
            .iter()
            .map(|e| leaf_hash(&e.canonical_bytes()))
            .collect();
        let head = TreeHead {
            organisation: organisation.into(),
            size: entries.len() as u64,
            timestamp: 1,
            root: root_from_leaves(&leaves),
        }
        .sign(key);
        let mut lines = vec![serde_json::to_string(&head.export_line()).unwrap()];
        for (e, leaf) in entries.iter().zip(&leaves) {
            lines.push(
                serde_json::to_string(&ExportLine::Entry {
                    entry: e.clone(),
                    leaf_hash: hex(leaf),
                })
                .unwrap(),
            );
        }
        lines
    }

    fn export(entries: &[AuditEntry], key: &SigningKey) -> Vec<String> {
        export_of(ORG, entries, key)
    }

    #[test]
    fn names_the_first_bad_entry_for_every_kind_of_tampering() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let trusted = hex(key.verifying_key().as_bytes());
        let entries: Vec<AuditEntry> = (0..10).map(entry).collect();
        let good = export(&entries, &key);
        assert!(verify_export(&good.join("\n"), &trusted, ORG).is_intact());

        let first_bad = |lines: &[String]| match verify_export(&lines.join("\n"), &trusted, ORG) {
            Verdict::Broken { first_bad, .. } => first_bad,
            Verdict::Intact { .. } => panic!("tampering not detected"),
        };
        // Changed content (line 4 holds entry 3).
        let mut changed = good.clone();
        changed[4] = changed[4].replace("user3", "user9");
        assert_eq!(first_bad(&changed), Some(3));
        // Deleted.
        let mut deleted = good.clone();
        deleted.remove(6);
        assert_eq!(first_bad(&deleted), Some(5));
        // Reordered.
        let mut reordered = good.clone();
        reordered.swap(2, 3);
        assert_eq!(first_bad(&reordered), Some(1));
        // Inserted at the end, beyond the signed head.
        let mut inserted = good.clone();
        let extra = entry(10);
        inserted.push(
            serde_json::to_string(&ExportLine::Entry {
                leaf_hash: hex(&leaf_hash(&extra.canonical_bytes())),
                entry: extra,
            })
            .unwrap(),
        );
        assert_eq!(first_bad(&inserted), Some(10));
        // Truncated.
        assert_eq!(first_bad(&good[..8]), Some(7));
        // Garbage line.
        let mut garbage = good.clone();
        garbage[2] = "{not json".into();
        assert_eq!(first_bad(&garbage), Some(1));
        // Re-signed with another key, or the whole tree rewritten consistently.
        let other = SigningKey::from_bytes(&[10; 32]);
        assert!(!verify_export(&export(&entries, &other).join("\n"), &trusted, ORG).is_intact());
        let mut rewritten_entries = entries.clone();
        rewritten_entries[4].action = AuditAction::AuditExported;
        let mut rewritten = export(&rewritten_entries, &other);
        rewritten[0] = good[0].clone(); // keeps the genuine signed head
        assert_eq!(first_bad(&rewritten), None);
        assert!(
            verify_export("", &trusted, ORG)
                .describe()
                .contains("NOT intact")
        );
    }

    /// A row the store no longer holds as an entry travels as its text: the verifier
    /// names it as changed, and the entries after it still line up.
    #[test]
    fn an_unreadable_row_is_named_as_changed() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let trusted = hex(key.verifying_key().as_bytes());
        let entries: Vec<AuditEntry> = (0..6).map(entry).collect();
        let mut lines = export(&entries, &key);
        let stored = hex(&leaf_hash(&entries[2].canonical_bytes()));
        let unreadable = |payload: &str, leaf_hash: &str| {
            serde_json::to_string(&ExportLine::Unreadable {
                index: 2,
                payload: payload.into(),
                leaf_hash: leaf_hash.into(),
            })
            .unwrap()
        };
        lines[3] = unreadable("garbled", &stored);
        let verdict = verify_export(&lines.join("\n"), &trusted, ORG);
        assert_eq!(
            verdict,
            Verdict::Broken {
                first_bad: Some(2),
                reason: "its content does not match its hash in the tree (changed)".into()
            }
        );
        // Even text that matches its leaf is no entry.
        lines[3] = unreadable("garbled", &hex(&leaf_hash(b"garbled")));
        assert!(matches!(
            verify_export(&lines.join("\n"), &trusted, ORG),
            Verdict::Broken {
                first_bad: Some(2),
                ..
            }
        ));
    }

    /// Defect 8: an export is verified as the export of one organisation.
    #[test]
    fn an_export_of_another_organisation_is_refused() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let trusted = hex(key.verifying_key().as_bytes());
        let entries: Vec<AuditEntry> = (0..4).map(entry).collect();
        let theirs = export_of("theirs", &entries, &key).join("\n");
        assert_eq!(
            verify_export(&theirs, &trusted, "ours"),
            Verdict::Broken {
                first_bad: None,
                reason: HeadError::WrongOrganisation.to_string()
            }
        );
        let relabelled = theirs.replacen("\"theirs\"", "\"ours\"", 1);
        assert_eq!(
            verify_export(&relabelled, &trusted, "ours"),
            Verdict::Broken {
                first_bad: None,
                reason: HeadError::BadSignature.to_string()
            }
        );
        // Entries of one organisation (here "org") under another's genuine head.
        let mixed = export_of("theirs", &entries, &key);
        assert!(matches!(
            verify_export(&mixed.join("\n"), &trusted, "theirs"),
            Verdict::Broken {
                first_bad: Some(0),
                ..
            }
        ));
    }
}
