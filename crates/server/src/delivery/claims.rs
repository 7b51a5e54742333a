//! KeyPackage claims: one KeyPackage for every device of each person named, so that the
//! caller can add those devices to a conversation. A claim consumes a one-time package;
//! the device's last-resort package is handed out when none is left, or when the caller
//! has had their share of one-time ones.
//!
//! Trust: a caller may claim only the devices of people they may converse with, and
//! cannot drain a device's pool even then. Within [`CLAIM_WINDOW_SECS`], one claimer receives
//! at most [`ONE_TIME_PER_CLAIMER`] one-time packages of a device and all claimers
//! together at most [`ONE_TIME_PER_DEVICE`]; past that they receive the last-resort
//! package, which adds the device just as well (an honest client claims one package per
//! device per add). One claimer is handed at most [`MAX_CLAIMED_PER_WINDOW`] packages of
//! any kind per window; past that the claim is refused with `too_many_requests`, and
//! nothing is consumed or recorded. Every package handed out is an audit entry
//! (`key_package_claimed`: which device, one-time or last-resort; never the package),
//! written in the claim's transaction. The counts live in the store
//! (`key_package_claims`, one row per package handed out, deleted once outside the
//! window) and are read inside the claim's write transaction, so they are exact however
//! many claims run at once, and survive a restart.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{ClaimKeyPackages, ClaimedKeyPackage, MAX_CLAIM_USERS, to_hex};
use sqlx::SqliteConnection;

use crate::audit::{self, Event};
use crate::clock::now;
use crate::delivery::directory::{device_ref, may_converse};
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

/// The window the bounds below count in, in seconds.
pub const CLAIM_WINDOW_SECS: i64 = 3600;
/// One-time packages of one device that one claimer receives per window.
pub const ONE_TIME_PER_CLAIMER: i64 = 3;
/// One-time packages of one device that all claimers together receive per window: a
/// device that keeps 20 published keeps at least 12 however many people claim.
pub const ONE_TIME_PER_DEVICE: i64 = 8;
/// Packages of any kind one claimer receives per window: the largest claim there can be
/// (50 people with 10 devices each) fits, and the audit entries one person can cause
/// stay bounded.
pub const MAX_CLAIMED_PER_WINDOW: i64 = 500;

/// A package taken from the directory for a claimer.
struct Taken {
    body: Vec<u8>,
    one_time: bool,
    not_after: i64,
}

/// One-time packages of `device` handed out since `since`: to `claimer`, and to anyone.
async fn one_time_claims(
    conn: &mut SqliteConnection,
    claimer: &Id,
    device: &str,
    since: i64,
) -> Result<(i64, i64)> {
    let counts: (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN claimer_id = ? THEN 1 ELSE 0 END), 0), COUNT(*)
         FROM key_package_claims WHERE device_id = ? AND one_time = 1 AND at > ?",
    )
    .bind(claimer.as_str())
    .bind(device)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(counts)
}

/// Takes the package `claimer` is due for `device` as of `at`: the oldest one-time
/// package while the bounds allow, else the last-resort one; `None` if it has neither.
/// A one-time package is deleted as it is taken; the hand-out is counted either way.
async fn take(
    conn: &mut SqliteConnection,
    claimer: &Id,
    device: &str,
    at: i64,
) -> Result<Option<Taken>> {
    let (mine, all) = one_time_claims(conn, claimer, device, at - CLAIM_WINDOW_SECS).await?;
    let one_time_allowed = mine < ONE_TIME_PER_CLAIMER && all < ONE_TIME_PER_DEVICE;
    let row: Option<(Vec<u8>, Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT reference, body, last_resort, not_after FROM key_packages
         WHERE device_id = ? AND not_after > ? AND (last_resort = 1 OR ?)
         ORDER BY last_resort, created_at LIMIT 1",
    )
    .bind(device)
    .bind(at)
    .bind(one_time_allowed)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((reference, body, last_resort, not_after)) = row else {
        return Ok(None);
    };
    let one_time = last_resort == 0;
    if one_time {
        sqlx::query("DELETE FROM key_packages WHERE reference = ?")
            .bind(&reference)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO key_package_claims (claimer_id, device_id, one_time, at) VALUES (?, ?, ?, ?)",
    )
    .bind(claimer.as_str())
    .bind(device)
    .bind(i64::from(one_time))
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(Some(Taken {
        body,
        one_time,
        not_after,
    }))
}

