//! Conversations as the API sees them: start one about a patient's care, list a
//! device's conversations, and record that one was opened. Messages themselves travel
//! over the WebSocket (`send`, `deliver`, `ack`), through the writer.
//!
//! Trust: who may be in a conversation comes from the care team, checked here and by
//! the writer for every device added; emergency access never makes anyone a member.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use haven_protocol::ErrorCode;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{ConversationSummary, CreateConversation, WaitingDevice};

use crate::audit::repeats::Key;
use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

/// `POST /api/conversations`
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<CreateConversation>,
) -> Result<(StatusCode, Json<ConversationSummary>)> {
    let id = crate::secrets::new_id()?;
    let mut tx = begin_write(state.db()).await?;
    let device: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM mls_devices WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
    )
    .bind(request.device.as_str())
    .bind(authed.user_id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if device.is_none() {
        return Err(Error::conflict(
            ErrorCode::DeviceUnavailable,
            "This encryption device was removed or is not yours. Set up this browser again.",
        ));
    }
    // A conversation is the patient and their clinicians: a clinician starts it with the
    // patient in it. Nobody starts one alone (it would be storage for one person, and
    // nobody of the clinic would ever read it).
    if authed.role != haven_protocol::Role::Clinician {
        return Err(Error::bad(
            ErrorCode::Forbidden,
            StatusCode::FORBIDDEN,
            "A clinician of your care team starts a conversation with you; you answer in it.",
        ));
    }
    let patient: Option<(String,)> =
        sqlx::query_as("SELECT role FROM users WHERE id = ? AND org_id = ? AND active = 1")
            .bind(request.patient.as_str())
            .bind(authed.org.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let is_patient = patient.is_some_and(|(role,)| role == "patient");
    let allowed = is_patient
        && crate::delivery::directory::may_converse(
            &mut tx,
            &authed,
            &request.patient,
            haven_protocol::Role::Patient,
        )
        .await?;
    if !allowed {
        return Err(Error::bad(
            ErrorCode::NotInCareTeam,
            StatusCode::FORBIDDEN,
            "You can start a conversation only about your own care or a patient of your care team.",
        ));
    }
    if request.care_team && authed.role != haven_protocol::Role::Clinician {
        return Err(Error::bad(
            ErrorCode::Forbidden,
            StatusCode::FORBIDDEN,
            "Only a clinician of the care team starts a care-team conversation.",
        ));
    }
    let at = now();
    // Counted inside the write transaction: two at once cannot both take the last one.
    let (started,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM conversations WHERE created_by = ? AND created_at > ?",
    )
    .bind(authed.user_id.as_str())
    .bind(at - 24 * 3600)
    .fetch_one(&mut *tx)
    .await?;
    if started >= state.guards().conversations_per_day {
        return Err(Error::bad(
            ErrorCode::TooManyRequests,
            StatusCode::TOO_MANY_REQUESTS,
            "You started as many conversations as one person may in a day; try again tomorrow.",
        ));
    }
    sqlx::query(
        "INSERT INTO conversations (id, org_id, patient_id, created_by, created_at, epoch, last_seq, care_team)
         VALUES (?, ?, ?, ?, ?, 0, 0, ?)",
    )
    .bind(id.as_str())
    .bind(authed.org.id.as_str())
    .bind(request.patient.as_str())
    .bind(authed.user_id.as_str())
    .bind(at)
    .bind(i64::from(request.care_team))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO conversation_devices (conversation_id, device_id, user_id, joined_seq, acked_seq)
         VALUES (?, ?, ?, 0, 0)",
    )
    .bind(id.as_str())
    .bind(request.device.as_str())
    .bind(authed.user_id.as_str())
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, AuditAction::ConversationCreated)
        .target(format!("conversation:{id}"))
        .patient(request.patient.as_str())
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    // Who the new conversation's first commit should add besides the people chosen: in
    // a care-team conversation, the care team's devices.
    // The conversation exists now: if this read fails, the list shows them later.
    let waiting = match waiting(&state, &authed, &request.device, Some(&id)).await {
        Ok(mut all) => all.remove(id.as_str()).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "listing the devices to add failed");
            Vec::new()
        }
    };
    Ok((
        StatusCode::OK,
        Json(ConversationSummary {
            id,
            patient: request.patient,
            created_by: authed.user_id.clone(),
            created_at: at,
            last_seq: 0,
            acked_seq: 0,
            left: false,
            care_team: request.care_team,
            waiting,
            visit: None,
            leaving: Vec::new(),
        }),
    ))
}

