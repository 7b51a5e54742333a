//! Proof of possession for device registration. The Authentication Service certifies a
//! signature key only when the caller shows that it holds the private half: a signed-in
//! session asks for a fresh challenge, and the new key signs it together with the
//! organisation and the person ([`registration_message`], defined once in
//! `crates/protocol` for the server and every client).
//!
//! Trust: nothing the caller sends is believed. A challenge is 32 random bytes kept with
//! the hash of the session it was issued to; it is taken once (deleted, whatever the
//! outcome of the registration), only by that session, and only within
//! [`DEVICE_CHALLENGE_LIFETIME_SECS`]. A key must decode to a point of the curve and not
//! be of small order (such a key "signs" almost any message), and the signature is
//! checked strictly (`verify_strict`: canonical encodings, no small-order parts). A
//! session holds at most [`MAX_OPEN_DEVICE_CHALLENGES`] unused challenges, so what is
//! stored stays bounded by the sessions open. Challenges live in the store, not in
//! memory, so any server process can take one another issued.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ed25519_dalek::{Signature, VerifyingKey};
use haven_protocol::ErrorCode;
use haven_protocol::messaging::{
    DEVICE_CHALLENGE_LIFETIME_SECS, DeviceChallenge, MAX_OPEN_DEVICE_CHALLENGES, RegisterDevice,
    RegistrationChallenge, registration_message,
};

use crate::clock::now;
use crate::error::{Error, Result};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

fn unusable_key() -> Error {
    Error::bad(
        ErrorCode::InvalidDeviceKey,
        StatusCode::UNPROCESSABLE_ENTITY,
        "This is not a usable Ed25519 public key. Create a new key for this device.",
    )
}

fn unknown_challenge() -> Error {
    Error::bad(
        ErrorCode::InvalidDeviceProof,
        StatusCode::UNPROCESSABLE_ENTITY,
        "This registration challenge is unknown, used, expired or another session's. Ask for a new one.",
    )
}

fn bad_signature() -> Error {
    Error::bad(
        ErrorCode::InvalidDeviceProof,
        StatusCode::UNPROCESSABLE_ENTITY,
        "The signature does not show that this key signed the challenge. Ask for a new challenge and sign it with the key being registered.",
    )
}

/// `POST /api/mls/devices/challenge`
pub async fn issue(State(state): State<AppState>, authed: Authed) -> Result<Json<DeviceChallenge>> {
    let challenge = RegistrationChallenge::from_bytes(crate::secrets::random_bytes::<32>()?);
    let issued = now();
    let expires_at = issued.saturating_add(DEVICE_CHALLENGE_LIFETIME_SECS);
    let mut tx = begin_write(state.db()).await?;
    // Every session's expired challenges go here, so none outlives its lifetime for long.
    sqlx::query("DELETE FROM mls_device_challenges WHERE expires_at <= ?")
        .bind(issued)
        .execute(&mut *tx)
        .await?;
    let (open,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM mls_device_challenges WHERE session_hash = ?")
            .bind(authed.session_hash.as_slice())
            .fetch_one(&mut *tx)
            .await?;
    if open >= i64::from(MAX_OPEN_DEVICE_CHALLENGES) {
        return Err(Error::bad(
            ErrorCode::TooManyRequests,
            StatusCode::TOO_MANY_REQUESTS,
            "This session has asked to register too many devices at once. Wait two minutes and try again.",
        ));
    }
    sqlx::query(
        "INSERT INTO mls_device_challenges (challenge, session_hash, expires_at) VALUES (?, ?, ?)",
    )
    .bind(challenge.as_bytes().as_slice())
    .bind(authed.session_hash.as_slice())
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(DeviceChallenge {
        challenge,
        expires_at,
    }))
}

/// Refuses a registration unless its key is a usable Ed25519 public key that signed a
/// fresh challenge of this session for this organisation and person. A challenge
/// presented by its own session is used up here, whatever is refused after.
pub async fn check(state: &AppState, authed: &Authed, request: &RegisterDevice) -> Result<()> {
    take(state, authed, &request.challenge).await?;
    let key = usable_key(request.signature_key.as_bytes())?;
    let message = registration_message(&authed.org.id, &authed.user_id, &request.challenge);
    let signature = Signature::from_bytes(request.signature.as_bytes());
    key.verify_strict(&message, &signature)
        .map_err(|_| bad_signature())
}

/// The key, if it is a point of the curve and not of small order.
fn usable_key(bytes: &[u8]) -> Result<VerifyingKey> {
    let bytes: &[u8; 32] = bytes.try_into().map_err(|_| unusable_key())?;
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| unusable_key())?;
    if key.is_weak() {
        return Err(unusable_key());
    }
    Ok(key)
}

/// Uses up `challenge` if this session holds it, and says whether it was still fresh.
async fn take(state: &AppState, authed: &Authed, challenge: &RegistrationChallenge) -> Result<()> {
    let mut tx = begin_write(state.db()).await?;
    let taken: Option<(i64,)> = sqlx::query_as(
        "DELETE FROM mls_device_challenges WHERE challenge = ? AND session_hash = ?
         RETURNING expires_at",
    )
    .bind(challenge.as_bytes().as_slice())
    .bind(authed.session_hash.as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match taken {
        Some((expires_at,)) if expires_at > now() => Ok(()),
        _ => Err(unknown_challenge()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_off_the_curve_or_of_small_order_are_unusable() {
        // y = 2 gives no x on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert!(usable_key(&off_curve).is_err());
        // The identity (y = 1) is a point, of order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(usable_key(&identity).is_err());
        assert!(usable_key(&[1; 31]).is_err());
        let real = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
        assert!(usable_key(real.as_bytes()).is_ok());
    }
}
