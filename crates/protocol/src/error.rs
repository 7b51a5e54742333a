//! The one shape of every error the API returns: a stable machine-readable code and a
//! human message. The message is written for a person and never carries internals
//! (paths, SQL, stack traces) or anything the client sent.

use serde::{Deserialize, Serialize};

/// Stable error codes. Clients match on these, so a variant is never renamed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    MalformedJson,
    InvalidBody,
    InvalidHost,
    ForbiddenOrigin,
    WebsocketRequired,
    UnknownFrame,
    FrameTooLarge,
    TooManyRequests,
    Unauthenticated,
    SessionExpired,
    SecondFactorRequired,
    Forbidden,
    InvalidCredentials,
    InvalidCode,
    TooManyAttempts,
    InvalidField,
    InvitationInvalid,
    InvitationUsed,
    InvitationExpired,
    EmailTaken,
    NotInCareTeam,
    CannotChangeSelf,
    InvalidQuery,
    NoChange,
    InvitationRevoked,
    /// An MLS KeyPackage was refused: unreadable, badly signed, expired, another
    /// ciphersuite, or not certified for the device it was uploaded for.
    InvalidKeyPackage,
    /// The person has as many encryption devices as allowed; revoke one first.
    TooManyDevices,
    /// The encryption device was revoked or belongs to someone else.
    DeviceUnavailable,
    /// A device's signature key is not a usable Ed25519 public key (not a point of the
    /// curve, or one of small order): create a new key.
    InvalidDeviceKey,
    /// A device registration did not prove that its key signed a fresh challenge of this
    /// session: the challenge is unknown, used, expired or another session's, or the
    /// signature does not verify. Ask for a new challenge and sign it with the key.
    InvalidDeviceProof,
    /// The device already holds as many KeyPackages as allowed.
    KeyPackagePoolFull,
    /// The caller (or their device) is not a member of that conversation.
    NotAMember,
    /// A commit for an epoch that another commit already ended.
    StaleEpoch,
    /// That exact message is already in the conversation, sent by another device: a
    /// replay.
    Replayed,
    /// The MLS message cannot be taken (unreadable, another conversation's, a kind
    /// Haven does not use, or a commit that does not say what it changes).
    InvalidMessage,
    /// No organisation is served on the host the request was made to.
    UnknownClinic,
    /// The device subscribed again on another connection, which now carries its
    /// sends: this one's were refused and nothing was stored. Send them there.
    Superseded,
    /// A device, a person or the organisation has stored what it may (per day, or held
    /// at once): nothing was stored. `retry_after_secs` says when room comes back.
    QuotaExceeded,
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MalformedJson => "malformed_json",
            Self::InvalidBody => "invalid_body",
            Self::InvalidHost => "invalid_host",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::WebsocketRequired => "websocket_required",
            Self::UnknownFrame => "unknown_frame",
            Self::FrameTooLarge => "frame_too_large",
            Self::TooManyRequests => "too_many_requests",
            Self::Unauthenticated => "unauthenticated",
            Self::SessionExpired => "session_expired",
            Self::SecondFactorRequired => "second_factor_required",
            Self::Forbidden => "forbidden",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidCode => "invalid_code",
            Self::TooManyAttempts => "too_many_attempts",
            Self::InvalidField => "invalid_field",
            Self::InvitationInvalid => "invitation_invalid",
            Self::InvitationUsed => "invitation_used",
            Self::InvitationExpired => "invitation_expired",
            Self::EmailTaken => "email_taken",
            Self::NotInCareTeam => "not_in_care_team",
            Self::CannotChangeSelf => "cannot_change_self",
            Self::InvalidQuery => "invalid_query",
            Self::NoChange => "no_change",
            Self::InvitationRevoked => "invitation_revoked",
            Self::InvalidKeyPackage => "invalid_key_package",
            Self::TooManyDevices => "too_many_devices",
            Self::DeviceUnavailable => "device_unavailable",
            Self::InvalidDeviceKey => "invalid_device_key",
            Self::InvalidDeviceProof => "invalid_device_proof",
            Self::KeyPackagePoolFull => "key_package_pool_full",
            Self::NotAMember => "not_a_member",
            Self::StaleEpoch => "stale_epoch",
            Self::Replayed => "replayed",
            Self::InvalidMessage => "invalid_message",
            Self::UnknownClinic => "unknown_clinic",
            Self::Superseded => "superseded",
            Self::QuotaExceeded => "quota_exceeded",
            Self::Internal => "internal",
        }
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
        for code in [
            ErrorCode::NotFound,
            ErrorCode::MalformedJson,
            ErrorCode::UnknownFrame,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        let body =
            serde_json::to_value(ApiError::new(ErrorCode::NotFound, "No such page.")).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}