/// What the devices waiting to join the caller's conversations must satisfy (`d` the
/// device, `mine` the caller's membership, `c` the conversation).
macro_rules! waiting_where {
    ($only:literal) => {
        concat!("WHERE mine.device_id = ? ", $only, " AND mine.user_id = ? AND mine.left_seq IS NULL
           AND c.visit_id IS NULL
           AND (c.care_team = 1 OR EXISTS (
                SELECT 1 FROM conversation_devices member
                WHERE member.conversation_id = mine.conversation_id
                  AND member.user_id = d.user_id AND member.left_seq IS NULL))
           AND (? OR d.user_id = ?)
           AND NOT EXISTS (SELECT 1 FROM conversation_devices x
                           WHERE x.conversation_id = mine.conversation_id AND x.device_id = d.id)
           AND EXISTS (SELECT 1 FROM key_packages k WHERE k.device_id = d.id AND k.not_after > ?)")
    };
}

/// The patient's devices, then those of the care team's clinicians.
macro_rules! waiting {
    ($only:literal) => {
        concat!(
            "SELECT mine.conversation_id, d.id, d.user_id
             FROM conversation_devices mine
             JOIN conversations c ON c.id = mine.conversation_id
             JOIN mls_devices d ON d.user_id = c.patient_id AND d.revoked_at IS NULL
             JOIN users u ON u.id = d.user_id AND u.active = 1 ",
            waiting_where!($only),
            " UNION
             SELECT mine.conversation_id, d.id, d.user_id
             FROM conversation_devices mine
             JOIN conversations c ON c.id = mine.conversation_id
             JOIN care_team ct ON ct.org_id = c.org_id AND ct.patient_id = c.patient_id
             JOIN mls_devices d ON d.user_id = ct.clinician_id AND d.revoked_at IS NULL
             JOIN users u ON u.id = d.user_id AND u.active = 1 AND u.role = 'clinician' ",
            waiting_where!($only),
            " LIMIT 1000"
        )
    };
}

/// The devices admitted from the waiting rooms of the visits whose group the caller's
/// device is in, as their clinician, not yet added.
macro_rules! visit_waiting {
    ($only:literal) => {
        concat!(
            "SELECT mine.conversation_id, d.id, d.user_id
             FROM conversation_devices mine
             JOIN conversations c ON c.id = mine.conversation_id
             JOIN visits v ON v.id = c.visit_id AND v.conversation_id = c.id
             JOIN visit_participants vp ON vp.visit_id = v.id AND vp.state = 'admitted'
             JOIN mls_devices d ON d.id = vp.device_id AND d.revoked_at IS NULL
             JOIN users u ON u.id = d.user_id AND u.active = 1
             WHERE mine.device_id = ? ",
            $only,
            " AND mine.left_seq IS NULL AND v.clinician_id = mine.user_id AND mine.user_id = ?
               AND v.ended_at IS NULL AND v.cancelled_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM conversation_devices x
                               WHERE x.conversation_id = c.id AND x.device_id = d.id)
               AND EXISTS (SELECT 1 FROM key_packages k WHERE k.device_id = d.id AND k.not_after > ?)
             LIMIT 100"
        )
    };
}

/// Devices that belong in the caller's conversations (or in `only`) but are not in them
/// yet and have a KeyPackage to be added with: new devices of current members and, in a
/// care-team conversation, the devices of every clinician of the care team (one brought
/// in later). A clinician may add anyone's, others only their own. Their owners must
/// still be allowed in (the patient, or a clinician of the care team), as the writer
/// checks again when the Add arrives.
async fn waiting(
    state: &AppState,
    authed: &Authed,
    device: &Id,
    only: Option<&Id>,
) -> Result<HashMap<String, Vec<WaitingDevice>>> {
    let mut query = sqlx::query_as(match only {
        None => waiting!(""),
        Some(_) => waiting!("AND mine.conversation_id = ?"),
    });
    let role_may_add_others = authed.role == haven_protocol::Role::Clinician;
    for _ in 0..2 {
        query = query.bind(device.as_str());
        if let Some(conversation) = only {
            query = query.bind(conversation.as_str());
        }
        query = query
            .bind(authed.user_id.as_str())
            .bind(role_may_add_others)
            .bind(authed.user_id.as_str())
            .bind(now());
    }
    let mut rows: Vec<(String, String, String)> = query.fetch_all(state.db()).await?;
    // A visit's group takes the devices admitted from its waiting room, added by the
    // visit's clinician.
    if authed.role == haven_protocol::Role::Clinician {
        let mut visits = sqlx::query_as(match only {
            None => visit_waiting!(""),
            Some(_) => visit_waiting!("AND mine.conversation_id = ?"),
        })
        .bind(device.as_str());
        if let Some(conversation) = only {
            visits = visits.bind(conversation.as_str());
        }
        let found: Vec<(String, String, String)> = visits
            .bind(authed.user_id.as_str())
            .bind(now())
            .fetch_all(state.db())
            .await?;
        rows.extend(found);
    }
    let mut waiting_in: HashMap<String, Vec<WaitingDevice>> = HashMap::new();
    for (conversation, device, user) in rows {
        let (Ok(device), Ok(user)) = (Id::parse(&device), Id::parse(&user)) else {
            continue;
        };
        waiting_in
            .entry(conversation)
            .or_default()
            .push(WaitingDevice { device, user });
    }
    Ok(waiting_in)
}

