//! Security headers on every response, and the one place that decides which origin a
//! request belongs to.
//!
//! The Content-Security-Policy allows scripts only from our own origin, plus the exact
//! hashes of the inline loader that trunk writes into `index.html` (no `'unsafe-inline'`),
//! and `'wasm-unsafe-eval'` so WebAssembly can be compiled. `connect-src` names our own
//! `wss://` endpoint; `frame-ancestors 'none'` until embedding exists.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use haven_protocol::HttpsUrl;

use crate::error::Error;
use crate::http::extract::ClientAddr;
use crate::state::AppState;

/// Two years, with subdomains: browsers then refuse plain HTTP to this host outright.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";
pub const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(self), display-capture=(self), \
     geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), interest-cohort=()";

/// The Content-Security-Policy for a page served under `origin`.
/// `frame_ancestors`: the partner origins allowed to embed the page; none: `'none'`.
pub fn content_security_policy(
    script_hashes: &[String],
    origin: Option<&HttpsUrl>,
    frame_ancestors: &[String],
) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        script_src.push_str(" '");
        script_src.push_str(hash);
        script_src.push('\'');
    }
    let mut connect_src = String::from("'self'");
    if let Some(ws) = origin.and_then(|o| o.websocket("").ok()) {
        // Older WebKit does not let 'self' cover wss:, so name it.
        connect_src.push(' ');
        connect_src.push_str(ws.origin().as_str());
    }
    // Only origins that parse as bare https origins were ever stored; checked again here
    // so nothing else can reach the header.
    let ancestors: Vec<String> = frame_ancestors
        .iter()
        .filter_map(|o| haven_protocol::brand::parse_embed_origin(o))
        .collect();
    let frame_ancestors = if ancestors.is_empty() {
        "'none'".to_owned()
    } else {
        ancestors.join(" ")
    };
    format!(
        "default-src 'none'; script-src {script_src}; style-src 'self'; img-src 'self' blob:; \
         font-src 'self'; connect-src {connect_src}; manifest-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {frame_ancestors}; report-uri /api/csp-report"
    )
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/ws"
}

/// What a browser shows on a host no organisation is served on. It names nothing the
/// request sent.
const UNKNOWN_CLINIC_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>No such clinic</title></head><body><main>\
<h1>No such clinic</h1>\
<p>There is no clinic at this address. Check the link your clinic gave you, \
or ask your clinic for the right address.</p></main></body></html>\n";

/// Middleware: decides which organisation the request is for (by its `Host` and, for a
/// loopback name, whether its client is this machine), answers "no such clinic" for a
/// host that serves none, and adds the security headers to whatever the inner service
/// answered, errors included. The health check answers on any host, for load balancers.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = is_api(path);
    let health = path == "/api/health";
    // Which names answer depends on who asks (a loopback name only this machine), so the
    // client's address, as `ClientAddr` decides it, goes with the host.
    let tenant = match ClientAddr::of(&state, req.extensions(), req.headers()) {
        Ok(ClientAddr(client)) => crate::tenancy::resolve(&state, req.headers(), client).await,
        Err(error) => Err(error),
    };
    let (origin, embedders, refusal) = match tenant {
        Ok(tenant) => (Some(tenant.origin), tenant.embed_origins, None),
        Err(error) => (None, Vec::new(), Some(error)),
    };
    let mut response = match refusal {
        Some(Error::BadRequest { status, .. }) if !health && !api => {
            let mut page = Response::new(axum::body::Body::from(UNKNOWN_CLINIC_PAGE));
            *page.status_mut() = status;
            page.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            page
        }
        Some(error) if !health => error.into_response(),
        _ => next.run(req).await,
    };
    let csp = content_security_policy(state.assets().script_hashes(), origin.as_ref(), &embedders);
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::STRICT_TRANSPORT_SECURITY, HSTS),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // For browsers without `frame-ancestors`; where partners may embed, the CSP decides.
    if embedders.is_empty() {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    // A handler may have set a stricter policy of its own (a logo: `sandbox`).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(value) = HeaderValue::from_str(&csp)
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // API answers are not kept, except what a handler marks as immutable (a logo).
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_has_no_unsafe_inline_and_names_the_wss_origin() {
        let origin = HttpsUrl::parse("https://haven.example:8443").unwrap();
        let csp = content_security_policy(&["sha256-abc=".into()], Some(&origin), &[]);
        assert!(!csp.contains("unsafe-inline"));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='"));
        assert!(csp.contains("connect-src 'self' wss://haven.example:8443;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        let partners = [
            "https://partner.example".to_owned(),
            "https://x.example; script-src *".to_owned(),
        ];
        let csp = content_security_policy(&[], Some(&origin), &partners);
        assert!(
            csp.contains("frame-ancestors https://partner.example;"),
            "{csp}"
        );
        assert!(!csp.contains("script-src *"), "{csp}");
    }
}
