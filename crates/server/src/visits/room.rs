//! A visit's room (issue 23): the clinician's device opens the visit's end-to-end
//! encrypted group, a patient enters the waiting room with one device, the clinician
//! admits or declines them, anyone leaves, and the clinician ends the visit for all.
//!
//! Trust: admission here is only permission. Keys come when the clinician's device adds
//! the admitted device to the group with an MLS commit, which the Delivery Service's
//! writer takes only for a device admitted here (or one of the clinician's own): until
//! then a waiting patient holds no keys and receives nothing of the visit. Every change is
//! made in one write transaction with its audit entry, so two clinicians' tabs admitting
//! and declining at once cannot leave a state nobody recorded.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use haven_protocol::ErrorCode;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::Id;
use haven_protocol::visits::{
    MAX_PARTICIPANTS, ParticipantState, VisitDevice, VisitParticipant, VisitPerson, VisitRoom,
    VisitSummary,
};
use haven_protocol::ws::{ServerFrame, Topic};
use sqlx::SqliteConnection;

use crate::audit::Event;
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

use super::{joinable, person};

/// One visit as the room needs it.
pub(super) struct Row {
    id: Id,
    patient: Id,
    patient_name: String,
    clinician: Id,
    clinician_name: String,
    starts_at: i64,
    ends_at: i64,
    cancelled: bool,
    ended_at: Option<i64>,
    conversation: Option<Id>,
}

type RawRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// The visit `id` of the caller's organisation, if the caller is its clinician or its
/// patient; anyone else (another organisation's visit included) finds nothing.
pub(super) async fn load(conn: &mut SqliteConnection, authed: &Authed, id: &str) -> Result<Row> {
    let id = Id::parse(id).map_err(|_| Error::NotFound)?;
    let row: Option<RawRow> = sqlx::query_as(
        "SELECT v.patient_id, p.display_name, v.clinician_id, c.display_name, v.starts_at,
                v.ends_at, v.cancelled_at, v.ended_at, v.conversation_id
         FROM visits v JOIN users p ON p.id = v.patient_id JOIN users c ON c.id = v.clinician_id
         WHERE v.id = ? AND v.org_id = ?",
    )
    .bind(id.as_str())
    .bind(authed.org.id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((
        patient,
        patient_name,
        clinician,
        clinician_name,
        starts_at,
        ends_at,
        cancelled,
        ended_at,
        conversation,
    )) = row
    else {
        return Err(Error::NotFound);
    };
    let me = authed.user_id.as_str();
    if me != patient && me != clinician {
        return Err(Error::NotFound);
    }
    Ok(Row {
        id,
        patient: Id::parse(&patient).map_err(Error::internal)?,
        patient_name,
        clinician: Id::parse(&clinician).map_err(Error::internal)?,
        clinician_name,
        starts_at,
        ends_at,
        cancelled: cancelled.is_some(),
        ended_at,
        conversation: conversation
            .map(|c| Id::parse(&c))
            .transpose()
            .map_err(Error::internal)?,
    })
}

impl Row {
    /// Whether `authed` takes part now: the visit's clinician, or someone waiting in
    /// its room or admitted (not one declined or gone).
    pub(super) async fn takes_part(
        &self,
        conn: &mut SqliteConnection,
        authed: &Authed,
    ) -> Result<bool> {
        if self.is_clinician(authed) {
            return Ok(true);
        }
        Ok(matches!(
            participant(conn, &self.id, &authed.user_id).await?,
            Some((ParticipantState::Waiting | ParticipantState::Admitted, _))
        ))
    }

    pub(super) fn ends_at(&self) -> i64 {
        self.ends_at
    }

    fn is_clinician(&self, authed: &Authed) -> bool {
        self.clinician == authed.user_id
    }

    /// Refused unless the visit can be taken part in now: not cancelled, not ended, from
    /// ten minutes before its start to its end.
    pub(super) fn open_now(&self, at: i64) -> Result<()> {
        let closed = |message| {
            Err(Error::bad(
                ErrorCode::InvalidField,
                StatusCode::CONFLICT,
                message,
            ))
        };
        if self.cancelled {
            return closed("This visit was cancelled.");
        }
        if self.ended_at.is_some() {
            return closed("This visit has ended.");
        }
        if at < self.starts_at - haven_protocol::visits::JOIN_EARLY_SECS {
            return closed("This visit opens ten minutes before it starts.");
        }
        if at >= self.ends_at {
            return closed("This visit's time is over.");
        }
        Ok(())
    }

    fn clinician_only(&self, authed: &Authed, message: &'static str) -> Result<()> {
        if self.is_clinician(authed) {
            Ok(())
        } else {
            Err(Error::bad(
                ErrorCode::Forbidden,
                StatusCode::FORBIDDEN,
                message,
            ))
        }
    }
}

/// Where `user` stands in the visit, and the device they came with; `None` if they
/// never came.
async fn participant(
    conn: &mut SqliteConnection,
    visit: &Id,
    user: &Id,
) -> Result<Option<(ParticipantState, Id)>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT state, device_id FROM visit_participants WHERE visit_id = ? AND user_id = ?",
    )
    .bind(visit.as_str())
    .bind(user.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(state, device)| {
        Ok((
            ParticipantState::parse(&state).ok_or_else(|| Error::internal(state))?,
            Id::parse(&device).map_err(Error::internal)?,
        ))
    })
    .transpose()
}

