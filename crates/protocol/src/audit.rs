//! The audit log on the wire. An entry names who did what to which identifiers, with
//! what outcome and from where, and never carries content. Its leaf in the Merkle tree is
//! the SHA-256 (with the leaf prefix) of exactly `serde_json::to_vec(&entry)`, so anyone
//! holding an entry can recompute it.

use serde::{Deserialize, Serialize};

use crate::access::Role;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditActor {
    pub user: String,
    pub role: Role,
    pub device: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success,
    Failure,
}

/// One audit entry. Field order is part of the format: the leaf hash is taken over this
/// struct serialised by `serde_json`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Position in the organisation's log, from 0.
    pub index: u64,
    /// Unix seconds.
    pub time: i64,
    pub organisation: String,
    /// `None` when nobody was signed in (a failed sign-in, a timer).
    pub actor: Option<AuditActor>,
    /// What happened, e.g. `sign_in`, `record_opened`, `break_glass_granted`.
    pub action: String,
    /// The identifier acted on (a user, a patient, an invitation), never content.
    pub target: Option<String>,
    /// The patient concerned, when there is one, so an auditor can ask "who touched
    /// this patient".
    pub patient: Option<String>,
    /// A short, non-clinical qualifier (a new role, an access basis).
    pub detail: Option<String>,
    pub outcome: AuditOutcome,
    /// The client's network address.
    pub source: Option<String>,
}

impl AuditEntry {
    /// The exact bytes the leaf hash covers.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// `GET /api/audit/entries`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; `None` at the end.
    pub next: Option<u64>,
}

/// `GET /api/audit/proof/inclusion` and `/consistency`: hashes as hex, leaf to root.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditProof {
    pub from: u64,
    pub to: u64,
    pub hashes: Vec<String>,
}

/// One line of `GET /api/audit/export` (JSON Lines): first a `head`, then every entry
/// with the leaf hash the store holds for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExportLine {
    Head {
        organisation: String,
        tree_size: u64,
        timestamp: i64,
        root_hash: String,
        signature: String,
        public_key: String,
    },
    Entry {
        entry: AuditEntry,
        leaf_hash: String,
    },
}
