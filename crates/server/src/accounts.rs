//! Signing in (password, then a TOTP code or its enrolment), signing out, invitations,
//! and the administration of users and the organisation's settings. Every change here
//! and its audit entry commit in one transaction.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditActor;
use haven_protocol::identity::{
    AcceptInvitation, ChangeRoleRequest, DisplayName, Email, Id, InviteRequest, InviteResponse,
    LoginRequest, LogoutRequest, LogoutWhy, OrgSettings, SignInResponse, SignInStep, TotpEnrolment,
    TotpRequest, UserSummary,
};

use crate::api::parse_json;
use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::headers::request_origin;
use crate::org::Org;
use crate::secrets;
use crate::session::{self, Authed, Stage};
use crate::state::AppState;
use crate::store::begin_write;

/// How long an invitation link stays valid.
pub const INVITATION_LIFETIME_SECS: i64 = 72 * 60 * 60;

fn invalid_credentials() -> Error {
    Error::bad(
        ErrorCode::InvalidCredentials,
        StatusCode::UNAUTHORIZED,
        "The email address or password is not correct.",
    )
}

fn too_many_attempts() -> Error {
    Error::bad(
        ErrorCode::TooManyAttempts,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed attempts. Wait 15 minutes and try again.",
    )
}

fn invalid_code() -> Error {
    Error::bad(
        ErrorCode::InvalidCode,
        StatusCode::UNAUTHORIZED,
        "That code is not valid. Wait for the next code from your authenticator app and try again.",
    )
}

fn email_taken_error() -> Error {
    Error::conflict(
        ErrorCode::EmailTaken,
        "Someone in this organisation already uses that email address.",
    )
}

/// An invitation's name in the audit log: a prefix of its token's hash (the token itself
/// is a secret).
fn invitation_ref(hash: &[u8]) -> String {
    format!(
        "invitation:{}",
        haven_audit_log::hex(&hash[..8.min(hash.len())])
    )
}

/// What to send after a password was accepted (by sign-in or by an invitation).
async fn after_password(
    state: &AppState,
    org: &Org,
    user_id: &Id,
    role: Role,
    has_totp: bool,
    email: &str,
    source: Option<IpAddr>,
) -> Result<SignInResponse> {
    if has_totp {
        let (token, _) = session::open(state, user_id, role, org, Stage::Totp, source).await?;
        return Ok(SignInResponse {
            token,
            step: SignInStep::TotpRequired,
        });
    }
    if role.requires_totp() {
        let enrolment = start_enrolment(state, user_id, &org.name, email).await?;
        let (token, _) = session::open(state, user_id, role, org, Stage::Enrol, source).await?;
        return Ok(SignInResponse {
            token,
            step: SignInStep::TotpEnrolmentRequired {
                secret: enrolment.secret,
                otpauth_uri: enrolment.otpauth_uri,
            },
        });
    }
    signed_in(state, user_id, role, org, source).await
}

async fn signed_in(
    state: &AppState,
    user_id: &Id,
    role: Role,
    org: &Org,
    source: Option<IpAddr>,
) -> Result<SignInResponse> {
    let (token, _) = session::open(state, user_id, role, org, Stage::Full, source).await?;
    let authed = session::authenticate(state, &token, org).await?;
    Ok(SignInResponse {
        token,
        step: SignInStep::SignedIn {
            session: authed.info(),
        },
    })
}

async fn start_enrolment(
    state: &AppState,
    user_id: &Id,
    issuer: &str,
    email: &str,
) -> Result<TotpEnrolment> {
    let secret = secrets::new_totp_secret().map_err(Error::internal)?;
    sqlx::query("UPDATE users SET totp_pending = ? WHERE id = ?")
        .bind(&secret)
        .bind(user_id.as_str())
        .execute(state.db())
        .await
        .map_err(Error::internal)?;
    Ok(TotpEnrolment {
        secret: secrets::totp_base32(&secret),
        otpauth_uri: secrets::otpauth_uri(&secret, issuer, email),
    })
}

