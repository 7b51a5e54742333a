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

#[cfg(test)]
mod tests {
    use super::*;

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