/// The caller's device, not revoked.
async fn own_device(conn: &mut SqliteConnection, authed: &Authed, device: &Id) -> Result<()> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM mls_devices WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
    )
    .bind(device.as_str())
    .bind(authed.user_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    found.map(|_| ()).ok_or_else(|| {
        Error::conflict(
            ErrorCode::DeviceUnavailable,
            "This encryption device was removed or is not yours. Set up this browser again.",
        )
    })
}

type ParticipantRow = (String, String, String, String, i64);

/// The room as `authed` may see it.
async fn room(conn: &mut SqliteConnection, authed: &Authed, row: &Row) -> Result<VisitRoom> {
    let clinician = row.is_clinician(authed);
    let rows: Vec<ParticipantRow> = sqlx::query_as(
        "SELECT vp.user_id, u.display_name, vp.device_id, vp.state, vp.since
         FROM visit_participants vp JOIN users u ON u.id = vp.user_id
         WHERE vp.visit_id = ? AND (? OR vp.user_id = ?)
         ORDER BY vp.since, vp.user_id",
    )
    .bind(row.id.as_str())
    .bind(clinician)
    .bind(authed.user_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let participants = rows
        .into_iter()
        .map(|(user, name, device, state, since)| {
            Ok(VisitParticipant {
                person: person(&user, &name)?,
                device: Id::parse(&device).map_err(Error::internal)?,
                state: ParticipantState::parse(&state).ok_or_else(|| Error::internal(state))?,
                since,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let admitted = participants
        .iter()
        .any(|p| p.person.id == authed.user_id && p.state == ParticipantState::Admitted);
    Ok(VisitRoom {
        visit: VisitSummary {
            id: row.id.clone(),
            patient: person(row.patient.as_str(), &row.patient_name)?,
            clinician: person(row.clinician.as_str(), &row.clinician_name)?,
            starts_at: row.starts_at,
            minutes: u32::try_from((row.ends_at - row.starts_at) / 60).unwrap_or(0),
            joinable: joinable(row.starts_at, row.ends_at, now()) && row.ended_at.is_none(),
        },
        conversation: row.conversation.clone().filter(|_| clinician || admitted),
        ended_at: row.ended_at,
        participants,
    })
}

/// Tells `users`' open pages that the visit's room changed.
fn nudge(state: &AppState, authed: &Authed, users: &[&Id], topic: Topic) {
    state
        .live()
        .push(&authed.org.id, users, &[], &ServerFrame::Changed { topic });
}

async fn participants_of(conn: &mut SqliteConnection, visit: &Id) -> Result<Vec<Id>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT user_id FROM visit_participants WHERE visit_id = ?")
            .bind(visit.as_str())
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(u,)| Id::parse(&u).map_err(Error::internal))
        .collect()
}

/// `GET /api/visits/{id}`: the room, for its clinician and its patient.
pub async fn get(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<VisitRoom>> {
    let mut conn = state.db().acquire().await?;
    let row = load(&mut conn, &authed, &id).await?;
    Ok(Json(room(&mut conn, &authed, &row).await?))
}

/// `POST /api/visits/{id}/room`: the visit's clinician opens its group with this device
/// (a conversation of the visit kind, about the visit's patient). Opened again from a
/// device that is not in the group (a new browser), it starts a new group: whoever was
/// admitted waits again, to be added to the new one.
pub async fn open(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<VisitDevice>,
) -> Result<Json<VisitRoom>> {
    let at = now();
    let mut tx = begin_write(state.db()).await?;
    let mut row = load(&mut tx, &authed, &id).await?;
    row.clinician_only(
        &authed,
        "Only the visit's clinician opens it; others wait to be admitted.",
    )?;
    row.open_now(at)?;
    own_device(&mut tx, &authed, &request.device).await?;
    if let Some(conversation) = &row.conversation {
        let member: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM conversation_devices WHERE conversation_id = ? AND device_id = ? AND left_seq IS NULL",
        )
        .bind(conversation.as_str())
        .bind(request.device.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_some() {
            let room = room(&mut tx, &authed, &row).await?;
            return Ok(Json(room));
        }
    }
    // Bounded like any conversation started: a loop of new groups stops here.
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
    let conversation = crate::secrets::new_id()?;
    sqlx::query(
        "INSERT INTO conversations (id, org_id, patient_id, created_by, created_at, epoch, last_seq, care_team, visit_id)
         VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?)",
    )
    .bind(conversation.as_str())
    .bind(authed.org.id.as_str())
    .bind(row.patient.as_str())
    .bind(authed.user_id.as_str())
    .bind(at)
    .bind(row.id.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO conversation_devices (conversation_id, device_id, user_id, joined_seq, acked_seq)
         VALUES (?, ?, ?, 0, 0)",
    )
    .bind(conversation.as_str())
    .bind(request.device.as_str())
    .bind(authed.user_id.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE visits SET conversation_id = ? WHERE id = ?")
        .bind(conversation.as_str())
        .bind(row.id.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE visit_participants SET state = 'waiting', since = ? WHERE visit_id = ? AND state = 'admitted'",
    )
    .bind(at)
    .bind(row.id.as_str())
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, AuditAction::VisitCreated)
        .target(format!("visit:{}", row.id))
        .patient(row.patient.to_string())
        .detail(format!(
            "conversation {conversation}, device {}",
            request.device
        ))
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    row.conversation = Some(conversation);
    let room = room(&mut tx, &authed, &row).await?;
    let others = participants_of(&mut tx, &row.id).await?;
    tx.commit().await?;
    nudge(
        &state,
        &authed,
        &others.iter().collect::<Vec<_>>(),
        Topic::Visits,
    );
    Ok(Json(room))
}

/// `POST /api/visits/{id}/wait`: the visit's patient enters the waiting room with this
/// device (or moves there with another one). Declined is final for the visit.
pub async fn wait(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<VisitDevice>,
) -> Result<Json<VisitRoom>> {
    let at = now();
    let mut tx = begin_write(state.db()).await?;
    let row = load(&mut tx, &authed, &id).await?;
    if row.is_clinician(&authed) {
        return Err(Error::bad(
            ErrorCode::Forbidden,
            StatusCode::FORBIDDEN,
            "The visit's clinician opens the visit; the waiting room is for the patient.",
        ));
    }
    row.open_now(at)?;
    own_device(&mut tx, &authed, &request.device).await?;
    match participant(&mut tx, &row.id, &authed.user_id).await? {
        Some((ParticipantState::Declined, _)) => {
            return Err(Error::bad(
                ErrorCode::Forbidden,
                StatusCode::FORBIDDEN,
                "The clinician declined you for this visit. Contact your clinic to arrange another.",
            ));
        }
        Some((ParticipantState::Admitted | ParticipantState::Waiting, device))
            if device == request.device =>
        {
            let room = room(&mut tx, &authed, &row).await?;
            return Ok(Json(room));
        }
        _ => {}
    }
    sqlx::query(
        "INSERT INTO visit_participants (visit_id, user_id, device_id, state, since)
         VALUES (?, ?, ?, 'waiting', ?)
         ON CONFLICT (visit_id, user_id) DO UPDATE SET device_id = excluded.device_id,
             state = 'waiting', since = excluded.since",
    )
    .bind(row.id.as_str())
    .bind(authed.user_id.as_str())
    .bind(request.device.as_str())
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, AuditAction::VisitWaiting)
        .target(format!("visit:{}", row.id))
        .patient(row.patient.to_string())
        .detail(format!("device {}", request.device))
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    let room = room(&mut tx, &authed, &row).await?;
    tx.commit().await?;
    nudge(&state, &authed, &[&row.clinician], Topic::Visits);
    Ok(Json(room))
}

/// What the clinician does to someone who came.
#[derive(Clone, Copy)]
enum Decision {
    Admit,
    Decline,
}

/// `POST /api/visits/{id}/admit`: the clinician lets someone in the waiting room into the
/// visit; the clinician's device then adds the device they came with to the group.
pub async fn admit(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<VisitPerson>,
) -> Result<Json<VisitRoom>> {
    decide(state, ip, authed, id, request, Decision::Admit).await
}

/// `POST /api/visits/{id}/decline`: the clinician turns away someone waiting, or sends
/// out someone admitted (their device is then removed from the group by a commit).
pub async fn decline(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<VisitPerson>,
) -> Result<Json<VisitRoom>> {
    decide(state, ip, authed, id, request, Decision::Decline).await
}

async fn decide(
    state: AppState,
    ip: std::net::IpAddr,
    authed: Authed,
    id: String,
    request: VisitPerson,
    decision: Decision,
) -> Result<Json<VisitRoom>> {
    let at = now();
    let mut tx = begin_write(state.db()).await?;
    let row = load(&mut tx, &authed, &id).await?;
    row.clinician_only(&authed, "Only the visit's clinician admits or declines.")?;
    row.open_now(at)?;
    let Some((current, device)) = participant(&mut tx, &row.id, &request.user).await? else {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::CONFLICT,
            "That person has not come to this visit's waiting room.",
        ));
    };
    let (next, action) = match (decision, current) {
        (Decision::Admit, ParticipantState::Waiting) => {
            if row.conversation.is_none() {
                return Err(Error::bad(
                    ErrorCode::InvalidField,
                    StatusCode::CONFLICT,
                    "Open the visit before admitting anyone.",
                ));
            }
            let (admitted,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM visit_participants WHERE visit_id = ? AND state = 'admitted'",
            )
            .bind(row.id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            // The clinician is the first of the visit's people.
            if usize::try_from(admitted).unwrap_or(usize::MAX) + 1 >= MAX_PARTICIPANTS {
                return Err(Error::bad(
                    ErrorCode::InvalidField,
                    StatusCode::CONFLICT,
                    "A visit takes four people at most.",
                ));
            }
            (ParticipantState::Admitted, AuditAction::VisitAdmitted)
        }
        (Decision::Admit, ParticipantState::Admitted) => {
            return Err(Error::no_change("That person is already admitted."));
        }
        (Decision::Decline, ParticipantState::Waiting | ParticipantState::Admitted) => {
            (ParticipantState::Declined, AuditAction::VisitDeclined)
        }
        (Decision::Decline, ParticipantState::Declined) => {
            return Err(Error::no_change("That person is already declined."));
        }
        (_, ParticipantState::Left | ParticipantState::Declined) => {
            return Err(Error::bad(
                ErrorCode::InvalidField,
                StatusCode::CONFLICT,
                "That person is not in this visit's waiting room.",
            ));
        }
    };
    sqlx::query(
        "UPDATE visit_participants SET state = ?, since = ? WHERE visit_id = ? AND user_id = ?",
    )
    .bind(next.as_str())
    .bind(at)
    .bind(row.id.as_str())
    .bind(request.user.as_str())
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, action)
        .target(format!("visit:{}", row.id))
        .patient(row.patient.to_string())
        .detail(format!("user {}, device {device}", request.user))
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    let room = room(&mut tx, &authed, &row).await?;
    tx.commit().await?;
    nudge(&state, &authed, &[&request.user], Topic::Visits);
    // The clinician's devices: the admitted device is now theirs to add (or the sent-out
    // one to remove).
    nudge(&state, &authed, &[&row.clinician], Topic::Conversations);
    Ok(Json(room))
}