/// `POST /api/auth/login`
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<SignInResponse>> {
    let request: LoginRequest = parse_json(body)?;
    let org = crate::org::for_request(&state, &headers).await?;
    let account = format!("{}:{}", org.id, request.email.as_str());
    let now = now();
    let refused = |target: Option<String>, detail: &'static str| {
        let mut event = Event::new(&org.id, "sign_in_failed")
            .failed()
            .from(Some(peer.ip()))
            .detail(detail);
        event.target = target;
        event
    };
    if !state.limiter().allows(&account, peer.ip(), now) {
        audit::record_alone(state.db(), refused(None, "rate limited")).await?;
        return Err(too_many_attempts());
    }
    let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, password_hash, role, active, totp_secret IS NOT NULL FROM users WHERE org_id = ? AND email = ?",
    )
    .bind(org.id.as_str())
    .bind(request.email.as_str())
    .fetch_optional(state.db())
    .await
    .map_err(Error::internal)?;
    // The same work and the same answer whether or not the account exists.
    let stored = row
        .as_ref()
        .map_or(secrets::dummy_hash(), |r| r.1.as_str())
        .to_owned();
    let password_ok = secrets::verify_password(&request.password, &stored).await;
    let known = row.as_ref().map(|r| format!("user:{}", r.0));
    let Some((user_id, _, role, _, has_totp)) = row.filter(|r| password_ok && r.3 == 1) else {
        state.limiter().failed(&account, peer.ip(), now);
        audit::record_alone(
            state.db(),
            refused(known, "wrong password, unknown or inactive account"),
        )
        .await?;
        return Err(invalid_credentials());
    };
    state.limiter().succeeded(&account);
    let user_id = Id::parse(&user_id).map_err(Error::internal)?;
    let role = Role::from_str(&role).map_err(Error::internal)?;
    let step = after_password(
        &state,
        &org,
        &user_id,
        role,
        has_totp == 1,
        request.email.as_str(),
        Some(peer.ip()),
    )
    .await?;
    Ok(Json(step))
}

/// `POST /api/auth/totp`: the code that finishes a sign-in. The half-signed-in token is
/// ended and a new one issued, so the first token never becomes a full session.
pub async fn totp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(authed): Extension<Authed>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<SignInResponse>> {
    let request: TotpRequest = parse_json(body)?;
    if authed.stage != Stage::Totp {
        return Err(Error::forbidden());
    }
    let (secret, last_step): (Option<Vec<u8>>, i64) =
        sqlx::query_as("SELECT totp_secret, totp_last_step FROM users WHERE id = ?")
            .bind(authed.user_id.as_str())
            .fetch_one(state.db())
            .await
            .map_err(Error::internal)?;
    let secret = secret.ok_or_else(Error::forbidden)?;
    check_code(&state, &authed, peer.ip(), &secret, &request, last_step).await?;
    session::end(&state, &authed.session_hash, "second_factor_done").await?;
    Ok(Json(
        signed_in(
            &state,
            &authed.user_id,
            authed.role,
            &authed.org,
            Some(peer.ip()),
        )
        .await?,
    ))
}

/// Accepts `code` once for `secret`, within the rate limit; a failure is audited.
async fn check_code(
    state: &AppState,
    authed: &Authed,
    ip: IpAddr,
    secret: &[u8],
    code: &TotpRequest,
    last_step: i64,
) -> Result<()> {
    let account = format!("totp:{}", authed.user_id);
    let now = now();
    let failed = || {
        Event::by(authed, "second_factor_failed")
            .failed()
            .from(Some(ip))
    };
    if !state.limiter().allows(&account, ip, now) {
        audit::record_alone(state.db(), failed().detail("rate limited")).await?;
        return Err(too_many_attempts());
    }
    if !accept_code(state, &authed.user_id, secret, code, last_step, now).await? {
        state.limiter().failed(&account, ip, now);
        audit::record_alone(state.db(), failed()).await?;
        return Err(invalid_code());
    }
    state.limiter().succeeded(&account);
    Ok(())
}

