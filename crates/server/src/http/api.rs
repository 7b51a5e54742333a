//! The JSON API of the foundation: health, the runtime configuration, and the sink for
//! Content-Security-Policy violation reports. Later issues add their services beside it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::{IntoResponse, Response};
use haven_protocol::{ErrorCode, Health, RawRuntimeConfig};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::state::AppState;

/// CSP reports are small; anything bigger is not one.
pub const MAX_CSP_REPORT_BYTES: usize = 16 * 1024;

/// `GET /api/health`: up only when the store answers.
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>> {
    crate::store::ping(state.db()).await?;
    Ok(Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }))
}

/// `GET /api/config`: absolute secure endpoints for the origin the app was served from.
pub async fn config(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<RawRuntimeConfig>> {
    let crate::tenancy::Tenant {
        org,
        origin,
        embed_origins,
    } = crate::tenancy::resolve(&state, &headers).await?;
    let ws = origin.websocket("/ws")?;
    Ok(Json(RawRuntimeConfig {
        api_origin: origin.into(),
        ws_url: ws.into(),
        brand: crate::admin::brand::current(&state, &org).await?,
        idle_timeout_secs: org.idle_timeout_secs,
        embed_origins,
    }))
}

pub async fn not_found() -> Error {
    Error::NotFound
}

pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Reads a JSON body whose size the route's limit already bounds, keeping apart a body
/// that is too big, one that is not JSON, and JSON of the wrong shape.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::bad(
                ErrorCode::PayloadTooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            )
        } else {
            Error::bad(
                ErrorCode::InvalidBody,
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
            )
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|err| match err.classify() {
        // Our own field checks carry a message worth showing; serde's own messages can
        // quote the input, so they are not passed on.
        serde_json::error::Category::Data => {
            let text = err.to_string();
            haven_protocol::identity::FieldError::ALL
                .into_iter()
                .find(|f| text.starts_with(&f.to_string()))
                .map_or_else(
                    || {
                        Error::bad(
                            ErrorCode::InvalidBody,
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "The request body is JSON but not of the expected shape.",
                        )
                    },
                    Error::field,
                )
        }
        _ => Error::bad(
            ErrorCode::MalformedJson,
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON.",
        ),
    })
}

fn require_content_type(headers: &HeaderMap, allowed: &[&str]) -> Result<()> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence {
        Some(t) if allowed.contains(&t.as_str()) => Ok(()),
        _ => Err(Error::bad(
            ErrorCode::UnsupportedMediaType,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The request body has an unsupported content type.",
        )),
    }
}

/// The fields of a violation report we keep. Browsers send either the legacy
/// `{"csp-report": {...}}` or the Reporting API's `[{"type": "csp-violation", "body": {...}}]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CspReport {
    Legacy {
        #[serde(rename = "csp-report")]
        report: LegacyViolation,
    },
    Reporting(Vec<ReportingEntry>),
}

#[derive(Debug, Deserialize)]
struct LegacyViolation {
    #[serde(rename = "effective-directive", alias = "violated-directive")]
    directive: String,
    #[serde(rename = "blocked-uri", default)]
    blocked: String,
}

#[derive(Debug, Deserialize)]
struct ReportingEntry {
    #[serde(rename = "type")]
    kind: String,
    body: ReportingViolation,
}

#[derive(Debug, Deserialize)]
struct ReportingViolation {
    #[serde(rename = "effectiveDirective")]
    directive: String,
    #[serde(rename = "blockedURL", default)]
    blocked: String,
}

/// Only the scheme and host of a blocked URL are logged: a path or query could carry
/// something private.
fn blocked_origin(blocked: &str) -> String {
    let head = blocked.split(['/', '?', '#']).collect::<Vec<_>>();
    let origin: String = match head.as_slice() {
        [scheme, "", host, ..] => format!("{scheme}//{host}"),
        [keyword, ..] => (*keyword).to_owned(),
        [] => String::new(),
    };
    origin
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect()
}

/// `POST /api/csp-report`: a browser tells us a policy violation happened.
pub async fn csp_report(
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    require_content_type(
        &headers,
        &[
            "application/csp-report",
            "application/json",
            "application/reports+json",
        ],
    )?;
    let report: CspReport = parse_json(body)?;
    let violations: Vec<(String, String)> = match report {
        CspReport::Legacy { report } => vec![(report.directive, report.blocked)],
        CspReport::Reporting(entries) => entries
            .into_iter()
            .filter(|e| e.kind == "csp-violation")
            .map(|e| (e.body.directive, e.body.blocked))
            .collect(),
    };
    for (directive, blocked) in violations {
        let directive: String = directive
            .chars()
            .filter(|c| !c.is_control())
            .take(60)
            .collect();
        tracing::warn!(%directive, blocked = %blocked_origin(&blocked), "content security policy violation");
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_only_the_origin_of_a_blocked_url() {
        assert_eq!(
            blocked_origin("https://evil.example/p?patient=123"),
            "https://evil.example"
        );
        assert_eq!(blocked_origin("inline"), "inline");
        assert_eq!(blocked_origin(""), "");
    }
}