/// For a visit's clinician: the devices still in the visit's group that are neither the
/// clinician's nor the one admitted (declined, gone, or replaced by another), per group.
async fn leaving(
    state: &AppState,
    authed: &Authed,
    device: &Id,
) -> Result<HashMap<String, Vec<Id>>> {
    if authed.role != haven_protocol::Role::Clinician {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT cd.conversation_id, cd.device_id
         FROM conversation_devices mine
         JOIN conversations c ON c.id = mine.conversation_id
         JOIN visits v ON v.id = c.visit_id AND v.clinician_id = mine.user_id
         JOIN conversation_devices cd ON cd.conversation_id = c.id AND cd.left_seq IS NULL
              AND cd.user_id <> v.clinician_id
         WHERE mine.device_id = ? AND mine.user_id = ? AND mine.left_seq IS NULL
           AND v.ended_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM visit_participants vp
                           WHERE vp.visit_id = v.id AND vp.device_id = cd.device_id
                             AND vp.state = 'admitted')
         LIMIT 100",
    )
    .bind(device.as_str())
    .bind(authed.user_id.as_str())
    .fetch_all(state.db())
    .await?;
    let mut out: HashMap<String, Vec<Id>> = HashMap::new();
    for (conversation, device) in rows {
        if let Ok(device) = Id::parse(&device) {
            out.entry(conversation).or_default().push(device);
        }
    }
    Ok(out)
}

type SummaryRow = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
    Option<String>,
);

/// `GET /api/mls/devices/{id}/conversations`: the device's conversations, newest
/// activity first. A list naming patients, so it is recorded as a read.
pub async fn list(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(device): Path<String>,
) -> Result<Json<Vec<ConversationSummary>>> {
    let device = Id::parse(&device).map_err(|_| Error::NotFound)?;
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT c.id, c.patient_id, c.created_by, c.created_at, c.last_seq, cd.acked_seq, cd.left_seq,
                c.care_team, c.visit_id
         FROM conversation_devices cd JOIN conversations c ON c.id = cd.conversation_id
         WHERE cd.device_id = ? AND cd.user_id = ? AND c.org_id = ?
         ORDER BY c.last_seq DESC, c.id LIMIT 1000",
    )
    .bind(device.as_str())
    .bind(authed.user_id.as_str())
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await?;
    let mut waiting_in = waiting(&state, &authed, &device, None).await?;
    let mut leaving_in = leaving(&state, &authed, &device).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, patient, created_by, created_at, last_seq, acked, left, care_team, visit) in rows {
        let waiting = waiting_in.remove(&id).unwrap_or_default();
        out.push(ConversationSummary {
            id: Id::parse(&id).map_err(Error::internal)?,
            patient: Id::parse(&patient).map_err(Error::internal)?,
            created_by: Id::parse(&created_by).map_err(Error::internal)?,
            created_at,
            last_seq: u64::try_from(left.map_or(last_seq, |l| l.min(last_seq))).unwrap_or(0),
            acked_seq: u64::try_from(acked).unwrap_or(0),
            left: left.is_some(),
            care_team: care_team != 0,
            waiting,
            visit: visit
                .map(|v| Id::parse(&v))
                .transpose()
                .map_err(Error::internal)?,
            leaving: leaving_in.remove(&id).unwrap_or_default(),
        });
    }
    crate::audit::record_list_read(&state, &authed, ip, "conversations", out.len()).await?;
    Ok(Json(out))
}

/// `POST /api/conversations/{id}/opened`: the person opened the conversation. Recorded
/// once per session and conversation within [`crate::audit::repeats::WINDOW_SECS`]:
/// opening it again in the meantime says nothing new, and a client calling in a loop
/// must not fill a log kept for six years.
pub async fn opened(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = Id::parse(&id).map_err(|_| Error::NotFound)?;
    // A read first: a repeat answers without taking the write lock. Only a member through
    // a device still in the conversation and not revoked: a revoked device's membership
    // row stays until a commit removes it, and opens nothing.
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT c.patient_id FROM conversations c
         WHERE c.id = ? AND c.org_id = ? AND EXISTS (
             SELECT 1 FROM conversation_devices cd JOIN mls_devices d ON d.id = cd.device_id
             WHERE cd.conversation_id = c.id AND cd.user_id = ? AND cd.left_seq IS NULL
               AND d.revoked_at IS NULL)",
    )
    .bind(id.as_str())
    .bind(authed.org.id.as_str())
    .bind(authed.user_id.as_str())
    .fetch_optional(state.db())
    .await?;
    // Not a member and no such conversation look the same.
    let (patient,) = row.ok_or(Error::NotFound)?;
    let target = format!("conversation:{id}");
    let key = Key::new(&authed.session_hash, format!("opened {target}"));
    let Some(taken) = state.repeats().first(key, now()) else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let event = Event::by(&authed, AuditAction::ConversationOpened)
        .target(target)
        .patient(patient)
        .from(Some(ip));
    if let Err(e) = record_one(&state, event).await {
        state.repeats().forget(taken);
        return Err(e);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Writes `event` in a transaction of its own (an entry that records a read, with no
/// change beside it).
async fn record_one(state: &AppState, event: Event) -> Result<()> {
    let mut tx = begin_write(state.db()).await?;
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}