/// `POST /api/visits/{id}/leave`: someone who came leaves (they may wait again later);
/// the clinician leaving is recorded and changes nothing else.
pub async fn leave(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let at = now();
    let mut tx = begin_write(state.db()).await?;
    let row = load(&mut tx, &authed, &id).await?;
    if !row.is_clinician(&authed) {
        let changed = sqlx::query(
            "UPDATE visit_participants SET state = 'left', since = ?
             WHERE visit_id = ? AND user_id = ? AND state IN ('waiting', 'admitted')",
        )
        .bind(at)
        .bind(row.id.as_str())
        .bind(authed.user_id.as_str())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(Error::no_change("You are not in this visit."));
        }
    }
    let event = Event::by(&authed, AuditAction::VisitLeft)
        .target(format!("visit:{}", row.id))
        .patient(row.patient.to_string())
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    nudge(&state, &authed, &[&row.clinician], Topic::Visits);
    nudge(&state, &authed, &[&row.clinician], Topic::Conversations);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/visits/{id}/end`: the clinician ends the visit for everyone; its group
/// takes nothing more.
pub async fn end(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let at = now();
    let mut tx = begin_write(state.db()).await?;
    let row = load(&mut tx, &authed, &id).await?;
    row.clinician_only(&authed, "Only the visit's clinician ends it for everyone.")?;
    if row.ended_at.is_some() {
        return Err(Error::no_change("This visit has already ended."));
    }
    if row.cancelled {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::CONFLICT,
            "This visit was cancelled.",
        ));
    }
    sqlx::query("UPDATE visits SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
        .bind(at)
        .bind(row.id.as_str())
        .execute(&mut *tx)
        .await?;
    let event = Event::by(&authed, AuditAction::VisitEnded)
        .target(format!("visit:{}", row.id))
        .patient(row.patient.to_string())
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    let mut told = participants_of(&mut tx, &row.id).await?;
    tx.commit().await?;
    told.push(row.clinician.clone());
    nudge(
        &state,
        &authed,
        &told.iter().collect::<Vec<_>>(),
        Topic::Visits,
    );
    Ok(StatusCode::NO_CONTENT)
}