/// Records `code`'s time step as used if it is valid and newer than any used before;
/// the conditional update makes a replay lose even when two requests race.
async fn accept_code(
    state: &AppState,
    user_id: &Id,
    secret: &[u8],
    code: &TotpRequest,
    last_step: i64,
    now: i64,
) -> Result<bool> {
    let last = u64::try_from(last_step).unwrap_or(0);
    let Some(step) = secrets::check_totp(secret, &code.code, u64::try_from(now).unwrap_or(0), last)
    else {
        return Ok(false);
    };
    let step = i64::try_from(step).map_err(Error::internal)?;
    let done =
        sqlx::query("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?")
            .bind(step)
            .bind(user_id.as_str())
            .bind(step)
            .execute(state.db())
            .await
            .map_err(Error::internal)?;
    Ok(done.rows_affected() == 1)
}

/// `POST /api/auth/totp/enrol`: a signed-in user (a patient, who may) sets up a code.
pub async fn enrol(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
) -> Result<Json<TotpEnrolment>> {
    Ok(Json(
        start_enrolment(&state, &authed.user_id, &authed.org.name, &authed.email).await?,
    ))
}

/// `POST /api/auth/totp/confirm`: the first code from a newly set-up authenticator.
pub async fn confirm(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(authed): Extension<Authed>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<SignInResponse>> {
    let request: TotpRequest = parse_json(body)?;
    if authed.stage == Stage::Totp {
        return Err(Error::forbidden());
    }
    let (pending, last_step): (Option<Vec<u8>>, i64) =
        sqlx::query_as("SELECT totp_pending, totp_last_step FROM users WHERE id = ?")
            .bind(authed.user_id.as_str())
            .fetch_one(state.db())
            .await
            .map_err(Error::internal)?;
    let pending = pending.ok_or_else(invalid_code)?;
    check_code(&state, &authed, peer.ip(), &pending, &request, last_step).await?;
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("UPDATE users SET totp_secret = totp_pending, totp_pending = NULL WHERE id = ?")
        .bind(authed.user_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    audit::record(
        &mut tx,
        Event::by(&authed, "second_factor_enrolled").from(Some(peer.ip())),
    )
    .await?;
    tx.commit().await.map_err(Error::internal)?;
    // A new token either way: the enrolment token never becomes a full session.
    session::end(&state, &authed.session_hash, "second_factor_done").await?;
    Ok(Json(
        signed_in(
            &state,
            &authed.user_id,
            authed.role,
            &authed.org,
            Some(peer.ip()),
        )
        .await?,
    ))
}

/// `POST /api/auth/logout`, optionally `{"reason": "inactivity"}` from the app's
/// automatic logoff.
pub async fn logout(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let why = match &body {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => LogoutWhy::User,
        _ => parse_json::<LogoutRequest>(body)?.reason,
    };
    let reason = match why {
        LogoutWhy::User => "signed_out",
        LogoutWhy::Inactivity => "auto_logoff",
    };
    session::end(&state, &authed.session_hash, reason).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/session`
pub async fn current(
    Extension(authed): Extension<Authed>,
) -> Json<haven_protocol::identity::SessionInfo> {
    Json(authed.info())
}

/// `POST /api/invitations`: admins invite staff, clinicians invite patients.
pub async fn invite(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<InviteResponse>> {
    let request: InviteRequest = parse_json(body)?;
    let permitted = match authed.role {
        Role::Admin => request.role != Role::Patient,
        Role::Clinician => request.role == Role::Patient,
        _ => false,
    };
    if !permitted {
        return Err(Error::forbidden());
    }
    let origin = request_origin(&state, &headers)?;
    let token = secrets::new_token().map_err(Error::internal)?;
    let hash = secrets::token_hash(&token);
    let now = now();
    let expires_at = now + INVITATION_LIFETIME_SECS;
    let mut tx = begin_write(state.db()).await?;
    if email_taken(&mut tx, &authed.org.id, &request.email).await? {
        return Err(email_taken_error());
    }
    sqlx::query(
        "INSERT INTO invitations (token_hash, org_id, role, email, display_name, invited_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&hash)
    .bind(authed.org.id.as_str())
    .bind(request.role.as_str())
    .bind(request.email.as_str())
    .bind(request.display_name.as_str())
    .bind(authed.user_id.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await
    .map_err(Error::internal)?;
    let event = Event::by(&authed, "invitation_created")
        .target(invitation_ref(&hash))
        .detail(request.role.as_str());
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(Json(InviteResponse {
        link: format!("{}/join#{token}", origin.origin()),
        expires_at,
    }))
}

async fn email_taken(conn: &mut sqlx::SqliteConnection, org: &Id, email: &Email) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE org_id = ? AND email = ?")
        .bind(org.as_str())
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(Error::internal)?;
    Ok(row.is_some())
}

fn invitation_used() -> Error {
    Error::bad(
        ErrorCode::InvitationUsed,
        StatusCode::GONE,
        "This invitation has already been used. Sign in instead.",
    )
}

/// `POST /api/invitations/accept`: a one-time link sets up the account.
pub async fn accept(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<SignInResponse>> {
    let request: AcceptInvitation = parse_json(body)?;
    let invalid = || {
        Error::bad(
            ErrorCode::InvitationInvalid,
            StatusCode::NOT_FOUND,
            "This invitation link is not valid.",
        )
    };
    let token = secrets::parse_token(&request.token).ok_or_else(invalid)?;
    let org = crate::org::for_request(&state, &headers).await?;
    let hash = secrets::token_hash(token);
    let row: Option<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT role, email, display_name, invited_by, expires_at, used_at FROM invitations WHERE token_hash = ? AND org_id = ?",
    )
    .bind(&hash)
    .bind(org.id.as_str())
    .fetch_optional(state.db())
    .await
    .map_err(Error::internal)?;
    let (role, email, display_name, invited_by, expires_at, used_at) = row.ok_or_else(invalid)?;
    if used_at.is_some() {
        return Err(invitation_used());
    }
    let now = now();
    if now >= expires_at {
        return Err(Error::bad(
            ErrorCode::InvitationExpired,
            StatusCode::GONE,
            "This invitation has expired. Ask for a new one.",
        ));
    }
    let role = Role::from_str(&role).map_err(Error::internal)?;
    let email = Email::parse(&email).map_err(Error::internal)?;
    let display_name = DisplayName::parse(&display_name).map_err(Error::internal)?;
    let password_hash = secrets::hash_password(&request.password)
        .await
        .map_err(Error::internal)?;
    let user_id = secrets::new_id().map_err(Error::internal)?;

    let mut tx = begin_write(state.db()).await?;
    let claimed =
        sqlx::query("UPDATE invitations SET used_at = ? WHERE token_hash = ? AND used_at IS NULL")
            .bind(now)
            .bind(&hash)
            .execute(&mut *tx)
            .await
            .map_err(Error::internal)?;
    if claimed.rows_affected() != 1 {
        return Err(invitation_used());
    }
    if email_taken(&mut tx, &org.id, &email).await? {
        return Err(email_taken_error());
    }
    sqlx::query(
        "INSERT INTO users (id, org_id, email, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(user_id.as_str())
    .bind(org.id.as_str())
    .bind(email.as_str())
    .bind(display_name.as_str())
    .bind(role.as_str())
    .bind(&password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(Error::internal)?;
    if role == Role::Patient {
        // A clinician's invitation puts the patient in their care team.
        sqlx::query(
            "INSERT INTO care_team (org_id, clinician_id, patient_id)
             SELECT ?, id, ? FROM users WHERE id = ? AND role = 'clinician'",
        )
        .bind(org.id.as_str())
        .bind(user_id.as_str())
        .bind(&invited_by)
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    }
    let mut event = Event::new(&org.id, "invitation_accepted")
        .target(invitation_ref(&hash))
        .detail(role.as_str())
        .from(Some(peer.ip()));
    event.actor = Some(AuditActor {
        user: user_id.to_string(),
        role,
        device: None,
    });
    if role == Role::Patient {
        event = event.patient(user_id.to_string());
    }
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    let step = after_password(
        &state,
        &org,
        &user_id,
        role,
        false,
        email.as_str(),
        Some(peer.ip()),
    )
    .await?;
    Ok(Json(step))
}

/// `GET /api/users`
pub async fn list_users(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
) -> Result<Json<Vec<UserSummary>>> {
    let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, display_name, email, role, active, totp_secret IS NOT NULL FROM users WHERE org_id = ? ORDER BY display_name",
    )
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await
    .map_err(Error::internal)?;
    rows.into_iter()
        .map(|(id, name, email, role, active, totp)| {
            Ok(UserSummary {
                id: Id::parse(&id).map_err(Error::internal)?,
                display_name: DisplayName::parse(&name).map_err(Error::internal)?,
                email: Email::parse(&email).map_err(Error::internal)?,
                role: Role::from_str(&role).map_err(Error::internal)?,
                active: active == 1,
                totp_enrolled: totp == 1,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Json)
}

/// A user of the caller's organisation other than the caller, or 404.
async fn other_user(state: &AppState, authed: &Authed, id: &str) -> Result<Id> {
    let id = Id::parse(id).map_err(|_| Error::NotFound)?;
    if id == authed.user_id {
        return Err(Error::conflict(
            ErrorCode::CannotChangeSelf,
            "You cannot change your own account this way; ask another administrator.",
        ));
    }
    let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE id = ? AND org_id = ?")
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .fetch_optional(state.db())
        .await
        .map_err(Error::internal)?;
    found.map(|_| id).ok_or(Error::NotFound)
}

/// `POST /api/users/{id}/role`: takes effect at once; the user signs in again.
pub async fn change_role(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    Path(id): Path<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let request: ChangeRoleRequest = parse_json(body)?;
    let id = other_user(&state, &authed, &id).await?;
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("UPDATE users SET role = ? WHERE id = ? AND org_id = ?")
        .bind(request.role.as_str())
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    session::end_all(&mut tx, &id, "role_changed").await?;
    let event = Event::by(&authed, "role_changed")
        .target(format!("user:{id}"))
        .detail(request.role.as_str());
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    state.live().end_user(&id, "role_changed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/users/{id}/deactivate`: every session ends and every socket closes now.
pub async fn deactivate(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = other_user(&state, &authed, &id).await?;
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("UPDATE users SET active = 0 WHERE id = ? AND org_id = ?")
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    session::end_all(&mut tx, &id, "deactivated").await?;
    audit::record(
        &mut tx,
        Event::by(&authed, "account_deactivated").target(format!("user:{id}")),
    )
    .await?;
    tx.commit().await.map_err(Error::internal)?;
    state.live().end_user(&id, "deactivated");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/org/settings`
pub async fn settings(Extension(authed): Extension<Authed>) -> Json<OrgSettings> {
    Json(OrgSettings {
        idle_timeout_secs: authed.org.idle_timeout_secs,
    })
}

/// `PUT /api/org/settings`
pub async fn update_settings(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<OrgSettings>> {
    let request: OrgSettings = parse_json(body)?;
    if !haven_protocol::config::IDLE_TIMEOUT_RANGE_SECS.contains(&request.idle_timeout_secs) {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The idle timeout must be between 10 seconds and 24 hours.",
        ));
    }
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("UPDATE organisations SET idle_timeout_secs = ? WHERE id = ?")
        .bind(i64::from(request.idle_timeout_secs))
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    let event = Event::by(&authed, "settings_changed")
        .detail(format!("idle_timeout_secs={}", request.idle_timeout_secs));
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(Json(request))
}
