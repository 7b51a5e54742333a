//! The ICE servers of a visit (issue 23): the configured STUN and TURN-over-TLS servers,
//! with TURN credentials in the TURN REST API form (coturn's `use-auth-secret`): the
//! username is the expiry and the person, the credential the HMAC-SHA1 of the username
//! under the secret Haven shares with the TURN server. They work until the visit ends
//! (and at most a few hours), for nobody but the visit's people.

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use haven_protocol::visits::{IceServer, IceServers};

use crate::clock::now;
use crate::error::Result;
use crate::identity::session::Authed;
use crate::state::AppState;

/// Credentials never outlive this, whatever the visit's length.
const MAX_CREDENTIAL_SECS: i64 = 4 * 3600;
/// Nor run out sooner than this (a visit ending in a minute still gets its call).
const MIN_CREDENTIAL_SECS: i64 = 10 * 60;

/// The TURN REST API credential for `username` under `secret`.
pub fn credential(secret: &[u8], username: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = ring::hmac::sign(&key, username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// `GET /api/visits/{id}/ice`: for the visit's clinician and a patient waiting or
/// admitted (not one declined or gone), while it can be taken part in.
pub async fn get(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<IceServers>> {
    let at = now();
    let mut conn = state.db().acquire().await?;
    let row = super::room::load(&mut conn, &authed, &id).await?;
    row.open_now(at)?;
    if !row.takes_part(&mut conn, &authed).await? {
        return Err(crate::error::Error::bad(
            haven_protocol::ErrorCode::Forbidden,
            axum::http::StatusCode::FORBIDDEN,
            "Enter the visit's waiting room first.",
        ));
    }
    let expires_at = row
        .ends_at()
        .clamp(at + MIN_CREDENTIAL_SECS, at + MAX_CREDENTIAL_SECS);
    let ice = state.ice();
    let (turn, stun): (Vec<_>, Vec<_>) = ice.servers.iter().cloned().partition(|s| s.is_turn());
    let mut servers = Vec::new();
    if !stun.is_empty() {
        servers.push(IceServer {
            urls: stun,
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (turn.is_empty(), &ice.turn_secret) {
        let username = format!("{expires_at}:{}", authed.user_id);
        servers.push(IceServer {
            urls: turn,
            credential: Some(credential(secret, &username)),
            username: Some(username),
        });
    }
    Ok(Json(IceServers {
        servers,
        expires_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2202's first HMAC-SHA1 test case, in the base64 coturn compares.
    #[test]
    fn the_credential_is_base64_hmac_sha1_of_the_username() {
        let secret = [0x0b_u8; 20];
        assert_eq!(
            credential(&secret, "Hi There"),
            base64::engine::general_purpose::STANDARD
                .encode(hex("b617318655057264e28bc0b6fb378c8ef146be00"))
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
