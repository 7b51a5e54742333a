//! Signing in: the password (rate-limited per account and per address), then a TOTP
//! code or its enrolment, and signing out. A half-signed-in token is always replaced by a
//! new one, never promoted.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::audit::SessionEndReason;
use haven_protocol::identity::{
    Id, LoginRequest, LogoutRequest, LogoutWhy, SignInResponse, SignInStep, TotpEnrolment,
    TotpRequest,
};

use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::api::parse_json;
use crate::identity::session::{self, Authed, Stage};
use crate::secrets;
use crate::state::AppState;
use crate::store::begin_write;
use crate::tenancy::Org;

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

pub(crate) fn email_taken_error() -> Error {
    Error::conflict(
        ErrorCode::EmailTaken,
        "Someone in this organisation already uses that email address.",
    )
}

/// What to send after a password was accepted (by sign-in or by an invitation).
pub(crate) async fn after_password(
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
    let org = crate::tenancy::for_request(&state, &headers).await?;
    let account = format!("{}:{}", org.id, request.email.as_str());
    let now = now();
    let refused = |target: Option<String>, detail: &'static str| {
        let mut event = Event::new(&org.id, AuditAction::SignInFailed)
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
    session::end(
        &state,
        &authed.session_hash,
        SessionEndReason::SecondFactorDone,
    )
    .await?;
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
        Event::by(authed, AuditAction::SecondFactorFailed)
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
        Event::by(&authed, AuditAction::SecondFactorEnrolled).from(Some(peer.ip())),
    )
    .await?;
    tx.commit().await.map_err(Error::internal)?;
    // A new token either way: the enrolment token never becomes a full session.
    session::end(
        &state,
        &authed.session_hash,
        SessionEndReason::SecondFactorDone,
    )
    .await?;
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
        LogoutWhy::User => SessionEndReason::SignedOut,
        LogoutWhy::Inactivity => SessionEndReason::AutoLogoff,
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
