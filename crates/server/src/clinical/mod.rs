//! What clinicians, staff and patients see of each other: care teams, patient records
//! (clinicians, only for their own patients unless they break the glass), contact cards
//! (staff: no clinical content), and a patient's own view of who opened their record.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::{
    AccessBasis, ActivityEntry, BreakGlassGrant, BreakGlassRequest, ContactCard, DisplayName,
    Email, Id, JoinCareTeam, PatientRecord, PersonSummary, Reason,
};
use haven_protocol::ws::{ServerFrame, Topic};

use crate::audit::Event;
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::secrets::new_id;
use crate::state::AppState;

/// How long emergency access lasts.
pub const BREAK_GLASS_SECS: i64 = 60 * 60;

fn person(id: String, name: String) -> Result<PersonSummary> {
    Ok(PersonSummary {
        id: Id::parse(&id)?,
        display_name: DisplayName::parse(&name)?,
    })
}

/// The other side of the caller's care-team links (`sql` picks which side), active only.
async fn team(state: &AppState, authed: &Authed, sql: &'static str) -> Result<Vec<PersonSummary>> {
    let rows: Vec<(String, String)> = sqlx::query_as(sql)
        .bind(authed.user_id.as_str())
        .bind(authed.org.id.as_str())
        .fetch_all(state.db())
        .await?;
    rows.into_iter()
        .map(|(id, name)| person(id, name))
        .collect::<Result<_>>()
}

/// `GET /api/patients`: the clinician's care team patients (recorded as a read).
pub async fn my_patients(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Vec<PersonSummary>>> {
    let patients = team(
        &state,
        &authed,
        "SELECT u.id, u.display_name FROM care_team c JOIN users u ON u.id = c.patient_id
         WHERE c.clinician_id = ? AND c.org_id = ? AND u.active = 1 ORDER BY u.display_name",
    )
    .await?;
    crate::audit::record_list_read(&state, &authed, ip, "care-team patients", patients.len())
        .await?;
    Ok(Json(patients))
}

/// A patient of the caller's organisation, or 404.
async fn patient(state: &AppState, authed: &Authed, id: &str) -> Result<(Id, DisplayName, Email)> {
    let id = Id::parse(id).map_err(|_| Error::NotFound)?;
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT display_name, email FROM users WHERE id = ? AND org_id = ? AND role = 'patient'",
    )
    .bind(id.as_str())
    .bind(authed.org.id.as_str())
    .fetch_optional(state.db())
    .await?;
    let (name, email) = row.ok_or(Error::NotFound)?;
    Ok((id, DisplayName::parse(&name)?, Email::parse(&email)?))
}

/// `GET /api/patients/{id}`
pub async fn record(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<PatientRecord>> {
    let (id, display_name, email) = patient(&state, &authed, &id).await?;
    let in_team: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM care_team WHERE clinician_id = ? AND patient_id = ?")
            .bind(authed.user_id.as_str())
            .bind(id.as_str())
            .fetch_optional(state.db())
            .await?;
    let access = if in_team.is_some() {
        AccessBasis::CareTeam
    } else {
        let grant: Option<(String, i64)> = sqlx::query_as(
            "SELECT id, expires_at FROM break_glass WHERE clinician_id = ? AND patient_id = ? AND expires_at > ?
             ORDER BY expires_at DESC LIMIT 1",
        )
        .bind(authed.user_id.as_str())
        .bind(id.as_str())
        .bind(now())
        .fetch_optional(state.db())
        .await?;
        match grant {
            Some((grant, expires_at)) => AccessBasis::BreakGlass {
                expires_at,
                grant: Id::parse(&grant)?,
            },
            None => {
                return Err(Error::bad(
                    ErrorCode::NotInCareTeam,
                    StatusCode::FORBIDDEN,
                    "This patient is not in your care team. Use emergency access only if you must.",
                ));
            }
        }
    };
    // Opening a record is itself recorded; without the entry, no data leaves.
    let basis = match &access {
        AccessBasis::CareTeam => "care team",
        AccessBasis::BreakGlass { .. } => "emergency access",
    };
    let event = Event::by(&authed, AuditAction::RecordOpened)
        .target(format!("patient:{id}"))
        .patient(id.to_string())
        .detail(basis);
    crate::audit::record_alone(state.db(), event).await?;
    let team: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.display_name FROM care_team c JOIN users u ON u.id = c.clinician_id
         WHERE c.patient_id = ? ORDER BY u.display_name",
    )
    .bind(id.as_str())
    .fetch_all(state.db())
    .await?;
    Ok(Json(PatientRecord {
        id,
        display_name,
        email,
        care_team: team
            .into_iter()
            .map(|(i, n)| person(i, n))
            .collect::<Result<_>>()?,
        access,
    }))
}