/// Someone other than its owner now holds a package of `device` valid until
/// `not_after`: were the device revoked before then, the revocation list must name it
/// (see `directory::revoked`).
async fn mark_handed_out(conn: &mut SqliteConnection, device: &str, not_after: i64) -> Result<()> {
    sqlx::query(
        "UPDATE mls_devices SET handed_out_until = ?
         WHERE id = ? AND (handed_out_until IS NULL OR handed_out_until < ?)",
    )
    .bind(not_after)
    .bind(device)
    .bind(not_after)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn too_many_claims() -> Error {
    Error::bad(
        ErrorCode::TooManyRequests,
        StatusCode::TOO_MANY_REQUESTS,
        "You have received as many KeyPackages as allowed for now. Try again within the hour.",
    )
}

/// `POST /api/mls/key-packages/claim`: one KeyPackage for every device of each person
/// named (or only the devices named), within the bounds above. Devices with no package
/// left are left out. All or nothing: a refusal consumes and records nothing.
pub async fn claim(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<ClaimKeyPackages>,
) -> Result<Json<Vec<ClaimedKeyPackage>>> {
    let users: BTreeSet<Id> = request.users.into_iter().collect();
    if users.is_empty() || users.len() > MAX_CLAIM_USERS {
        return Err(Error::bad(
            ErrorCode::InvalidBody,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Name between 1 and 50 people.",
        ));
    }
    let only: BTreeSet<String> = request.devices.iter().map(Id::to_string).collect();
    if only.len() > MAX_CLAIM_USERS {
        return Err(Error::bad(
            ErrorCode::InvalidBody,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Name at most 50 devices.",
        ));
    }
    let at = now();
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("DELETE FROM key_package_claims WHERE at <= ?")
        .bind(at - CLAIM_WINDOW_SECS)
        .execute(&mut *tx)
        .await?;
    let (mut handed_out,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM key_package_claims WHERE claimer_id = ? AND at > ?")
            .bind(authed.user_id.as_str())
            .bind(at - CLAIM_WINDOW_SECS)
            .fetch_one(&mut *tx)
            .await?;
    let mut claimed = Vec::new();
    let mut events = Vec::new();
    for user in &users {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT role FROM users WHERE id = ? AND org_id = ? AND active = 1")
                .bind(user.as_str())
                .bind(authed.org.id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let role = row.and_then(|(r,)| r.parse::<Role>().ok());
        let allowed = match role {
            Some(role) if role.converses() => may_converse(&mut tx, &authed, user, role).await?,
            _ => false,
        };
        if !allowed {
            return Err(Error::bad(
                ErrorCode::NotInCareTeam,
                StatusCode::FORBIDDEN,
                "You cannot start a conversation with one of these people.",
            ));
        }
        let devices: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM mls_devices WHERE user_id = ? AND revoked_at IS NULL ORDER BY id",
        )
        .bind(user.as_str())
        .fetch_all(&mut *tx)
        .await?;
        for (device,) in devices {
            if !only.is_empty() && !only.contains(&device) {
                continue;
            }
            let Some(taken) = take(&mut tx, &authed.user_id, &device, at).await? else {
                continue;
            };
            handed_out += 1;
            if handed_out > MAX_CLAIMED_PER_WINDOW {
                // Dropping the transaction rolls back what this claim took.
                return Err(too_many_claims());
            }
            if user != &authed.user_id {
                mark_handed_out(&mut tx, &device, taken.not_after).await?;
            }
            let device = Id::parse(&device).map_err(Error::internal)?;
            let mut event = Event::by(&authed, AuditAction::KeyPackageClaimed)
                .target(device_ref(&device))
                .detail(if taken.one_time {
                    "one-time"
                } else {
                    "last-resort"
                })
                .from(Some(ip));
            if role == Some(Role::Patient) {
                event = event.patient(user.as_str());
            }
            events.push(event);
            claimed.push(ClaimedKeyPackage {
                user: user.clone(),
                device,
                key_package: to_hex(&taken.body),
            });
        }
    }
    if !events.is_empty() {
        audit::record_many(&mut tx, events).await?;
    }
    tx.commit().await?;
    Ok(Json(claimed))
}
