//! HTTPS requests through the browser's `fetch`. Requests carry no cookies, are never
//! cached, and refuse redirects, so a response cannot move us to another address.

use haven_protocol::HttpsUrl;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCache, RequestCredentials, RequestInit, RequestMode, RequestRedirect};

/// Why a request failed. Shown to people through its `Display`, which is in their
/// language (see [`crate::i18n::http_error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The server could not be reached.
    Unreachable,
    /// The server answered with this status and no readable refusal.
    Status(u16),
    /// The server's answer was not in the expected form.
    Malformed,
    /// The server refused, with its stable code and a message written for people.
    Api {
        status: u16,
        code: haven_protocol::ErrorCode,
        message: String,
    },
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::i18n::http_error(self))
    }
}

impl std::error::Error for HttpError {}

/// `GET url`, expecting a JSON body of type `T`.
pub async fn get_json<T: DeserializeOwned>(url: &HttpsUrl) -> Result<T, HttpError> {
    let text = send(url, "GET", None, None).await?;
    serde_json::from_str(&text).map_err(|_| HttpError::Malformed)
}

/// `method url` with an optional bearer token and JSON body; an empty answer parses as
/// `()`-like `T` via `null`.
pub async fn call<T: DeserializeOwned>(
    url: &HttpsUrl,
    method: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<T, HttpError> {
    parse(&send(url, method, token, body).await?)
}

/// [`call`] without reading the answer: its text. Callers that read many kinds of answer
/// share this one request path and keep only the parsing per kind.
pub async fn call_text(
    url: &HttpsUrl,
    method: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<String, HttpError> {
    send(url, method, token, body).await
}

/// An answer's JSON as a `T`; an empty answer parses as `null` (for `()`-like `T`).
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, HttpError> {
    let text = if text.is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|_| HttpError::Malformed)
}

/// `GET url` for a text body (the audit export), with the bearer token.
pub async fn get_text(url: &HttpsUrl, token: Option<&str>) -> Result<String, HttpError> {
    send(url, "GET", token, None).await
}

/// `method url` with `bytes` of type `content_type` as the body (a file); the answer's
/// text.
pub async fn call_bytes(
    url: &HttpsUrl,
    method: &str,
    token: Option<&str>,
    bytes: &[u8],
    content_type: &str,
) -> Result<String, HttpError> {
    let body = js_sys::Uint8Array::from(bytes);
    send_body(url, method, token, Some((body.into(), content_type))).await
}

async fn send(
    url: &HttpsUrl,
    method: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<String, HttpError> {
    let body = body.map(|b| {
        (
            wasm_bindgen::JsValue::from_str(&b.to_string()),
            "application/json",
        )
    });
    send_body(url, method, token, body).await
}

/// The request itself: `body` is the body and its content type.
async fn send_body(
    url: &HttpsUrl,
    method: &str,
    token: Option<&str>,
    body: Option<(wasm_bindgen::JsValue, &str)>,
) -> Result<String, HttpError> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    init.set_redirect(RequestRedirect::Error);
    let content_type = body.as_ref().map(|(_, t)| *t);
    if let Some((body, _)) = &body {
        init.set_body(body);
    }
    let request = web_sys::Request::new_with_str_and_init(url.as_str(), &init)
        .map_err(|_| HttpError::Unreachable)?;
    let headers = request.headers();
    headers
        .set("accept", "application/json")
        .map_err(|_| HttpError::Unreachable)?;
    if let Some(token) = token {
        // The token travels only in this header: never in a URL, never in storage.
        headers
            .set("authorization", &format!("Bearer {token}"))
            .map_err(|_| HttpError::Unreachable)?;
    }
    if let Some(content_type) = content_type {
        headers
            .set("content-type", content_type)
            .map_err(|_| HttpError::Unreachable)?;
    }
    let window = web_sys::window().ok_or(HttpError::Unreachable)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| HttpError::Unreachable)?
        .dyn_into()
        .map_err(|_| HttpError::Malformed)?;
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(|_| HttpError::Malformed)?)
        .await
        .map_err(|_| HttpError::Malformed)?
        .as_string()
        .ok_or(HttpError::Malformed)?;
    if !response.ok() {
        return Err(
            match serde_json::from_str::<haven_protocol::ApiError>(&text) {
                Ok(api) => HttpError::Api {
                    status,
                    code: api.error.code,
                    message: api.error.message,
                },
                Err(_) => HttpError::Status(status),
            },
        );
    }
    Ok(text)
}
