//! Signing in: the password (rate-limited per account and per address), then a TOTP
//! code or its enrolment, and signing out. A half-signed-in token is always replaced by a
//! new one, never promoted.

use std::net::IpAddr;
use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::{AuditAction, SessionEndReason};
use haven_protocol::identity::{
    DeviceCredential, EnrolRequest, Id, LoginRequest, LogoutRequest, LogoutWhy, SignInResponse,
    SignInStep, TotpEnrolment, TotpRequest,
};

use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr, OptionalBody};
use crate::identity::ratelimit::Subject;
use crate::identity::session::{self, Authed, Opening, Stage};
use crate::secrets;
use crate::state::AppState;
use crate::store::begin_write;
use crate::tenancy::Org;
use axum::Json;

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

/// A user as sign-in needs it.
#[derive(sqlx::FromRow)]
struct Account {
    id: String,
    password_hash: String,
    role: String,
    active: i64,
    has_totp: i64,
}

/// Someone whose password was just accepted (by sign-in or by an invitation).
pub(crate) struct Accepted<'a> {
    pub org: &'a Org,
    pub user_id: &'a Id,
    pub role: Role,
    pub has_totp: bool,
    pub email: &'a str,
    pub source: Option<IpAddr>,
    pub device: Option<&'a DeviceCredential>,
}

/// What to send after a password was accepted.
pub(crate) async fn after_password(
    state: &AppState,
    accepted: Accepted<'_>,
) -> Result<SignInResponse> {
    let Accepted {
        org,
        user_id,
        role,
        has_totp,
        email,
        source,
        device,
    } = accepted;
    let pending = |stage| Opening {
        user: user_id,
        role,
        org,
        stage,
        source,
        ends_by: None,
        device: None,
    };
    if has_totp {
        let opened = session::open(state, pending(Stage::Totp)).await?;
        return Ok(SignInResponse {
            token: opened.token,
            step: SignInStep::TotpRequired,
            device: None,
        });
    }
    if role.requires_totp() {
        let enrolment = start_enrolment(state, user_id, &org.name, email).await?;
        let opened = session::open(state, pending(Stage::Enrol)).await?;
        return Ok(SignInResponse {
            token: opened.token,
            step: SignInStep::TotpEnrolmentRequired {
                secret: enrolment.secret,
                otpauth_uri: enrolment.otpauth_uri,
            },
            device: None,
        });
    }
    signed_in(state, user_id, role, org, source, None, device).await
}

async fn signed_in(
    state: &AppState,
    user_id: &Id,
    role: Role,
    org: &Org,
    source: Option<IpAddr>,
    ends_by: Option<i64>,
    device: Option<&DeviceCredential>,
) -> Result<SignInResponse> {
    let opened = session::open(
        state,
        Opening {
            user: user_id,
            role,
            org,
            stage: Stage::Full,
            source,
            ends_by,
            device,
        },
    )
    .await?;
    let authed = session::authenticate(state, &opened.token, org).await?;
    Ok(SignInResponse {
        token: opened.token,
        step: SignInStep::SignedIn {
            session: authed.info(),
        },
        device: opened.device,
    })
}

async fn start_enrolment(
    state: &AppState,
    user_id: &Id,
    issuer: &str,
    email: &str,
) -> Result<TotpEnrolment> {
    let secret = secrets::new_totp_secret()?;
    sqlx::query("UPDATE users SET totp_pending = ? WHERE id = ?")
        .bind(&secret)
        .bind(user_id.as_str())
        .execute(state.db())
        .await?;
    Ok(TotpEnrolment {
        secret: secrets::totp_base32(&secret),
        otpauth_uri: secrets::otpauth_uri(&secret, issuer, email),
    })
}