/// `POST /api/patients/{id}/break-glass`: time-boxed, reasoned, and shown to the patient
/// and the organisation's admins.
pub async fn break_glass(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<BreakGlassRequest>,
) -> Result<Json<BreakGlassGrant>> {
    let (patient_id, patient_name, _) = patient(&state, &authed, &id).await?;
    let grant_id = new_id()?;
    let granted_at = now();
    let expires_at = granted_at + BREAK_GLASS_SECS;
    let mut tx = crate::store::begin_write(state.db()).await?;
    sqlx::query(
        "INSERT INTO break_glass (id, org_id, clinician_id, patient_id, reason, granted_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(grant_id.as_str())
    .bind(authed.org.id.as_str())
    .bind(authed.user_id.as_str())
    .bind(patient_id.as_str())
    .bind(request.reason.as_str())
    .bind(granted_at)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, AuditAction::BreakGlassGranted)
        .target(format!("grant:{grant_id}"))
        .patient(patient_id.to_string());
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    tracing::warn!(org = %authed.org.id, grant = %grant_id, "emergency access granted");
    announce(&state, &authed, &patient_id);
    Ok(Json(BreakGlassGrant {
        id: grant_id,
        clinician: authed.display_name.clone(),
        patient_id,
        patient: patient_name,
        reason: request.reason,
        granted_at,
        expires_at,
    }))
}

/// `GET /api/clinicians`: the organisation's active clinicians (names only), to bring one
/// into a care team.
pub async fn clinicians(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Vec<PersonSummary>>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, display_name FROM users
         WHERE org_id = ? AND role = 'clinician' AND active = 1
         ORDER BY display_name LIMIT 1000",
    )
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await?;
    rows.into_iter()
        .map(|(id, name)| person(id, name))
        .collect::<Result<Vec<_>>>()
        .map(Json)
}

