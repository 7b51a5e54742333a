//! The Authentication Service and the KeyPackage directory.
//!
//! A signed-in patient or clinician registers a browser's MLS signature key and gets a
//! certificate binding it to their organisation, user, role and name; a person registers
//! at most [`MAX_REGISTRATIONS_PER_DAY`] devices a day. Devices publish KeyPackages;
//! others claim one per device to add it to a conversation (`claims.rs`).
//!
//! Trust: every KeyPackage is checked before it is stored (signatures, ciphersuite, a
//! lifetime that has begun, has not ended and spans at most 28 days, and that its
//! certificate is the one this server issued for that device), so a member never
//! receives one that an honest client would refuse. The revocation list every member
//! downloads names only the revoked devices a member could still meet (see
//! `revoked`), so it stays small whatever was revoked before.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use haven_mls::{CertificateBody, Trust};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::{AuditAction, SessionEndReason};
use haven_protocol::identity::Id;
use haven_protocol::messaging::{
    CERTIFICATE_LIFETIME_SECS, DeviceStateKey, KeyPackagePool, MAX_DEVICES_PER_USER,
    MAX_KEY_PACKAGE_POOL, MAX_KEY_PACKAGES_PER_UPLOAD, RegisterDevice, RegisteredDevice,
    TrustAnchor, UploadKeyPackages, to_hex,
};
use sqlx::SqliteConnection;

use crate::audit::repeats::Key;
use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

/// Certificates start a little in the past, so a browser whose clock is slightly behind
/// still accepts its own; a KeyPackage may start this much in the future, from a browser
/// whose clock is slightly ahead.
const CLOCK_SKEW_SECS: u64 = 300;

/// Devices one person may register in 24 hours. A device revoked soon after may have to
/// stay on the revocation list for a while, so registrations are bounded, not only the
/// devices held at once.
pub const MAX_REGISTRATIONS_PER_DAY: i64 = 10;
const DAY_SECS: i64 = 24 * 3600;

/// The longest lifetime a KeyPackage may declare, in seconds: the 28 days clients give
/// theirs, the hour openmls dates its start back by (for slow clocks), and an hour's
/// margin for other clients' choices.
pub const MAX_KEY_PACKAGE_LIFETIME_SECS: u64 = haven_mls::KEY_PACKAGE_LIFETIME_SECS + 2 * 3600;

/// The request body limit of a KeyPackage upload: every package at its largest, in hex.
pub const MAX_UPLOAD_BYTES: usize =
    MAX_KEY_PACKAGES_PER_UPLOAD * 2 * haven_protocol::messaging::MAX_KEY_PACKAGE_BYTES + 4096;

pub(crate) fn device_ref(id: &Id) -> String {
    format!("device:{id}")
}

fn unix(now: i64) -> u64 {
    u64::try_from(now).unwrap_or(0)
}

/// What a member of `org` checks certificates against, as of now.
pub async fn trust(state: &AppState, conn: &mut SqliteConnection, org: &Id) -> Result<Trust> {
    let mut trust = Trust::new(org.clone(), state.mls_issuer().verifying_key());
    trust.revoked = revoked(conn, org).await?.into_iter().collect();
    Ok(trust)
}

/// The revoked devices a member of `org` could still meet, and only those: the list
/// every member downloads stays small however many devices were registered and revoked.
/// - A device still in a conversation, or whose removal commit the server still holds
///   (a member who processes it later checks the removal against this list), whatever
///   its certificate's age: clients check a member's lifetime only when it joins.
/// - A device whose certificate is still valid and whose KeyPackage someone other than
///   its owner received from the directory and may still hold (`handed_out_until`, the
///   latest such package's end): members must refuse adding it with that package.
///
/// Any other revoked device is on no list: it is in no group, nobody but its owner holds
/// a package to add it with, and the Delivery Service refuses adding a revoked device.
async fn revoked(conn: &mut SqliteConnection, org: &Id) -> Result<Vec<Id>> {
    let at = now();
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT d.id FROM mls_devices d
         WHERE d.org_id = ? AND d.revoked_at IS NOT NULL
           AND ((d.handed_out_until > ? AND d.not_after > ?)
                OR EXISTS (
                    SELECT 1 FROM conversation_devices cd
                    WHERE cd.device_id = d.id
                      AND (cd.left_seq IS NULL OR EXISTS (
                          SELECT 1 FROM mls_messages m
                          WHERE m.conversation_id = cd.conversation_id
                            AND m.seq = cd.left_seq))))
         ORDER BY d.id",
    )
    .bind(org.as_str())
    .bind(at)
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id,)| Id::parse(&id).map_err(Error::internal))
        .collect()
}

