//! Sessions: who is calling, checked on every request. A session is an opaque random
//! token held in the app's memory and stored here only as its SHA-256. It ends on
//! sign-out, after the organisation's idle time, at its absolute lifetime, and when its
//! user is deactivated; an ended session never works again.

use std::str::FromStr;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use haven_protocol::ErrorCode;
use haven_protocol::access::{Action, Role, allowed};
use haven_protocol::audit::{AuditAction, SessionEndReason};
use haven_protocol::identity::{DeviceCredential, DisplayName, Id, SessionInfo};

use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::ClientAddr;
use crate::secrets::{new_id, new_token, parse_token, token_hash};
use crate::state::AppState;
use crate::tenancy::Org;

/// Absolute lifetime of a signed-in session.
pub const ABSOLUTE_LIFETIME_SECS: i64 = 12 * 60 * 60;
/// A half-finished sign-in (password accepted, code due) lasts this long.
pub const PENDING_LIFETIME_SECS: i64 = 10 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password accepted; a TOTP code is due.
    Totp,
    /// Password accepted; the account must enrol a TOTP authenticator first.
    Enrol,
    Full,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Enrol => "enrol",
            Self::Full => "full",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(Self::Totp),
            "enrol" => Some(Self::Enrol),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}

/// The caller, once authenticated: handed to handlers in the request's extensions.
#[derive(Debug, Clone)]
pub struct Authed {
    pub session_hash: Vec<u8>,
    pub user_id: Id,
    pub org: Org,
    pub role: Role,
    pub display_name: DisplayName,
    pub email: String,
    pub device_id: String,
    pub stage: Stage,
    pub expires_at: i64,
    pub totp_enrolled: bool,
}

impl Authed {
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            user_id: self.user_id.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            organisation: self.org.name.clone(),
            idle_timeout_secs: self.org.idle_timeout_secs,
            expires_at: self.expires_at,
            totp_enrolled: self.totp_enrolled,
        }
    }

    pub fn may(&self, action: Action) -> bool {
        self.stage == Stage::Full && allowed(self.role, action)
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, health, configuration).
    Public,
    /// A session in any stage: finishing sign-in, signing out.
    AnyStage,
    /// A signed-in session whose role may perform one of these actions.
    Full(&'static [Action]),
}

/// The bearer token of a request, if it has the shape of one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .and_then(parse_token)
}

/// Ends a session and records why, in one transaction; returns whether it was open.
pub async fn end(state: &AppState, session_hash: &[u8], reason: SessionEndReason) -> Result<bool> {
    let mut tx = crate::store::begin_write(state.db()).await?;
    let ended: Option<(String, String, String, String)> = sqlx::query_as(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE token_hash = ? AND ended_at IS NULL
         RETURNING user_id, org_id, device_id, (SELECT role FROM users WHERE users.id = sessions.user_id)",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(session_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let (Some((user, org, device, role)), Some((action, detail))) = (&ended, reason.audit()) {
        let org = Id::parse(org)?;
        let mut event = crate::audit::Event::new(&org, action);
        event.actor = Some(haven_protocol::audit::AuditActor {
            user: user.clone(),
            role: Role::from_str(role)?,
            device: Some(device.clone()),
        });
        if let Some(detail) = detail {
            event = event.detail(detail);
        }
        crate::audit::record(&mut tx, event).await?;
    }
    tx.commit().await?;
    state.live().end_session(session_hash, reason);
    Ok(ended.is_some())
}

/// Ends every open session of a user but `keep` inside the caller's transaction, and
/// returns how many ended; the caller records why.
pub async fn end_others(
    conn: &mut sqlx::SqliteConnection,
    user_id: &Id,
    keep: &[u8],
    reason: SessionEndReason,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user_id = ? AND ended_at IS NULL AND token_hash <> ?",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(user_id.as_str())
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Ends every open session of a user (deactivation, role change) inside the caller's
/// transaction; the caller records the administrative action that caused it.
pub async fn end_all(
    conn: &mut sqlx::SqliteConnection,
    user_id: &Id,
    reason: SessionEndReason,
) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user_id = ? AND ended_at IS NULL",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(user_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A session with its user and organisation, as [`authenticate`] reads it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: String,
    org_id: String,
    stage: String,
    last_seen_at: i64,
    expires_at: i64,
    ended_at: Option<i64>,
    role: String,
    display_name: String,
    email: String,
    active: i64,
    totp_enrolled: i64,
    org_name: String,
    idle_timeout_secs: i64,
    device_id: String,
}

