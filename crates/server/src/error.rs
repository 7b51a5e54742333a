//! The server's error type. Each variant maps to one stable [`ErrorCode`] and one
//! human message; internal causes are logged (without secrets) and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use haven_protocol::{ApiError, ErrorCode};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client asked for something that does not exist.
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The peer sent something bad; the message is safe to show and names no input.
    #[error("{message}")]
    BadRequest {
        code: ErrorCode,
        status: StatusCode,
        message: &'static str,
    },
    /// Something failed on our side. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// A quota is used up: nothing was stored; room comes back after `retry_after_secs`.
    #[error("{message}")]
    QuotaExceeded {
        message: &'static str,
        retry_after_secs: u64,
    },
}

impl Error {
    pub fn bad(code: ErrorCode, status: StatusCode, message: &'static str) -> Self {
        Self::BadRequest {
            code,
            status,
            message,
        }
    }

    pub fn unauthenticated() -> Self {
        Self::bad(
            ErrorCode::Unauthenticated,
            StatusCode::UNAUTHORIZED,
            "Sign in to continue.",
        )
    }

    pub fn session_expired() -> Self {
        Self::bad(
            ErrorCode::SessionExpired,
            StatusCode::UNAUTHORIZED,
            "Your session has ended. Please sign in again.",
        )
    }

    pub fn forbidden() -> Self {
        Self::bad(
            ErrorCode::Forbidden,
            StatusCode::FORBIDDEN,
            "Your role does not permit this.",
        )
    }

    /// The change asked for is already the state of things: nothing was done or recorded.
    pub fn no_change(message: &'static str) -> Self {
        Self::bad(ErrorCode::NoChange, StatusCode::CONFLICT, message)
    }

    pub fn conflict(code: ErrorCode, message: &'static str) -> Self {
        Self::bad(code, StatusCode::CONFLICT, message)
    }

    pub fn field(error: haven_protocol::identity::FieldError) -> Self {
        Self::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            error.message(),
        )
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn quota(message: &'static str, retry_after_secs: u64) -> Self {
        Self::QuotaExceeded {
            message,
            retry_after_secs,
        }
    }

    fn parts(&self) -> (StatusCode, ErrorCode, &str) {
        match self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "There is nothing at this address.",
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "This address does not accept that method.",
            ),
            Self::BadRequest {
                code,
                status,
                message,
            } => (*status, *code, message),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Something went wrong on the server. Please try again.",
            ),
            Self::QuotaExceeded { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::QuotaExceeded,
                message,
            ),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}

impl From<crate::secrets::SecretError> for Error {
    fn from(e: crate::secrets::SecretError) -> Self {
        Self::internal(e)
    }
}

impl From<haven_protocol::identity::FieldError> for Error {
    /// A value read back from our own store that no longer parses: a bug or a changed
    /// row, never the caller's fault.
    fn from(e: haven_protocol::identity::FieldError) -> Self {
        Self::internal(e)
    }
}

/// Values read back from our own store or configuration that do not convert: a bug or a
/// changed row, never the caller's fault.
macro_rules! internal_from {
    ($($t:ty),+) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::internal(e)
            }
        })+
    };
}

internal_from!(
    std::num::TryFromIntError,
    haven_protocol::access::UnknownRole,
    haven_protocol::UrlError
);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let (status, code, message) = self.parts();
        let mut body = ApiError::new(code, message);
        if let Self::QuotaExceeded {
            retry_after_secs, ..
        } = self
        {
            body.error.retry_after_secs = Some(retry_after_secs);
            let retry = [(
                axum::http::header::RETRY_AFTER,
                retry_after_secs.to_string(),
            )];
            return (status, retry, Json(body)).into_response();
        }
        (status, Json(body)).into_response()
    }
}