/// `GET /api/mls/trust`
pub async fn trust_anchor(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<TrustAnchor>> {
    let mut conn = state.db().acquire().await?;
    let revoked = revoked(&mut conn, &authed.org.id).await?;
    Ok(Json(TrustAnchor {
        organisation: authed.org.id.clone(),
        issuer_key: to_hex(state.mls_issuer().verifying_key().as_bytes()),
        revoked,
    }))
}

/// `POST /api/mls/devices`: certifies the caller's new device key once it has proved
/// holding it ([`super::challenge::check`]).
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<RegisterDevice>,
) -> Result<(StatusCode, Json<RegisteredDevice>)> {
    // Only a usable key that signed this session's fresh challenge is certified.
    super::challenge::check(&state, &authed, &request).await?;
    let device = crate::secrets::new_id()?;
    let issued = unix(now());
    let body = CertificateBody {
        organisation: authed.org.id.clone(),
        user: authed.user_id.clone(),
        role: authed.role,
        name: authed.display_name.as_str().to_owned(),
        device: device.clone(),
        signature_key: to_hex(request.signature_key.as_bytes()),
        not_before: issued.saturating_sub(CLOCK_SKEW_SECS),
        not_after: issued + CERTIFICATE_LIFETIME_SECS,
    };
    let not_after = i64::try_from(body.not_after).map_err(Error::internal)?;
    let certificate = state
        .mls_issuer()
        .issue(body)
        .map_err(|_| Error::internal("the certificate could not be issued"))?;

    let mut tx = begin_write(state.db()).await?;
    let (active,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM mls_devices WHERE user_id = ? AND revoked_at IS NULL")
            .bind(authed.user_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
    if active >= i64::from(MAX_DEVICES_PER_USER) {
        return Err(Error::conflict(
            ErrorCode::TooManyDevices,
            "You have as many encryption devices as allowed. Remove one you no longer use first.",
        ));
    }
    let (today,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM mls_devices WHERE user_id = ? AND created_at > ?")
            .bind(authed.user_id.as_str())
            .bind(now() - DAY_SECS)
            .fetch_one(&mut *tx)
            .await?;
    if today >= MAX_REGISTRATIONS_PER_DAY {
        return Err(Error::bad(
            ErrorCode::TooManyRequests,
            StatusCode::TOO_MANY_REQUESTS,
            "You have set up as many encryption devices today as allowed. Use a browser you set up before, or try again tomorrow.",
        ));
    }
    let state_key = crate::secrets::random_bytes::<32>()?;
    let inserted = sqlx::query(
        "INSERT INTO mls_devices (id, org_id, user_id, signature_key, certificate, state_key, created_at, not_after)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (signature_key) DO NOTHING",
    )
    .bind(device.as_str())
    .bind(authed.org.id.as_str())
    .bind(authed.user_id.as_str())
    .bind(request.signature_key.as_bytes())
    .bind(certificate.encoded())
    .bind(state_key.as_slice())
    .bind(now())
    .bind(not_after)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Error::conflict(
            ErrorCode::DeviceUnavailable,
            "This encryption key is already registered. Create a new one.",
        ));
    }
    held_by_session(&mut tx, &device, &authed).await?;
    let event = Event::by(&authed, AuditAction::DeviceRegistered)
        .target(device_ref(&device))
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(RegisteredDevice {
            device,
            certificate: to_hex(certificate.encoded()),
        }),
    ))
}

