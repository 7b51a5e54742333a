//! Frames on the `/ws` WebSocket. Text frames carry one JSON object with a `type` tag;
//! anything else is answered with an `error` frame and the connection stays usable.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::identity::Id;
use crate::messaging::{CommitInfo, Delivered, MlsBytes};

/// The largest frame either side accepts: an MLS message at its largest, in base64,
/// with room for the frame around it.
pub const MAX_FRAME_BYTES: usize = crate::messaging::MAX_MLS_MESSAGE_BYTES / 3 * 4 + 8 * 1024;

/// What the app sends.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Application-level keepalive: browsers answer WebSocket pings on their own but do not
    /// tell the page, so the app pings to learn that the link is dead.
    Ping { seq: u64 },
    /// Binds this connection to a signed-in session (tokens never travel in URLs).
    Auth { token: String },
    /// The person is active in the app: keeps the server's idle timer from expiring.
    Activity,
    /// Deliver to this connection what this MLS device of the signed-in person has not
    /// acknowledged, and everything new.
    Subscribe { device: Id },
    /// An MLS message (application message or commit) for a conversation. The answer
    /// is `accepted` with its sequence number once it is durable, or `refused`.
    Send {
        request: u64,
        conversation: Id,
        message: MlsBytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<CommitInfo>,
        /// The version of the device's sealed state that wrote this message: the
        /// server keeps the highest with the device's state key, and the device refuses
        /// to open an older state (one put back would use its keys again).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<u64>,
    },
    /// The subscribed device has processed everything up to `seq` in `conversation`.
    Ack { conversation: Id, seq: u64 },
    /// The person has seen everything up to `seq` in `conversation` on this device
    /// (recorded in the audit log; the read mark the others see travels end-to-end
    /// encrypted).
    Read { conversation: Id, seq: u64 },
}

impl std::fmt::Debug for ClientFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ping { seq } => write!(f, "Ping {{ seq: {seq} }}"),
            Self::Auth { .. } => f.write_str("Auth { token: <redacted> }"),
            Self::Activity => f.write_str("Activity"),
            Self::Subscribe { device } => write!(f, "Subscribe({device})"),
            Self::Send {
                request,
                conversation,
                message,
                ..
            } => write!(f, "Send({request}, {conversation}, {message:?})"),
            Self::Ack { conversation, seq } => write!(f, "Ack({conversation}, {seq})"),
            Self::Read { conversation, seq } => write!(f, "Read({conversation}, {seq})"),
        }
    }
}

/// What the server sends.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Hello {
        heartbeat_secs: u32,
    },
    Pong {
        seq: u64,
    },
    /// The server's own keepalive, also sent as a WebSocket ping.
    Heartbeat,
    Error {
        code: ErrorCode,
        message: String,
    },
    /// The connection now belongs to a session.
    Authenticated,
    /// The session ended (signed out elsewhere, expired, account deactivated); the app
    /// must wipe its state and return to sign-in.
    SessionEnded {
        reason: crate::audit::SessionEndReason,
    },
    /// Something the signed-in person sees has changed: fetch it again. Carries no
    /// content, only which view.
    Changed {
        topic: Topic,
    },
    /// The connection now receives the device's messages.
    Subscribed {
        device: Id,
    },
    /// A `send` is durable, with its place in the conversation.
    Accepted {
        request: u64,
        seq: u64,
    },
    /// A `send` was refused and nothing was stored. For a commit that lost the race for
    /// its epoch, `winner` is the sequence number of the commit that won: apply it,
    /// then retry.
    Refused {
        request: u64,
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        winner: Option<u64>,
        /// With `quota_exceeded`: seconds until the send may succeed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// One message for the subscribed device, in order; acknowledge it with `ack`.
    Deliver {
        conversation: Id,
        seq: u64,
        kind: Delivered,
        /// The sending device.
        sender: Id,
        message: MlsBytes,
    },
    /// How far each other person in `conversation` has received it: the highest
    /// sequence number one of their devices acknowledged. Sent after `subscribed` for
    /// every conversation of the device, and again whenever someone's position moves.
    Receipts {
        conversation: Id,
        delivered: Vec<Reached>,
    },
    /// Messages `from..=to` of `conversation` are gone before this device received
    /// them (they expired, or were removed): delivery goes on after them. The device
    /// acknowledges `to` like a delivery and catches up on that stretch from the history
    /// a member hands over.
    Gap {
        conversation: Id,
        from: u64,
        to: u64,
        reason: GapReason,
    },
}

/// Why a device can no longer have a stretch of a conversation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// Kept for [`crate::messaging::MESSAGE_RETENTION_SECS`] and then deleted.
    Expired,
    /// Deleted once every device counted then had received it (this device did not
    /// count: it was revoked, or had already left).
    Removed,
}

/// One person's position in a conversation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    pub user: Id,
    pub seq: u64,
}

/// What a [`ServerFrame::Changed`] is about.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Emergency access to a record was granted or ended.
    BreakGlass,
    /// An encryption device of someone one converses with was revoked: fetch the
    /// revocation list again, show the removal as pending, and commit it if online.
    Devices,
    /// Someone one converses with set up a new device: fetch one's conversations again
    /// (and add the device where one may).
    Conversations,
    /// A clinician was brought into the care team: the patient's care team and activity
    /// views fetch again.
    CareTeam,
    /// Someone entered or left a visit's waiting room, was admitted or declined, or the
    /// visit ended: the visit's views fetch its room again.
    Visits,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_refuse_unknowns() {
        let ping: ClientFrame = serde_json::from_str(r#"{"type":"ping","seq":7}"#).unwrap();
        assert_eq!(ping, ClientFrame::Ping { seq: 7 });
        for bad in [
            r#"{"type":"pong","seq":7}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"ping","seq":-1}"#,
            r#"{"type":"ping","seq":1,"extra":true}"#,
            r#"[]"#,
        ] {
            assert!(serde_json::from_str::<ClientFrame>(bad).is_err(), "{bad}");
        }
        let hello = serde_json::to_string(&ServerFrame::Hello { heartbeat_secs: 15 }).unwrap();
        assert_eq!(hello, r#"{"type":"hello","heartbeat_secs":15}"#);
    }
}
