//! Video visits (issue 23): scheduling and the role-scoped lists. A visit is a patient,
//! a clinician of their care team, a start and a length; the waiting room, admission and
//! the call build on it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::{DisplayName, Id, PersonSummary};
use haven_protocol::visits::{
    JOIN_EARLY_SECS, MAX_SCHEDULE_AHEAD_SECS, MAX_SCHEDULE_LATE_SECS, MAX_SCHEDULED_PER_DAY,
    MAX_VISIT_MINUTES, MIN_VISIT_MINUTES, ScheduleVisit, VisitSummary,
};

use crate::audit::Event;
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

pub mod ice;
pub mod room;

/// Visits one list shows at most.
const MAX_LISTED: i64 = 500;

fn invalid(message: &'static str) -> Error {
    Error::bad(
        ErrorCode::InvalidField,
        StatusCode::UNPROCESSABLE_ENTITY,
        message,
    )
}

/// `POST /api/visits`: a clinician or staff member schedules a visit of an active
/// patient with an active clinician of the patient's care team; recorded. A clinician
/// schedules only their own visits.
pub async fn schedule(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<ScheduleVisit>,
) -> Result<Json<VisitSummary>> {
    let at = now();
    if !(MIN_VISIT_MINUTES..=MAX_VISIT_MINUTES).contains(&request.minutes) {
        return Err(invalid("A visit lasts from 5 minutes to 4 hours."));
    }
    if request.starts_at < at - MAX_SCHEDULE_LATE_SECS {
        return Err(invalid("That start time has passed."));
    }
    if request.starts_at > at + MAX_SCHEDULE_AHEAD_SECS {
        return Err(invalid("A visit can be scheduled at most a year ahead."));
    }
    if authed.role == Role::Clinician && request.clinician != authed.user_id {
        return Err(Error::bad(
            ErrorCode::Forbidden,
            StatusCode::FORBIDDEN,
            "A clinician schedules their own visits; staff schedule anyone's.",
        ));
    }
    let org = authed.org.id.as_str();
    let mut tx = begin_write(state.db()).await?;
    // Read in the write transaction: a deactivation or a care-team change cannot slip in
    // between the checks and the insert.
    let patient: Option<(String,)> = sqlx::query_as(
        "SELECT display_name FROM users WHERE id = ? AND org_id = ? AND role = 'patient' AND active = 1",
    )
    .bind(request.patient.as_str())
    .bind(org)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((patient_name,)) = patient else {
        return Err(invalid(
            "That is not an active patient of your organisation.",
        ));
    };
    let clinician: Option<(String,)> = sqlx::query_as(
        "SELECT u.display_name FROM users u JOIN care_team c ON c.clinician_id = u.id
         WHERE u.id = ? AND u.org_id = ? AND u.role = 'clinician' AND u.active = 1
           AND c.org_id = ? AND c.patient_id = ?",
    )
    .bind(request.clinician.as_str())
    .bind(org)
    .bind(org)
    .bind(request.patient.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((clinician_name,)) = clinician else {
        return Err(Error::bad(
            ErrorCode::NotInCareTeam,
            StatusCode::UNPROCESSABLE_ENTITY,
            "That clinician is not in this patient's care team.",
        ));
    };
    let (today,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM visits WHERE scheduled_by = ? AND scheduled_at > ?")
            .bind(authed.user_id.as_str())
            .bind(at - 24 * 3600)
            .fetch_one(&mut *tx)
            .await?;
    if today >= MAX_SCHEDULED_PER_DAY {
        return Err(Error::bad(
            ErrorCode::TooManyRequests,
            StatusCode::TOO_MANY_REQUESTS,
            "You have scheduled as many visits as one person may in a day.",
        ));
    }
    let id = crate::secrets::new_id()?;
    let ends_at = request.starts_at + i64::from(request.minutes) * 60;
    sqlx::query(
        "INSERT INTO visits (id, org_id, patient_id, clinician_id, starts_at, ends_at, scheduled_by, scheduled_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.as_str())
    .bind(org)
    .bind(request.patient.as_str())
    .bind(request.clinician.as_str())
    .bind(request.starts_at)
    .bind(ends_at)
    .bind(authed.user_id.as_str())
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, AuditAction::VisitScheduled)
        .target(format!("visit:{id}"))
        .patient(request.patient.to_string())
        .detail(format!(
            "clinician {}, starts {}, {} minutes",
            request.clinician, request.starts_at, request.minutes
        ))
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(Json(VisitSummary {
        id,
        patient: person(request.patient.as_str(), &patient_name)?,
        clinician: person(request.clinician.as_str(), &clinician_name)?,
        starts_at: request.starts_at,
        minutes: request.minutes,
        joinable: joinable(request.starts_at, ends_at, at),
    }))
}

/// `GET /api/visits`: the visits not yet over (nor ended by their clinician), soonest first. A patient sees their own, a
/// clinician theirs, staff the organisation's schedule; recorded as a read of a list of
/// patients (clinicians and staff) before it leaves.
pub async fn list(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Vec<VisitSummary>>> {
    let at = now();
    let (filter, list): (&str, Option<&'static str>) = match authed.role {
        Role::Patient => ("AND v.patient_id = ?", None),
        Role::Clinician => ("AND v.clinician_id = ?", Some("own visits")),
        Role::Staff => ("AND ? <> ''", Some("visit schedule")),
        _ => return Err(Error::forbidden()),
    };
    // Only the filter's fixed text is interpolated: every value is bound.
    let sql = format!(
        "SELECT v.id, v.patient_id, p.display_name, v.clinician_id, c.display_name, v.starts_at, v.ends_at
         FROM visits v JOIN users p ON p.id = v.patient_id JOIN users c ON c.id = v.clinician_id
         WHERE v.org_id = ? AND v.ends_at > ? AND v.cancelled_at IS NULL AND v.ended_at IS NULL {filter}
         ORDER BY v.starts_at, v.id LIMIT ?"
    );
    let rows: Vec<(String, String, String, String, String, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(authed.org.id.as_str())
            .bind(at)
            .bind(authed.user_id.as_str())
            .bind(MAX_LISTED)
            .fetch_all(state.db())
            .await?;
    let visits = rows
        .into_iter()
        .map(
            |(id, patient, patient_name, clinician, clinician_name, starts_at, ends_at)| {
                Ok(VisitSummary {
                    id: Id::parse(&id).map_err(Error::internal)?,
                    patient: person(&patient, &patient_name)?,
                    clinician: person(&clinician, &clinician_name)?,
                    starts_at,
                    minutes: u32::try_from((ends_at - starts_at) / 60).unwrap_or(0),
                    joinable: joinable(starts_at, ends_at, at),
                })
            },
        )
        .collect::<Result<Vec<_>>>()?;
    if let Some(list) = list {
        crate::audit::record_list_read(&state, &authed, ip, list, visits.len()).await?;
    }
    Ok(Json(visits))
}

/// `DELETE /api/visits/{id}`: the visit's clinician, or staff, cancel a visit of their
/// organisation that has not ended; it leaves the lists and is recorded. A visit of
/// another organisation, or no visit, is not found.
pub async fn cancel(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = Id::parse(&id).map_err(|_| Error::NotFound)?;
    let at = now();
    let mut tx = begin_write(state.db()).await?;
    let visit: Option<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT patient_id, clinician_id, ends_at, cancelled_at FROM visits WHERE id = ? AND org_id = ?",
    )
    .bind(id.as_str())
    .bind(authed.org.id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((patient, clinician, ends_at, cancelled)) = visit else {
        return Err(Error::NotFound);
    };
    if authed.role == Role::Clinician && clinician != authed.user_id.as_str() {
        return Err(Error::bad(
            ErrorCode::Forbidden,
            StatusCode::FORBIDDEN,
            "A clinician cancels their own visits; staff cancel anyone's.",
        ));
    }
    if cancelled.is_some() {
        return Err(Error::no_change("That visit is already cancelled."));
    }
    if ends_at <= at {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::CONFLICT,
            "That visit is over: it cannot be cancelled.",
        ));
    }
    sqlx::query("UPDATE visits SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL")
        .bind(at)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let event = Event::by(&authed, AuditAction::VisitCancelled)
        .target(format!("visit:{id}"))
        .patient(patient)
        .detail(format!("clinician {clinician}"))
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn joinable(starts_at: i64, ends_at: i64, now: i64) -> bool {
    starts_at - JOIN_EARLY_SECS <= now && now < ends_at
}

fn person(id: &str, name: &str) -> Result<PersonSummary> {
    Ok(PersonSummary {
        id: Id::parse(id).map_err(Error::internal)?,
        display_name: DisplayName::parse(name).map_err(Error::internal)?,
    })
}