/// The caller's own device that is not revoked, with its certificate.
async fn own_device(conn: &mut SqliteConnection, authed: &Authed, device: &Id) -> Result<Vec<u8>> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT certificate FROM mls_devices WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
    )
    .bind(device.as_str())
    .bind(authed.user_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(c,)| c).ok_or_else(|| {
        Error::conflict(
            ErrorCode::DeviceUnavailable,
            "This encryption device was removed or is not yours. Set up this browser again.",
        )
    })
}

/// The state key of the caller's own device that is not revoked, with the highest state
/// version it sent from.
async fn own_state_key(
    conn: &mut SqliteConnection,
    authed: &Authed,
    device: &Id,
) -> Result<DeviceStateKey> {
    let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT state_key, state_version FROM mls_devices WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
    )
    .bind(device.as_str())
    .bind(authed.user_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(key, version)| DeviceStateKey {
        key: to_hex(&key),
        version: u64::try_from(version).unwrap_or(0),
    })
    .ok_or_else(|| {
        Error::conflict(
            ErrorCode::DeviceUnavailable,
            "This encryption device was removed or is not yours. Set up this browser again.",
        )
    })
}

/// Reads the state key and records its release, in one transaction.
async fn release_state_key(
    state: &AppState,
    authed: &Authed,
    ip: std::net::IpAddr,
    device: &Id,
) -> Result<DeviceStateKey> {
    let mut tx = begin_write(state.db()).await?;
    let key = own_state_key(&mut tx, authed, device).await?;
    held_by_session(&mut tx, device, authed).await?;
    let event = Event::by(authed, AuditAction::DeviceStateKeyReleased)
        .target(device_ref(device))
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(key)
}

/// `GET /api/mls/devices/{id}/state-key`: the key unseals that browser's history, so its
/// release is recorded; once per session and device within
/// [`crate::audit::repeats::WINDOW_SECS`], since a session that already holds it learns
/// nothing new by asking again.
pub async fn state_key(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<DeviceStateKey>> {
    let device = parse_device(&id)?;
    let repeat = Key::new(
        &authed.session_hash,
        format!("state key {}", device_ref(&device)),
    );
    let Some(taken) = state.repeats().first(repeat, now()) else {
        // Released to this session within the window, and recorded then.
        let mut conn = state.db().acquire().await?;
        return Ok(Json(own_state_key(&mut conn, &authed, &device).await?));
    };
    match release_state_key(&state, &authed, ip, &device).await {
        Ok(key) => Ok(Json(key)),
        Err(e) => {
            state.repeats().forget(taken);
            Err(e)
        }
    }
}

/// Tells everyone who shares a conversation with one of `devices` (just revoked) to
/// fetch the revocation list again: they show the removal as pending at once, and the
/// first of their devices online commits it.
pub async fn announce_revoked(state: &AppState, org: &Id, devices: &[Id]) -> Result<()> {
    let mut users = BTreeSet::new();
    for device in devices {
        // Its open connections stop receiving at once, and its frames count no more.
        state.fanout().revoke(device);
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT other.user_id FROM conversation_devices mine
             JOIN conversation_devices other ON other.conversation_id = mine.conversation_id
             WHERE mine.device_id = ? AND other.left_seq IS NULL",
        )
        .bind(device.as_str())
        .fetch_all(state.db())
        .await?;
        users.extend(rows.into_iter().filter_map(|(u,)| Id::parse(&u).ok()));
    }
    if !users.is_empty() {
        let users: Vec<&Id> = users.iter().collect();
        let frame = haven_protocol::ws::ServerFrame::Changed {
            topic: haven_protocol::ws::Topic::Devices,
        };
        state.live().push(org, &users, &[], &frame);
    }
    Ok(())
}

fn parse_device(id: &str) -> Result<Id> {
    Id::parse(id).map_err(|_| Error::NotFound)
}