/// `POST /api/patients/{id}/care-team`: a clinician of the patient's care team brings in
/// another active clinician of the organisation, while the patient's account is active.
/// Recorded; the people in the patient's care-team conversations are told, so a device
/// of theirs adds the newcomer's devices and hands over the history.
pub async fn join_care_team(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<JoinCareTeam>,
) -> Result<Json<Vec<PersonSummary>>> {
    let (patient_id, _, _) = patient(&state, &authed, &id).await?;
    let mut tx = crate::store::begin_write(state.db()).await?;
    let caller_in: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM care_team WHERE org_id = ? AND clinician_id = ? AND patient_id = ?",
    )
    .bind(authed.org.id.as_str())
    .bind(authed.user_id.as_str())
    .bind(patient_id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if caller_in.is_none() {
        return Err(Error::bad(
            ErrorCode::NotInCareTeam,
            StatusCode::FORBIDDEN,
            "Only a clinician of this patient's care team can bring someone into it.",
        ));
    }
    // A deactivated patient's team stays as it was (their record is still read), but
    // no one new joins it: joining gives access to their record and conversations.
    // Read in the write transaction, so a deactivation cannot slip in between.
    let patient_active: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM users WHERE id = ? AND org_id = ? AND active = 1")
            .bind(patient_id.as_str())
            .bind(authed.org.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    if patient_active.is_none() {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            "This patient's account is deactivated: no one can be brought into their care team.",
        ));
    }
    let clinician: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM users WHERE id = ? AND org_id = ? AND role = 'clinician' AND active = 1",
    )
    .bind(request.clinician.as_str())
    .bind(authed.org.id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if clinician.is_none() {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            "That is not an active clinician of your organisation.",
        ));
    }
    let inserted = sqlx::query(
        "INSERT INTO care_team (org_id, clinician_id, patient_id, joined_at, added_by)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(authed.org.id.as_str())
    .bind(request.clinician.as_str())
    .bind(patient_id.as_str())
    .bind(now())
    .bind(authed.user_id.as_str())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Error::no_change(
            "That clinician is already in this patient's care team.",
        ));
    }
    let event = Event::by(&authed, AuditAction::CareTeamJoined)
        .target(format!("patient:{patient_id}"))
        .patient(patient_id.to_string())
        .detail(format!("clinician {}", request.clinician))
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    // The patient and the colleague see it at once.
    state.live().push(
        &authed.org.id,
        &[&patient_id, &request.clinician],
        &[],
        &ServerFrame::Changed {
            topic: Topic::CareTeam,
        },
    );
    // The join is done; telling the members is a nudge their next look repeats.
    if let Err(e) =
        crate::delivery::directory::announce_care_team(&state, &authed.org.id, &request.clinician)
            .await
    {
        tracing::warn!(error = %e, "telling the care team's conversations failed");
    }
    let team: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.display_name FROM care_team c JOIN users u ON u.id = c.clinician_id
         WHERE c.patient_id = ? AND c.org_id = ? AND u.active = 1
         ORDER BY u.display_name LIMIT 1000",
    )
    .bind(patient_id.as_str())
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await?;
    team.into_iter()
        .map(|(id, name)| person(id, name))
        .collect::<Result<Vec<_>>>()
        .map(Json)
}

/// An emergency access with the names of both people, as the lists read it.
#[derive(sqlx::FromRow)]
struct GrantRow {
    id: String,
    clinician: String,
    patient_id: String,
    patient: String,
    reason: String,
    granted_at: i64,
    expires_at: i64,
}

fn grant(row: GrantRow) -> Result<BreakGlassGrant> {
    Ok(BreakGlassGrant {
        id: Id::parse(&row.id)?,
        clinician: DisplayName::parse(&row.clinician)?,
        patient_id: Id::parse(&row.patient_id)?,
        patient: DisplayName::parse(&row.patient)?,
        reason: Reason::parse(&row.reason)?,
        granted_at: row.granted_at,
        expires_at: row.expires_at,
    })
}

macro_rules! grants_where {
    ($condition:literal) => {
        concat!(
            "SELECT b.id, c.display_name AS clinician, b.patient_id, p.display_name AS patient, b.reason, b.granted_at, b.expires_at
             FROM break_glass b JOIN users c ON c.id = b.clinician_id JOIN users p ON p.id = b.patient_id WHERE ",
            $condition,
            " ORDER BY b.granted_at DESC"
        )
    };
}

