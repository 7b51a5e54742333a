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