/// Notes that the caller's session registered or unlocked `device`: revoking the device
/// ends the session.
async fn held_by_session(conn: &mut SqliteConnection, device: &Id, authed: &Authed) -> Result<()> {
    sqlx::query(
        "INSERT INTO device_sessions (device_id, token_hash) VALUES (?, ?)
         ON CONFLICT (device_id, token_hash) DO NOTHING",
    )
    .bind(device.as_str())
    .bind(authed.session_hash.as_slice())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends the open sessions that registered or unlocked `device`, inside the caller's
/// transaction; their hashes, for closing their sockets once it commits.
async fn end_holders(conn: &mut SqliteConnection, device: &Id) -> Result<Vec<Vec<u8>>> {
    let holders: Vec<(Vec<u8>,)> = sqlx::query_as(
        "SELECT s.token_hash FROM device_sessions ds
         JOIN sessions s ON s.token_hash = ds.token_hash
         WHERE ds.device_id = ? AND s.ended_at IS NULL",
    )
    .bind(device.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for (hash,) in &holders {
        sqlx::query(
            "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE token_hash = ? AND ended_at IS NULL",
        )
        .bind(now())
        .bind(SessionEndReason::DeviceRevoked.as_str())
        .bind(hash.as_slice())
        .execute(&mut *conn)
        .await?;
    }
    Ok(holders.into_iter().map(|(h,)| h).collect())
}

/// `POST /api/mls/devices/{id}/revoke`: the owner retires one of their devices.
pub async fn revoke_own(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let device = parse_device(&id)?;
    let mut tx = begin_write(state.db()).await?;
    own_device(&mut tx, &authed, &device).await?;
    revoke(&mut tx, &device, "revoked by its owner").await?;
    let ended = end_holders(&mut tx, &device).await?;
    let event = Event::by(&authed, AuditAction::DeviceRevoked)
        .target(device_ref(&device))
        .detail(format!(
            "revoked by its owner; {} session(s) that held it ended",
            ended.len()
        ))
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    for hash in &ended {
        state
            .live()
            .end_session(hash, SessionEndReason::DeviceRevoked);
    }
    announce_revoked(&state, &authed.org.id, std::slice::from_ref(&device)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks a device revoked and drops its KeyPackages, inside the caller's transaction.
pub async fn revoke(conn: &mut SqliteConnection, device: &Id, why: &str) -> Result<()> {
    sqlx::query("UPDATE mls_devices SET revoked_at = ?, revoked_why = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(now())
        .bind(why)
        .bind(device.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM key_packages WHERE device_id = ?")
        .bind(device.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Revokes every device of `user` (deactivated, or their role changed), recording each
/// as done by `authed`. Returns the devices revoked.
pub async fn revoke_all_of(
    conn: &mut SqliteConnection,
    authed: &Authed,
    user: &Id,
    why: &'static str,
) -> Result<Vec<Id>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM mls_devices WHERE user_id = ? AND revoked_at IS NULL")
            .bind(user.as_str())
            .fetch_all(&mut *conn)
            .await?;
    let mut devices = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for (id,) in rows {
        let device = Id::parse(&id).map_err(Error::internal)?;
        revoke(conn, &device, why).await?;
        events.push(
            Event::by(authed, AuditAction::DeviceRevoked)
                .target(device_ref(&device))
                .detail(why),
        );
        devices.push(device);
    }
    if !events.is_empty() {
        audit::record_many(conn, events).await?;
    }
    Ok(devices)
}

async fn pool_of(conn: &mut SqliteConnection, device: &Id) -> Result<KeyPackagePool> {
    let (one_time, last_resort): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(1 - last_resort), 0), COALESCE(SUM(last_resort), 0)
         FROM key_packages WHERE device_id = ? AND not_after > ?",
    )
    .bind(device.as_str())
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    Ok(KeyPackagePool {
        one_time: u32::try_from(one_time).unwrap_or(u32::MAX),
        last_resort: last_resort > 0,
    })
}

/// `GET /api/mls/devices/{id}/key-packages`: how full the device's pool is.
pub async fn pool(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<KeyPackagePool>> {
    let device = parse_device(&id)?;
    let mut conn = state.db().acquire().await?;
    own_device(&mut conn, &authed, &device).await?;
    Ok(Json(pool_of(&mut conn, &device).await?))
}

fn invalid_key_package(message: &'static str) -> Error {
    Error::bad(
        ErrorCode::InvalidKeyPackage,
        StatusCode::UNPROCESSABLE_ENTITY,
        message,
    )
}

fn key_package_refusal(error: &haven_mls::Error) -> Error {
    use haven_mls::CertificateError as C;
    invalid_key_package(match error {
        haven_mls::Error::Malformed => "A KeyPackage cannot be read as MLS.",
        haven_mls::Error::WrongCiphersuite => {
            "A KeyPackage uses another ciphersuite than this organisation's conversations."
        }
        haven_mls::Error::Certificate(C::OutsideLifetime) => {
            "A KeyPackage's device certificate has expired."
        }
        haven_mls::Error::Certificate(C::Revoked) => "A KeyPackage is for a revoked device.",
        haven_mls::Error::Certificate(_) => {
            "A KeyPackage does not carry this server's certificate for this device."
        }
        _ => "A KeyPackage was refused: its signature or lifetime is not valid.",
    })
}

/// Refuses a KeyPackage whose lifetime has not begun (beyond a few minutes of clock
/// skew), has ended, or spans more than [`MAX_KEY_PACKAGE_LIFETIME_SECS`]: a package
/// valid for years keeps its one-time key usable for years.
fn check_lifetime(package: &haven_mls::wire::CheckedKeyPackage, at: u64) -> Result<()> {
    if package.not_before > at.saturating_add(CLOCK_SKEW_SECS) {
        return Err(invalid_key_package(
            "A KeyPackage is not valid yet. Check this device's clock.",
        ));
    }
    if package.not_after <= at {
        return Err(invalid_key_package("A KeyPackage has expired."));
    }
    if package.not_after.saturating_sub(package.not_before) > MAX_KEY_PACKAGE_LIFETIME_SECS {
        return Err(invalid_key_package(
            "A KeyPackage may be valid for at most 28 days.",
        ));
    }
    Ok(())
}

/// `POST /api/mls/devices/{id}/key-packages`: publish KeyPackages. All are checked
/// before any is stored; one bad package refuses the upload and stores nothing.
pub async fn upload(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<UploadKeyPackages>,
) -> Result<Json<KeyPackagePool>> {
    let device = parse_device(&id)?;
    if request.key_packages.is_empty() || request.key_packages.len() > MAX_KEY_PACKAGES_PER_UPLOAD {
        return Err(invalid_key_package(
            "Upload between 1 and 50 KeyPackages at a time.",
        ));
    }
    let (certificate, trust) = {
        let mut conn = state.db().acquire().await?;
        let certificate = own_device(&mut conn, &authed, &device).await?;
        (certificate, trust(&state, &mut conn, &authed.org.id).await?)
    };
    // Signature checks cost CPU: off the async threads.
    let packages: Vec<Vec<u8>> = request
        .key_packages
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .collect();
    let at = unix(now());
    let checked = tokio::task::spawn_blocking(move || {
        packages
            .iter()
            .map(|bytes| haven_mls::wire::check_key_package(bytes, &trust, at))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(Error::internal)?;
    let mut rows = Vec::with_capacity(checked.len());
    for result in checked {
        let package = result.map_err(|e| key_package_refusal(&e))?;
        if package.certificate.encoded() != certificate.as_slice() {
            return Err(invalid_key_package(
                "A KeyPackage does not carry this server's certificate for this device.",
            ));
        }
        check_lifetime(&package, at)?;
        rows.push(package);
    }
    let last_resorts = rows.iter().filter(|p| p.last_resort).count();
    if last_resorts > 1 {
        return Err(invalid_key_package(
            "An upload may carry at most one last-resort KeyPackage.",
        ));
    }

    let mut tx = begin_write(state.db()).await?;
    // Revoked since the check above? Then nothing is stored.
    own_device(&mut tx, &authed, &device).await?;
    sqlx::query("DELETE FROM key_packages WHERE device_id = ? AND not_after <= ?")
        .bind(device.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?;
    let before = pool_of(&mut tx, &device).await?;
    let new_one_time = u32::try_from(rows.len() - last_resorts).unwrap_or(u32::MAX);
    if before.one_time.saturating_add(new_one_time) > MAX_KEY_PACKAGE_POOL {
        return Err(Error::conflict(
            ErrorCode::KeyPackagePoolFull,
            "This device already has as many KeyPackages as the directory keeps.",
        ));
    }
    if last_resorts > 0 {
        sqlx::query("DELETE FROM key_packages WHERE device_id = ? AND last_resort = 1")
            .bind(device.as_str())
            .execute(&mut *tx)
            .await?;
    }
    for package in &rows {
        sqlx::query(
            "INSERT INTO key_packages (reference, device_id, last_resort, not_after, body, created_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&package.reference)
        .bind(device.as_str())
        .bind(i64::from(package.last_resort))
        .bind(i64::try_from(package.not_after).unwrap_or(i64::MAX))
        .bind(&package.encoded)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    }
    let after = pool_of(&mut tx, &device).await?;
    tx.commit().await?;
    // A device's first KeyPackages: it can be added now, so the people it shares
    // conversations with (its owner's other devices among them) look again.
    if before.one_time == 0
        && !before.last_resort
        && let Err(e) = announce_new_device(&state, &authed).await
    {
        // Stored either way: the others find the device the next time they look.
        tracing::warn!(error = %e, "announcing a new device failed");
    }
    Ok(Json(after))
}

/// Tells everyone in a conversation with `authed`'s user to fetch their conversations
/// again: a new device of theirs is waiting to be added.
async fn announce_new_device(state: &AppState, authed: &Authed) -> Result<()> {
    announce_devices_of(state, &authed.org.id, &authed.user_id).await
}

/// Tells the people in the care-team conversations of `clinician`'s patients (and
/// everyone else they converse with) to fetch their conversations again: the
/// clinician's devices are waiting to be added.
pub async fn announce_care_team(state: &AppState, org: &Id, clinician: &Id) -> Result<()> {
    announce_devices_of(state, org, clinician).await
}

/// The most people told at once that someone's devices wait to join (a nudge: the rest
/// see them on their next look).
const MAX_ANNOUNCED: i64 = 1000;

/// `user`'s devices may be waiting to join conversations: everyone who shares one with
/// them, and everyone in a care-team conversation about a patient of theirs, looks again.
async fn announce_devices_of(state: &AppState, org: &Id, user: &Id) -> Result<()> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT other.user_id FROM conversation_devices mine
         JOIN conversation_devices other ON other.conversation_id = mine.conversation_id
         WHERE mine.user_id = ? AND mine.left_seq IS NULL AND other.left_seq IS NULL
         UNION
         SELECT cd.user_id FROM care_team ct
         JOIN conversations c
           ON c.org_id = ct.org_id AND c.patient_id = ct.patient_id AND c.care_team = 1
         JOIN conversation_devices cd ON cd.conversation_id = c.id AND cd.left_seq IS NULL
         WHERE ct.clinician_id = ? AND ct.org_id = ?
         LIMIT ?",
    )
    .bind(user.as_str())
    .bind(user.as_str())
    .bind(org.as_str())
    .bind(MAX_ANNOUNCED)
    .fetch_all(state.db())
    .await?;
    let users: Vec<Id> = rows
        .into_iter()
        .filter_map(|(u,)| Id::parse(&u).ok())
        .collect();
    if !users.is_empty() {
        let users: Vec<&Id> = users.iter().collect();
        let frame = haven_protocol::ws::ServerFrame::Changed {
            topic: haven_protocol::ws::Topic::Conversations,
        };
        state.live().push(org, &users, &[], &frame);
    }
    Ok(())
}

/// May `caller` converse with `other` (both of the caller's organisation)? The same
/// person (their other devices); clinicians with clinicians; a clinician with a patient
/// of their care team and that patient with them.
pub async fn may_converse(
    conn: &mut SqliteConnection,
    caller: &Authed,
    other: &Id,
    other_role: Role,
) -> Result<bool> {
    if other == &caller.user_id {
        return Ok(true);
    }
    let (clinician, patient) = match (caller.role, other_role) {
        (Role::Clinician, Role::Clinician) => return Ok(true),
        (Role::Clinician, Role::Patient) => (&caller.user_id, other),
        (Role::Patient, Role::Clinician) => (other, &caller.user_id),
        _ => return Ok(false),
    };
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM care_team WHERE org_id = ? AND clinician_id = ? AND patient_id = ?",
    )
    .bind(caller.org.id.as_str())
    .bind(clinician.as_str())
    .bind(patient.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}
