//! The JSON API of the foundation: health, the runtime configuration, and the sink for
//! Content-Security-Policy violation reports. Later issues add their services beside it.
//!
//! Trust: violation reports come from anyone, unauthenticated, so what one can cost is
//! bounded: a few reports per address per minute are taken, a few violations of each
//! are logged, and past that the answer is `429` and nothing is written.

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
use crate::http::extract::ClientAddr;
use crate::identity::ratelimit::address_key;
use crate::state::AppState;

/// CSP reports are small; anything bigger is not one.
pub const MAX_CSP_REPORT_BYTES: usize = 16 * 1024;
/// Reports taken per address (IPv6: per /64) within [`CSP_REPORT_WINDOW_SECS`]; past
/// that, `429` and nothing logged. A browser sends one per violation (`report-uri`), so
/// this is enough to see that a page breaks its policy, and no more.
pub const CSP_REPORTS_PER_WINDOW: u32 = 10;
pub const CSP_REPORT_WINDOW_SECS: i64 = 60;
/// Violations of one report written to the log, each a line; the rest are counted in one
/// more line. A report of the Reporting API may carry hundreds.
pub const CSP_VIOLATIONS_LOGGED: usize = 3;
/// Addresses whose windows are kept at once; past it, new addresses share one budget.
const CSP_ADDRESSES: usize = 10_000;

/// How many violation reports each address sent in its current window.
#[derive(Default)]
pub struct CspReports {
    inner: std::sync::Mutex<CspWindows>,
}

#[derive(Default)]
struct CspWindows {
    /// By address key; `None` is every address that arrived while the table was full.
    windows: std::collections::HashMap<Option<std::net::IpAddr>, (i64, u32)>,
    /// When expired windows were last swept (at most once a second).
    swept_at: i64,
}

impl CspReports {
    /// Takes one report from `ip` at `now`, or `false` when its address has used its
    /// budget for this window.
    pub fn take(&self, ip: std::net::IpAddr, now: i64) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = Some(address_key(ip));
        let known = inner.windows.contains_key(&key);
        if !known && inner.windows.len() >= CSP_ADDRESSES && inner.swept_at != now {
            inner
                .windows
                .retain(|_, (start, _)| now - *start < CSP_REPORT_WINDOW_SECS);
            inner.swept_at = now;
        }
        let key = if known || inner.windows.len() < CSP_ADDRESSES {
            key
        } else {
            None
        };
        let (start, count) = inner.windows.entry(key).or_insert((now, 0));
        if now - *start >= CSP_REPORT_WINDOW_SECS {
            *start = now;
            *count = 0;
        }
        if *count >= CSP_REPORTS_PER_WINDOW {
            return false;
        }
        *count += 1;
        true
    }
}

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
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Result<Json<RawRuntimeConfig>> {
    let crate::tenancy::Tenant {
        org,
        origin,
        embed_origins,
    } = crate::tenancy::resolve(&state, &headers, client).await?;
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

/// Writes at most [`CSP_VIOLATIONS_LOGGED`] violations of one report to the log, one
/// line each, and one line counting the rest. Returns the lines written.
fn log_violations(violations: Vec<(String, String)>) -> usize {
    let total = violations.len();
    let mut lines = 0;
    for (directive, blocked) in violations.into_iter().take(CSP_VIOLATIONS_LOGGED) {
        let directive: String = directive
            .chars()
            .filter(|c| !c.is_control())
            .take(60)
            .collect();
        tracing::warn!(%directive, blocked = %blocked_origin(&blocked), "content security policy violation");
        lines += 1;
    }
    if let Some(more) = total.checked_sub(CSP_VIOLATIONS_LOGGED).filter(|n| *n > 0) {
        tracing::warn!(
            more,
            "more content security policy violations in the same report, not logged"
        );
        lines += 1;
    }
    lines
}

/// `POST /api/csp-report`: a browser tells us a policy violation happened. Only a
/// well-formed report draws on its address's budget (a malformed one is refused and
/// logs nothing); past the budget it is refused with `429` and not logged.
pub async fn csp_report(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
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
    if !state.csp_reports().take(ip, crate::clock::now()) {
        return Err(Error::bad(
            ErrorCode::TooManyRequests,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many violation reports from this address. They are taken again in a minute.",
        ));
    }
    let violations: Vec<(String, String)> = match report {
        CspReport::Legacy { report } => vec![(report.directive, report.blocked)],
        CspReport::Reporting(entries) => entries
            .into_iter()
            .filter(|e| e.kind == "csp-violation")
            .map(|e| (e.body.directive, e.body.blocked))
            .collect(),
    };
    log_violations(violations);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the events logged while it is the thread's subscriber.
    struct Lines(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Lines {
        fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_report_of_hundreds_of_violations_writes_a_few_lines() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Lines(count.clone()));
        let violations: Vec<(String, String)> = (0..230)
            .map(|i| (format!("script-src-{i}"), "https://x.example/p".to_owned()))
            .collect();
        let written = tracing::subscriber::with_default(subscriber, || log_violations(violations));
        let logged = count.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(logged, written);
        assert_eq!(logged, CSP_VIOLATIONS_LOGGED + 1);
        // A report within the cap is logged whole, without a count line.
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Lines(count.clone()));
        let one = vec![("img-src".to_owned(), String::new())];
        tracing::subscriber::with_default(subscriber, || log_violations(one));
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn reports_are_limited_per_address_and_per_ipv6_64_and_the_window_reopens() {
        let reports = CspReports::default();
        let ip: std::net::IpAddr = [203, 0, 113, 9].into();
        for _ in 0..CSP_REPORTS_PER_WINDOW {
            assert!(reports.take(ip, 100));
        }
        assert!(!reports.take(ip, 100 + CSP_REPORT_WINDOW_SECS - 1));
        assert!(reports.take([203, 0, 113, 10].into(), 101));
        assert!(reports.take(ip, 100 + CSP_REPORT_WINDOW_SECS));
        for i in 0..CSP_REPORTS_PER_WINDOW {
            let v6: std::net::IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            assert!(reports.take(v6, 5));
        }
        assert!(!reports.take("2001:db8:1:2:ffff::1".parse().unwrap(), 5));
        assert!(reports.take("2001:db8:1:3::1".parse().unwrap(), 5));
    }

    #[test]
    fn addresses_past_the_table_share_one_budget() {
        let reports = CspReports::default();
        for i in 0..CSP_ADDRESSES {
            let ip = std::net::IpAddr::V6(std::net::Ipv6Addr::new(
                0x2001,
                0xdb8,
                (i >> 16) as u16,
                i as u16,
                0,
                0,
                0,
                1,
            ));
            assert!(reports.take(ip, 0));
        }
        // Every window is still open: the newcomers share one.
        let mut taken = 0;
        for i in 0..3 * CSP_REPORTS_PER_WINDOW {
            let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, i as u8));
            if reports.take(ip, 1) {
                taken += 1;
            }
        }
        assert_eq!(taken, CSP_REPORTS_PER_WINDOW);
        // Once they have closed, a newcomer has its own window again.
        assert!(reports.take([192, 0, 2, 1].into(), CSP_REPORT_WINDOW_SECS + 1));
    }

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