/// Checks `token` against the store for a request made to `org`.
pub async fn authenticate(state: &AppState, token: &str, org: &Org) -> Result<Authed> {
    let hash = token_hash(token);
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.user_id, s.org_id, s.stage, s.last_seen_at, s.expires_at, s.ended_at,
                u.role, u.display_name, u.email, u.active, u.totp_secret IS NOT NULL AS totp_enrolled,
                o.name AS org_name, o.idle_timeout_secs, s.device_id
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN organisations o ON o.id = s.org_id
         WHERE s.token_hash = ?",
    )
    .bind(&hash)
    .fetch_optional(state.db())
    .await?;
    let Some(SessionRow {
        user_id,
        org_id,
        stage,
        last_seen_at: last_seen,
        expires_at,
        ended_at,
        role,
        display_name: name,
        email,
        active,
        totp_enrolled: totp,
        org_name,
        idle_timeout_secs: idle,
        device_id,
    }) = row
    else {
        return Err(Error::session_expired());
    };
    // A token from another organisation is no session here.
    if org_id != org.id.as_str() || ended_at.is_some() {
        return Err(Error::session_expired());
    }
    let now = now();
    if active == 0 {
        end(state, &hash, SessionEndReason::Deactivated).await?;
        return Err(Error::session_expired());
    }
    if now >= expires_at {
        end(state, &hash, SessionEndReason::Expired).await?;
        return Err(Error::session_expired());
    }
    if now - last_seen >= idle {
        end(state, &hash, SessionEndReason::Idle).await?;
        return Err(Error::session_expired());
    }
    sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?")
        .bind(now)
        .bind(&hash)
        .execute(state.db())
        .await?;
    Ok(Authed {
        session_hash: hash,
        user_id: Id::parse(&user_id)?,
        org: Org {
            id: org.id.clone(),
            name: org_name,
            idle_timeout_secs: u32::try_from(idle)?,
        },
        role: Role::from_str(&role)?,
        display_name: DisplayName::parse(&name)?,
        email,
        device_id,
        stage: Stage::parse(&stage).ok_or_else(|| Error::internal("bad stage"))?,
        expires_at,
        totp_enrolled: totp == 1,
    })
}

/// What a new session is for.
pub struct Opening<'a> {
    pub user: &'a Id,
    pub role: Role,
    pub org: &'a Org,
    pub stage: Stage,
    pub source: Option<std::net::IpAddr>,
    /// When this session replaces a signed-in one (a factor added or changed), it ends
    /// no later than that one would have: a session's absolute expiry never moves later.
    pub ends_by: Option<i64>,
    /// The device credential the browser presented, refreshed if it is this account's.
    pub device: Option<&'a DeviceCredential>,
}

/// A session just opened.
pub struct Opened {
    pub token: String,
    pub expires_at: i64,
    /// For a signed-in session: this browser's device credential for the account.
    pub device: Option<DeviceCredential>,
}

/// Opens a session on a new device; a signed-in one is recorded as a sign-in.
pub async fn open(state: &AppState, opening: Opening<'_>) -> Result<Opened> {
    let Opening {
        user: user_id,
        role,
        org,
        stage,
        source,
        ends_by,
        device: presented,
    } = opening;
    let token = new_token()?;
    let device = new_id()?;
    let now = now();
    let lifetime = if stage == Stage::Full {
        ABSOLUTE_LIFETIME_SECS
    } else {
        PENDING_LIFETIME_SECS
    };
    let expires_at = ends_by.map_or(now + lifetime, |cap| cap.min(now + lifetime));
    let mut tx = crate::store::begin_write(state.db()).await?;
    sqlx::query("INSERT INTO devices (id, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)")
        .bind(device.as_str())
        .bind(user_id.as_str())
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, org_id, device_id, stage, created_at, last_seen_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(token_hash(&token))
    .bind(user_id.as_str())
    .bind(org.id.as_str())
    .bind(device.as_str())
    .bind(stage.as_str())
    .bind(now)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    let mut credential = None;
    if stage == Stage::Full {
        let mut event = crate::audit::Event::new(&org.id, AuditAction::SignIn).from(source);
        event.actor = Some(haven_protocol::audit::AuditActor {
            user: user_id.to_string(),
            role,
            device: Some(device.to_string()),
        });
        crate::audit::record(&mut tx, event).await?;
        credential =
            Some(crate::identity::devices::remember(&mut tx, user_id, &org.id, presented).await?);
    }
    tx.commit().await?;
    Ok(Opened {
        token,
        expires_at,
        device: credential,
    })
}

/// Middleware for one route: authenticates as `access` demands, checks the permission
/// table, and hands the caller to the handler.
pub async fn guard(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    // Only the headers and the client are needed, and a body is not `Sync`.
    let headers = request.headers().clone();
    let client = match ClientAddr::of(&state, request.extensions(), &headers) {
        Ok(ClientAddr(client)) => client,
        Err(error) => return error.into_response(),
    };
    match check(&state, access, &headers, client).await {
        Ok(Some(authed)) => {
            request.extensions_mut().insert(authed);
            next.run(request).await
        }
        Ok(None) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn check(
    state: &AppState,
    access: Access,
    headers: &HeaderMap,
    client: std::net::IpAddr,
) -> Result<Option<Authed>> {
    if access == Access::Public {
        return Ok(None);
    }
    let org = crate::tenancy::for_request(state, headers, client).await?;
    let token = bearer(headers).ok_or_else(Error::unauthenticated)?;
    let authed = authenticate(state, token, &org).await?;
    match access {
        Access::Public | Access::AnyStage => Ok(Some(authed)),
        Access::Full(_) if authed.stage != Stage::Full => Err(Error::bad(
            ErrorCode::SecondFactorRequired,
            StatusCode::UNAUTHORIZED,
            "Finish signing in with your authenticator code first.",
        )),
        Access::Full(actions) if actions.iter().any(|a| authed.may(*a)) => Ok(Some(authed)),
        Access::Full(_) => Err(Error::forbidden()),
    }
}