/// `GET /api/break-glass`: every emergency access in the organisation, newest first.
pub async fn all_grants(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Vec<BreakGlassGrant>>> {
    let rows: Vec<GrantRow> = sqlx::query_as(grants_where!("b.org_id = ?"))
        .bind(authed.org.id.as_str())
        .fetch_all(state.db())
        .await?;
    let grants = rows.into_iter().map(grant).collect::<Result<Vec<_>>>()?;
    crate::audit::record_list_read(&state, &authed, ip, "emergency access", grants.len()).await?;
    Ok(Json(grants))
}

/// Tells the patient, the clinician and the organisation's admins, on their open
/// sockets, that emergency access to the patient changed (a nudge, no content).
fn announce(state: &AppState, authed: &Authed, patient: &Id) {
    let frame = ServerFrame::Changed {
        topic: Topic::BreakGlass,
    };
    state.live().push(
        &authed.org.id,
        &[patient, &authed.user_id],
        &[Role::Admin],
        &frame,
    );
}

/// `POST /api/break-glass/{id}/end`: the clinician who holds emergency access ends it
/// early.
pub async fn end_break_glass(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = Id::parse(&id).map_err(|_| Error::NotFound)?;
    let now = now();
    let mut tx = crate::store::begin_write(state.db()).await?;
    let found: Option<(String, i64)> = sqlx::query_as(
        "SELECT patient_id, expires_at FROM break_glass WHERE id = ? AND org_id = ? AND clinician_id = ?",
    )
    .bind(id.as_str())
    .bind(authed.org.id.as_str())
    .bind(authed.user_id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let (patient, expires_at) = found.ok_or(Error::NotFound)?;
    if expires_at <= now {
        return Err(Error::no_change("This emergency access has already ended."));
    }
    sqlx::query(
        "UPDATE break_glass SET expires_at = ?, ended_early = 1, end_audited = 1 WHERE id = ? AND expires_at > ?",
    )
    .bind(now)
    .bind(id.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, AuditAction::BreakGlassEnded)
        .target(format!("grant:{id}"))
        .patient(patient.clone())
        .detail("ended early by the clinician")
        .from(Some(ip));
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    announce(&state, &authed, &Id::parse(&patient)?);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/my-activity`: who opened my record through emergency access, and who was
/// brought into my care team (and by whom), newest first.
pub async fn my_activity(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Vec<ActivityEntry>>> {
    let rows: Vec<GrantRow> = sqlx::query_as(grants_where!("b.patient_id = ? AND b.org_id = ?"))
        .bind(authed.user_id.as_str())
        .bind(authed.org.id.as_str())
        .fetch_all(state.db())
        .await?;
    let mut entries = rows
        .into_iter()
        .map(|row| {
            let g = grant(row)?;
            Ok(ActivityEntry {
                at: g.granted_at,
                what: "Emergency access to your record".to_owned(),
                who: g.clinician,
                reason: Some(g.reason),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let joined: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT ct.joined_at, c.display_name, b.display_name FROM care_team ct
         JOIN users c ON c.id = ct.clinician_id JOIN users b ON b.id = ct.added_by
         WHERE ct.patient_id = ? AND ct.org_id = ? AND ct.joined_at IS NOT NULL
         ORDER BY ct.joined_at DESC LIMIT 1000",
    )
    .bind(authed.user_id.as_str())
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await?;
    for (at, clinician, by) in joined {
        entries.push(ActivityEntry {
            at,
            what: format!("Joined your care team (brought in by {by})"),
            who: DisplayName::parse(&clinician)?,
            reason: None,
        });
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    Ok(Json(entries))
}

/// `GET /api/care-team`: the patient's clinicians.
pub async fn care_team(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Vec<PersonSummary>>> {
    team(
        &state,
        &authed,
        "SELECT u.id, u.display_name FROM care_team c JOIN users u ON u.id = c.clinician_id
         WHERE c.patient_id = ? AND c.org_id = ? AND u.active = 1 ORDER BY u.display_name",
    )
    .await
    .map(Json)
}

/// `GET /api/patient-contacts`: staff see names and addresses, nothing clinical.
pub async fn contacts(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Vec<ContactCard>>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, display_name, email FROM users WHERE org_id = ? AND role = 'patient' AND active = 1 ORDER BY display_name",
    )
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await?;
    let cards = rows
        .into_iter()
        .map(|(id, name, email)| {
            Ok(ContactCard {
                id: Id::parse(&id)?,
                display_name: DisplayName::parse(&name)?,
                email: Email::parse(&email)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    crate::audit::record_list_read(&state, &authed, ip, "patient contacts", cards.len()).await?;
    Ok(Json(cards))
}
