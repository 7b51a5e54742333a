//! Video visits: scheduling them and listing them (issue 23). The visit itself (waiting
//! room, admission, media) builds on these.

use serde::{Deserialize, Serialize};

use crate::identity::{Id, PersonSummary};

/// The shortest and longest visit, in minutes.
pub const MIN_VISIT_MINUTES: u32 = 5;
pub const MAX_VISIT_MINUTES: u32 = 240;
/// How long before its start a visit can be joined, in seconds.
pub const JOIN_EARLY_SECS: i64 = 10 * 60;
/// How far ahead a visit can be scheduled, in seconds (a year).
pub const MAX_SCHEDULE_AHEAD_SECS: i64 = 366 * 24 * 3600;
/// How far in the past a visit's start may be when it is scheduled (a visit started on
/// demand, or scheduled a moment late), in seconds.
pub const MAX_SCHEDULE_LATE_SECS: i64 = 5 * 60;
/// Visits one person may schedule in a day.
pub const MAX_SCHEDULED_PER_DAY: i64 = 200;

/// `POST /api/visits`: a clinician or staff member schedules a visit of a patient with a
/// clinician of the patient's care team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleVisit {
    pub patient: Id,
    pub clinician: Id,
    /// Seconds since the Unix epoch.
    pub starts_at: i64,
    pub minutes: u32,
}

/// One visit, as `GET /api/visits` lists it for the caller.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitSummary {
    pub id: Id,
    pub patient: PersonSummary,
    pub clinician: PersonSummary,
    /// Seconds since the Unix epoch.
    pub starts_at: i64,
    pub minutes: u32,
    /// It can be joined now: from [`JOIN_EARLY_SECS`] before its start to its end, by the
    /// server's clock.
    pub joinable: bool,
}

/// People in one visit at most, the clinician included: a mesh of peer connections.
pub const MAX_PARTICIPANTS: usize = 4;

/// `POST /api/visits/{id}/room` (the clinician opens the visit's group) and
/// `POST /api/visits/{id}/wait` (a patient enters the waiting room): the caller's
/// encryption device, the one that takes part.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitDevice {
    pub device: Id,
}

/// `POST /api/visits/{id}/admit` and `/decline`: whom.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitPerson {
    pub user: Id,
}

/// Where someone who came to a visit stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    /// In the waiting room: no keys, no signalling.
    Waiting,
    /// Let in: their device is added to the visit's group (and only then gets keys).
    Admitted,
    /// The clinician declined them: they cannot come back to this visit.
    Declined,
    /// They left (they may wait again).
    Left,
}

impl ParticipantState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Admitted => "admitted",
            Self::Declined => "declined",
            Self::Left => "left",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Waiting, Self::Admitted, Self::Declined, Self::Left]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Someone who came to a visit (not its clinician).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitParticipant {
    pub person: PersonSummary,
    /// The encryption device they came with: the one admission adds.
    pub device: Id,
    pub state: ParticipantState,
    /// Since when (seconds since the Unix epoch).
    pub since: i64,
}

/// `GET /api/visits/{id}`: one visit's room as the caller may see it. The clinician sees
/// everyone who came; a patient only themselves.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRoom {
    pub visit: VisitSummary,
    /// The visit's MLS group (a conversation of the visit kind): for its clinician, and
    /// for a participant once admitted.
    pub conversation: Option<Id>,
    /// The clinician ended it (seconds since the Unix epoch).
    pub ended_at: Option<i64>,
    pub participants: Vec<VisitParticipant>,
}

/// An ICE server's address (RFC 7064, RFC 7065): `stun:host[:port]`,
/// `stuns:host[:port]` or `turns:host[:port][?transport=tcp|udp]`. A plain `turn:` is
/// refused: relayed media goes to the TURN server over TLS only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IceUrl(String);

/// Why a string is not an ICE server Haven uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceUrlError {
    #[error("a plain turn: server is refused: use turns: (TURN over TLS)")]
    PlainTurn,
    #[error("an ICE server is stun:, stuns: or turns: followed by a host and an optional port")]
    Malformed,
}

/// The longest ICE server address taken.
pub const MAX_ICE_URL_LEN: usize = 256;