/// `POST /api/auth/login`. The attempt is reserved in the rate limiter before the
/// password is checked; one refused by the limit costs no hash and no durable write (it
/// is counted, and the count recorded when the window closes).
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Body(request): Body<LoginRequest>,
) -> Result<Json<SignInResponse>> {
    let org = crate::tenancy::for_request(&state, &headers, ip).await?;
    let account_key = format!("{}:{}", org.id, request.email.as_str());
    let row: Option<Account> = sqlx::query_as(
        "SELECT id, password_hash, role, active, totp_secret IS NOT NULL AS has_totp FROM users WHERE org_id = ? AND email = ?",
    )
    .bind(org.id.as_str())
    .bind(request.email.as_str())
    .fetch_optional(state.db())
    .await?;
    let user = row.as_ref().map(|r| Id::parse(&r.id)).transpose()?;
    let device = match (&request.device, &user) {
        (Some(credential), Some(user)) => {
            crate::identity::devices::check(&state, credential, user).await?
        }
        _ => None,
    };
    let subject = || Subject {
        org: org.id.clone(),
        user: user.clone(),
        source: ip,
    };
    let Some(reservation) =
        state
            .limiter()
            .reserve(&account_key, ip, device.as_deref(), subject, now())
    else {
        return Err(too_many_attempts());
    };
    // The same work and the same answer whether or not the account exists.
    let stored = row
        .as_ref()
        .map_or(secrets::dummy_hash(), |r| r.password_hash.as_str())
        .to_owned();
    let password_ok = secrets::verify_password(&request.password, &stored).await;
    let Some(account) = row.filter(|r| password_ok && r.active == 1) else {
        let mut event = Event::new(&org.id, AuditAction::SignInFailed)
            .failed()
            .from(Some(ip))
            .detail("wrong password, unknown or inactive account");
        event.target = user.map(|u| format!("user:{u}"));
        audit::record_alone(state.db(), event).await?;
        return Err(invalid_credentials());
    };
    state.limiter().succeeded(reservation);
    let user_id = Id::parse(&account.id)?;
    let role = Role::from_str(&account.role)?;
    let step = after_password(
        &state,
        Accepted {
            org: &org,
            user_id: &user_id,
            role,
            has_totp: account.has_totp == 1,
            email: request.email.as_str(),
            source: Some(ip),
            device: request.device.as_ref(),
        },
    )
    .await?;
    Ok(Json(step))
}

/// `POST /api/auth/totp`: the code that finishes a sign-in. The half-signed-in token is
/// ended and a new one issued, so the first token never becomes a full session.
pub async fn totp(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<TotpRequest>,
) -> Result<Json<SignInResponse>> {
    if authed.stage != Stage::Totp {
        return Err(Error::forbidden());
    }
    check_current_code(&state, &authed, ip, &request.code).await?;
    Ok(Json(
        replace_with_signed_in(&state, &authed, ip, None, request.device.as_ref()).await?,
    ))
}

/// Ends `authed`'s session (a half-finished sign-in, or the session that just set up a
/// factor) and opens a signed-in one in its place: a token is never promoted.
async fn replace_with_signed_in(
    state: &AppState,
    authed: &Authed,
    ip: IpAddr,
    ends_by: Option<i64>,
    device: Option<&DeviceCredential>,
) -> Result<SignInResponse> {
    session::end(
        state,
        &authed.session_hash,
        SessionEndReason::SecondFactorDone,
    )
    .await?;
    signed_in(
        state,
        &authed.user_id,
        authed.role,
        &authed.org,
        Some(ip),
        ends_by,
        device,
    )
    .await
}

/// A reserved second-factor attempt for `authed`, or the refusal.
fn reserve_code_attempt(
    state: &AppState,
    authed: &Authed,
    ip: IpAddr,
) -> Result<crate::identity::ratelimit::Reservation> {
    let subject = || Subject {
        org: authed.org.id.clone(),
        user: Some(authed.user_id.clone()),
        source: ip,
    };
    state
        .limiter()
        .reserve(
            &format!("totp:{}", authed.user_id),
            ip,
            None,
            subject,
            now(),
        )
        .ok_or_else(too_many_attempts)
}

async fn record_code_failure(state: &AppState, authed: &Authed, ip: IpAddr) -> Result<()> {
    let event = Event::by(authed, AuditAction::SecondFactorFailed)
        .failed()
        .from(Some(ip));
    audit::record_alone(state.db(), event).await?;
    Ok(())
}

/// Accepts `code` once for the user's current secret, within the rate limit; a failure
/// is audited. The conditional update makes a replay lose even when two requests race.
async fn check_current_code(
    state: &AppState,
    authed: &Authed,
    ip: IpAddr,
    code: &haven_protocol::identity::TotpCode,
) -> Result<()> {
    let reservation = reserve_code_attempt(state, authed, ip)?;
    let (secret, last_step): (Option<Vec<u8>>, i64) =
        sqlx::query_as("SELECT totp_secret, totp_last_step FROM users WHERE id = ?")
            .bind(authed.user_id.as_str())
            .fetch_one(state.db())
            .await?;
    let secret = secret.ok_or_else(Error::forbidden)?;
    let now = now();
    let step = secrets::check_totp(
        &secret,
        code,
        u64::try_from(now).unwrap_or(0),
        u64::try_from(last_step).unwrap_or(0),
    );
    let accepted = match step {
        Some(step) => {
            let step = i64::try_from(step)?;
            sqlx::query(
                "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ? AND totp_secret = ?",
            )
            .bind(step)
            .bind(authed.user_id.as_str())
            .bind(step)
            .bind(&secret)
            .execute(state.db())
            .await?
            .rows_affected()
                == 1
        }
        None => false,
    };
    if !accepted {
        record_code_failure(state, authed, ip).await?;
        return Err(invalid_code());
    }
    state.limiter().succeeded(reservation);
    Ok(())
}

