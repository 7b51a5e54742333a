//! The one shape of every error the API returns: a stable machine-readable code and a
//! human message. The message is written for a person and never carries internals
//! (paths, SQL, stack traces) or anything the client sent.

use serde::{Deserialize, Serialize};

/// Declares the codes, each with its word on the wire, from one list.
macro_rules! codes {
    ($($(#[$meta:meta])* $variant:ident = $word:literal,)+) => {
        /// Stable error codes. Clients match on these, so a variant is never renamed.
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, Deserialize))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$meta])* $variant,)+
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)+];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }
    };
}

codes! {
    NotFound = "not_found",
    MethodNotAllowed = "method_not_allowed",
    PayloadTooLarge = "payload_too_large",
    UnsupportedMediaType = "unsupported_media_type",
    MalformedJson = "malformed_json",
    InvalidBody = "invalid_body",
    InvalidHost = "invalid_host",
    ForbiddenOrigin = "forbidden_origin",
    WebsocketRequired = "websocket_required",
    UnknownFrame = "unknown_frame",
    FrameTooLarge = "frame_too_large",
    TooManyRequests = "too_many_requests",
    Unauthenticated = "unauthenticated",
    SessionExpired = "session_expired",
    SecondFactorRequired = "second_factor_required",
    Forbidden = "forbidden",
    InvalidCredentials = "invalid_credentials",
    InvalidCode = "invalid_code",
    TooManyAttempts = "too_many_attempts",
    InvalidField = "invalid_field",
    InvitationInvalid = "invitation_invalid",
    InvitationUsed = "invitation_used",
    InvitationExpired = "invitation_expired",
    EmailTaken = "email_taken",
    NotInCareTeam = "not_in_care_team",
    CannotChangeSelf = "cannot_change_self",
    InvalidQuery = "invalid_query",
    NoChange = "no_change",
    InvitationRevoked = "invitation_revoked",
    /// An MLS KeyPackage was refused: unreadable, badly signed, expired, another
    /// ciphersuite, or not certified for the device it was uploaded for.
    InvalidKeyPackage = "invalid_key_package",
    /// The person has as many encryption devices as allowed; revoke one first.
    TooManyDevices = "too_many_devices",
    /// The encryption device was revoked or belongs to someone else.
    DeviceUnavailable = "device_unavailable",
    /// A device's signature key is not a usable Ed25519 public key (not a point of the
    /// curve, or one of small order): create a new key.
    InvalidDeviceKey = "invalid_device_key",
    /// A device registration did not prove that its key signed a fresh challenge of this
    /// session: the challenge is unknown, used, expired or another session's, or the
    /// signature does not verify. Ask for a new challenge and sign it with the key.
    InvalidDeviceProof = "invalid_device_proof",
    /// The device already holds as many KeyPackages as allowed.
    KeyPackagePoolFull = "key_package_pool_full",
    /// The caller (or their device) is not a member of that conversation.
    NotAMember = "not_a_member",
    /// A commit for an epoch that another commit already ended.
    StaleEpoch = "stale_epoch",
    /// That exact message is already in the conversation, sent by another device: a
    /// replay.
    Replayed = "replayed",
    /// The MLS message cannot be taken (unreadable, another conversation's, a kind
    /// Haven does not use, or a commit that does not say what it changes).
    InvalidMessage = "invalid_message",
    /// No organisation is served on the host the request was made to.
    UnknownClinic = "unknown_clinic",
    /// The device subscribed again on another connection, which now carries its
    /// sends: this one's were refused and nothing was stored. Send them there.
    Superseded = "superseded",
    /// A device, a person or the organisation has stored what it may (per day, or held
    /// at once): nothing was stored. `retry_after_secs` says when room comes back.
    QuotaExceeded = "quota_exceeded",
    Internal = "internal",
}

/// Read through [`ErrorCode::ALL`]: in the browser, far less code than a derived reader
/// of every code (the server derives it, for its OpenAPI document).
#[cfg(not(feature = "openapi"))]
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == word)
            .ok_or_else(|| {
                serde::de::Error::invalid_value(serde::de::Unexpected::Str(&word), &"an error code")
            })
    }
}

/// `{"error": {"code": "...", "message": "..."}}`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: ErrorBody,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// With `quota_exceeded`: seconds until the request may succeed (also in the
    /// `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorBody {
                code,
                message: message.into(),
                retry_after_secs: None,
            },
        }
    }
}

/// `GET /api/health`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes_match_as_str() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        assert!(serde_json::from_str::<ErrorCode>("\"NotFound\"").is_err());
        let body =
            serde_json::to_value(ApiError::new(ErrorCode::NotFound, "No such page.")).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}
