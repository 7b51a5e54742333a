//! Frames on the `/ws` WebSocket. Text frames carry one JSON object with a `type` tag;
//! anything else is answered with an `error` frame and the connection stays usable.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// The largest frame either side accepts. Later issues raise it for MLS messages.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// What the app sends.
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
}

impl std::fmt::Debug for ClientFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ping { seq } => write!(f, "Ping {{ seq: {seq} }}"),
            Self::Auth { .. } => f.write_str("Auth { token: <redacted> }"),
            Self::Activity => f.write_str("Activity"),
        }
    }
}

/// What the server sends.
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
}

/// What a [`ServerFrame::Changed`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Emergency access to a record was granted or ended.
    BreakGlass,
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