impl IceUrl {
    pub fn parse(input: &str) -> Result<Self, IceUrlError> {
        if input.is_empty()
            || input.len() > MAX_ICE_URL_LEN
            || !input.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(IceUrlError::Malformed);
        }
        let (scheme, rest) = input.split_once(':').ok_or(IceUrlError::Malformed)?;
        let scheme = scheme.to_ascii_lowercase();
        let (address, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        match (scheme.as_str(), query) {
            ("turn", _) => return Err(IceUrlError::PlainTurn),
            ("stun" | "stuns", None) => {}
            ("turns", None | Some("transport=tcp" | "transport=udp")) => {}
            _ => return Err(IceUrlError::Malformed),
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                let port: u16 = port.parse().map_err(|_| IceUrlError::Malformed)?;
                if port == 0 {
                    return Err(IceUrlError::Malformed);
                }
                (host, Some(port))
            }
            _ => (address, None),
        };
        let name_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !host.starts_with(['.', '-']);
        let v6_ok = host.len() > 2
            && host.starts_with('[')
            && host.ends_with(']')
            && host[1..host.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !(name_ok || v6_ok) || host.starts_with('/') {
            return Err(IceUrlError::Malformed);
        }
        let mut out = format!("{scheme}:{}", host.to_ascii_lowercase());
        if let Some(port) = port {
            out.push_str(&format!(":{port}"));
        }
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A TURN server (relays media; needs credentials).
    pub fn is_turn(&self) -> bool {
        self.0.starts_with("turns:")
    }
}

impl TryFrom<String> for IceUrl {
    type Error = IceUrlError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IceUrl> for String {
    fn from(url: IceUrl) -> String {
        url.0
    }
}

impl std::fmt::Display for IceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One ICE server as `RTCIceServer` takes it; a TURN server with short-lived
/// credentials in the TURN REST API form (the username is the expiry and the person,
/// the credential an HMAC of it under the secret the TURN server shares).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<IceUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `GET /api/visits/{id}/ice`: the ICE servers for one visit, for its people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServers {
    pub servers: Vec<IceServer>,
    /// When the TURN credentials stop working (seconds since the Unix epoch).
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_servers_are_stun_or_turn_over_tls_and_nothing_else() {
        for (input, normal) in [
            ("stun:stun.example.org", "stun:stun.example.org"),
            ("STUN:Stun.Example.org:3478", "stun:stun.example.org:3478"),
            ("stuns:127.0.0.1:5349", "stuns:127.0.0.1:5349"),
            (
                "turns:turn.example.org:5349?transport=tcp",
                "turns:turn.example.org:5349?transport=tcp",
            ),
            ("turns:[::1]:5349", "turns:[::1]:5349"),
        ] {
            let url = IceUrl::parse(input).unwrap();
            assert_eq!(url.as_str(), normal);
            assert_eq!(url.is_turn(), normal.starts_with("turns:"));
        }
        assert_eq!(
            IceUrl::parse("turn:turn.example.org:3478"),
            Err(IceUrlError::PlainTurn)
        );
        assert_eq!(IceUrl::parse("TURN:x"), Err(IceUrlError::PlainTurn));
        for bad in [
            "",
            "stun:",
            "stun://x",
            "https://x",
            "stun:x:0",
            "stun:x:70000",
            "stun:x?transport=tcp",
            "turns:x?transport=sctp",
            "stun:a b",
            "stun:user@x",
            "stun:-x",
            "stun:x/y",
        ] {
            assert!(IceUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(IceUrl::parse(&format!("stun:{}", "a".repeat(MAX_ICE_URL_LEN))).is_err());
        assert!(serde_json::from_str::<IceUrl>("\"turn:x\"").is_err());
    }

    #[test]
    fn participant_states_round_trip_and_nothing_else_parses() {
        for state in [
            ParticipantState::Waiting,
            ParticipantState::Admitted,
            ParticipantState::Declined,
            ParticipantState::Left,
        ] {
            assert_eq!(ParticipantState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(ParticipantState::parse("Admitted"), None);
        assert!(serde_json::from_str::<VisitPerson>(r#"{"user":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<VisitDevice>(&format!(
                r#"{{"device":"{}","extra":1}}"#,
                "ab".repeat(16)
            ))
            .is_err()
        );
    }
}
