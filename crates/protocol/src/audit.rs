//! The audit log on the wire. An entry names who did what to which identifiers, with
//! what outcome and from where, and never carries content. Its leaf in the Merkle tree is
//! the SHA-256 (with the leaf prefix) of exactly `serde_json::to_vec(&entry)`, so anyone
//! holding an entry can recompute it.

use serde::{Deserialize, Serialize};

use crate::access::Role;

/// Declares an enum whose variants travel as snake_case words, with `ALL`, `as_str`,
/// `FromStr` and a sentence for people, from one list.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $word:literal : $about:literal,)+ }) => {
        $(#[$meta])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, Deserialize))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[doc = $about] $variant,)+
        }

        /// Read through [`Self::ALL`]: in the browser, far less code than a derived
        /// reader of every word (the server derives it, for its OpenAPI document).
        #[cfg(not(feature = "openapi"))]
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = String::deserialize(d)?;
                word.parse().map_err(|_| {
                    serde::de::Error::invalid_value(
                        serde::de::Unexpected::Str(&word),
                        &"a known word",
                    )
                })
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            /// What it means, in one sentence for an auditor or a README.
            pub fn about(self) -> &'static str {
                match self {
                    $(Self::$variant => $about,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or(UnknownWord)
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a known value")]
pub struct UnknownWord;

words! {
    /// What an audit entry records. Adding an event is adding a variant here: the
    /// server's `record`, the auditor's filter, the README's list and the tests all read
    /// this list.
    AuditAction {
        SignIn = "sign_in": "Someone signed in (password and, where enrolled, a second factor).",
        SignInFailed = "sign_in_failed": "A sign-in was refused: wrong password, unknown or inactive account.",
        SignInThrottled = "sign_in_throttled": "Sign-in attempts refused by the rate limit in one window, recorded once with their count.",
        SecondFactorFailed = "second_factor_failed": "A second-factor code was refused.",
        SecondFactorEnrolled = "second_factor_enrolled": "An authenticator app was set up (first time, or replacing one with the current code).",
        SignOut = "sign_out": "Someone signed out.",
        AutoLogoff = "auto_logoff": "The app signed someone out after the idle time.",
        SessionExpired = "session_expired": "A session ended by itself: idle time or absolute lifetime.",
        SessionEnded = "session_ended": "A session was ended by someone else's action (deactivation, role change, a factor replaced).",
        InvitationCreated = "invitation_created": "An invitation link was made.",
        InvitationAccepted = "invitation_accepted": "An invitation was used to set up an account.",
        InvitationRevoked = "invitation_revoked": "An open invitation was withdrawn (by an admin, or because its sender lost the authority to send it).",
        InvitationRefused = "invitation_refused": "An invitation was refused because its sender no longer may invite that role.",
        RoleChanged = "role_changed": "An administrator changed someone's role.",
        AccountDeactivated = "account_deactivated": "An administrator deactivated an account.",
        SettingsChanged = "settings_changed": "An administrator changed the organisation's settings.",
        EmbeddingChanged = "embedding_changed": "An administrator changed which partner origins may embed the app (the new list).",
        BrandChanged = "brand_changed": "An administrator changed how the organisation presents itself (which of name, colours, support contact, language, logo).",
        BreakGlassGranted = "break_glass_granted": "A clinician opened emergency access to a patient outside their care team.",
        BreakGlassEnded = "break_glass_ended": "Emergency access ended (ended early by the clinician, or run out).",
        CareTeamJoined = "care_team_joined": "A clinician was brought into a patient's care team (by whom, whom).",
        RecordOpened = "record_opened": "A patient's record was read.",
        PatientListRead = "patient_list_read": "A list holding patients' details was read (which list, how many records).",
        AuditExported = "audit_exported": "The audit log was exported.",
        WitnessAlarm = "witness_alarm": "A browser that had verified an older tree head found the log does not extend it.",
        DeviceRegistered = "device_registered": "A browser registered an end-to-end encryption device and the server certified its key.",
        DeviceRevoked = "device_revoked": "An end-to-end encryption device was revoked (by its owner, or because the account was deactivated or changed role); nothing more is delivered to it.",
        DeviceStateKeyReleased = "device_state_key_released": "The secret that unlocks a device's local store was released to its owner's session (recorded once per session and device in 10 minutes).",
        KeyPackageClaimed = "key_package_claimed": "A KeyPackage of a device was handed out so that the device can be added to a conversation (which device, one-time or last-resort; never the package).",
        ConversationCreated = "conversation_created": "An end-to-end encrypted conversation about a patient's care was started.",
        ConversationOpened = "conversation_opened": "Someone opened a conversation in the app (recorded once per session and conversation in 10 minutes).",
        MessageSent = "message_sent": "Encrypted messages or a change of members were accepted into a conversation: messages one entry per device and batch written together, naming each sequence number (ids and sizes, never content).",
        MessageDelivered = "message_delivered": "A device acknowledged messages of a conversation (which sequence numbers).",
        MessageRead = "message_read": "Someone read a conversation on a device, up to which sequence number (reported by their device).",
        MemberAdded = "member_added": "A device was added to a conversation.",
        MemberRemoved = "member_removed": "A device was removed from a conversation.",
        AttachmentUploaded = "attachment_uploaded": "An encrypted attachment was stored for a conversation (id and size).",
        AttachmentDownloaded = "attachment_downloaded": "An encrypted attachment was fetched by a member of its conversation (id and size).",
        VisitScheduled = "visit_scheduled": "A video visit was scheduled (patient, clinician, start and length).",
        VisitCancelled = "visit_cancelled": "A scheduled video visit was cancelled (by its clinician or staff) before it ended.",
        VisitCreated = "visit_created": "The clinician's device opened a visit's end-to-end encrypted group (the visit's conversation).",
        VisitWaiting = "visit_waiting": "Someone entered a visit's waiting room with one of their devices.",
        VisitAdmitted = "visit_admitted": "The clinician admitted someone from the waiting room: their device may now be added to the visit's group.",
        VisitDeclined = "visit_declined": "The clinician declined someone in the waiting room (or sent them out of the visit).",
        VisitLeft = "visit_left": "Someone left a visit.",
        VisitEnded = "visit_ended": "The clinician ended a visit for everyone: nothing more is sent in its group.",
        QuotaExceeded = "quota_exceeded": "A message or attachment was refused because a storage quota was used up (whose: device, person or organisation; per day or held), recorded once per person and quota in 10 minutes.",
    }
}

words! {
    /// Why a session ended: stored with the session, sent to its sockets, and (where it
    /// is worth an entry) recorded.
    SessionEndReason {
        SignedOut = "signed_out": "The person signed out.",
        AutoLogoff = "auto_logoff": "The app signed out after the idle time.",
        Idle = "idle": "No request within the organisation's idle time.",
        Expired = "expired": "The session reached its absolute lifetime.",
        Deactivated = "deactivated": "The account was deactivated.",
        RoleChanged = "role_changed": "The account's role changed.",
        SecondFactorDone = "second_factor_done": "A half-finished sign-in was completed and replaced by a new session.",
        FactorChanged = "factor_changed": "The account's second factor was replaced.",
        DeviceRevoked = "device_revoked": "The encryption device this session registered or unlocked was revoked.",
    }
}

impl SessionEndReason {
    /// The audit action and detail for a session ending for this reason, if it is worth
    /// an entry of its own (a role change or deactivation is recorded by the action
    /// that caused it).
    pub fn audit(self) -> Option<(AuditAction, Option<&'static str>)> {
        match self {
            Self::SignedOut => Some((AuditAction::SignOut, None)),
            Self::AutoLogoff => Some((AuditAction::AutoLogoff, None)),
            Self::Idle => Some((AuditAction::SessionExpired, Some("idle"))),
            Self::Expired => Some((AuditAction::SessionExpired, Some("absolute lifetime"))),
            Self::Deactivated => Some((AuditAction::SessionEnded, Some("account deactivated"))),
            // Recorded by the action that caused it (`device_revoked`, with the count).
            Self::RoleChanged
            | Self::SecondFactorDone
            | Self::FactorChanged
            | Self::DeviceRevoked => None,
        }
    }
}

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
    /// What happened.
    pub action: AuditAction,
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
/// it covers, in order, with the leaf hash the store holds for it.
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
    /// A stored row that is no longer an entry (its text was changed in the store),
    /// exported exactly as found so that a verifier names it instead of never seeing it.
    Unreadable {
        /// Its position, from the store.
        index: u64,
        /// The stored text, as it is.
        payload: String,
        leaf_hash: String,
    },
}