/// `POST /api/auth/totp/enrol`: a signed-in user sets up an authenticator app. Replacing
/// one that is already set up needs a current code from it: a stolen session alone
/// cannot swap the second factor.
pub async fn enrol(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    OptionalBody(request): OptionalBody<EnrolRequest>,
) -> Result<Json<TotpEnrolment>> {
    if authed.totp_enrolled {
        let code = request.current_code.ok_or_else(|| {
            Error::bad(
                ErrorCode::InvalidCode,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Enter a code from your current authenticator app to replace it.",
            )
        })?;
        check_current_code(&state, &authed, ip, &code).await?;
    }
    Ok(Json(
        start_enrolment(&state, &authed.user_id, &authed.org.name, &authed.email).await?,
    ))
}

/// `POST /api/auth/totp/confirm`: the first code from a newly set-up authenticator. The
/// pending secret is read, checked and promoted in one write transaction. A replaced
/// factor ends the account's other sessions; the new session ends no later than the one
/// it replaces.
pub async fn confirm(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<TotpRequest>,
) -> Result<Json<SignInResponse>> {
    if authed.stage == Stage::Totp {
        return Err(Error::forbidden());
    }
    let reservation = reserve_code_attempt(&state, &authed, ip)?;
    let mut tx = begin_write(state.db()).await?;
    let (pending, had_factor): (Option<Vec<u8>>, i64) =
        sqlx::query_as("SELECT totp_pending, totp_secret IS NOT NULL FROM users WHERE id = ?")
            .bind(authed.user_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
    let now = now();
    // A new secret has had no code accepted yet: steps used with the old one do not
    // count against it. Promoting it consumes this code.
    let step = pending.as_ref().and_then(|secret| {
        secrets::check_totp(secret, &request.code, u64::try_from(now).unwrap_or(0), 0)
    });
    let (Some(pending), Some(step)) = (pending, step) else {
        drop(tx);
        record_code_failure(&state, &authed, ip).await?;
        return Err(invalid_code());
    };
    let promoted = sqlx::query(
        "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ?
         WHERE id = ? AND totp_pending = ?",
    )
    .bind(i64::try_from(step)?)
    .bind(authed.user_id.as_str())
    .bind(&pending)
    .execute(&mut *tx)
    .await?;
    if promoted.rows_affected() != 1 {
        return Err(invalid_code());
    }
    let replaced = had_factor == 1;
    let mut event = Event::by(&authed, AuditAction::SecondFactorEnrolled).from(Some(ip));
    if replaced {
        let ended = session::end_others(
            &mut tx,
            &authed.user_id,
            &authed.session_hash,
            SessionEndReason::FactorChanged,
        )
        .await?;
        event = event.detail(format!("replaced; {ended} other sessions ended"));
    }
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    state.limiter().succeeded(reservation);
    if replaced {
        state.live().end_user_except(
            &authed.user_id,
            &authed.session_hash,
            SessionEndReason::FactorChanged,
        );
    }
    // A new token either way: the enrolment token never becomes a full session.
    let ends_by = (authed.stage == Stage::Full).then_some(authed.expires_at);
    Ok(Json(
        replace_with_signed_in(&state, &authed, ip, ends_by, request.device.as_ref()).await?,
    ))
}

/// `POST /api/auth/logout`, optionally `{"reason": "inactivity"}` from the app's
/// automatic logoff.
pub async fn logout(
    State(state): State<AppState>,
    authed: Authed,
    OptionalBody(request): OptionalBody<LogoutRequest>,
) -> Result<Response> {
    let reason = match request.reason {
        LogoutWhy::User => SessionEndReason::SignedOut,
        LogoutWhy::Inactivity => SessionEndReason::AutoLogoff,
    };
    session::end(&state, &authed.session_hash, reason).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/session`
pub async fn current(authed: Authed) -> Json<haven_protocol::identity::SessionInfo> {
    Json(authed.info())
}
