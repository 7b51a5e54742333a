//! HTTPS requests through the browser's `fetch`. Requests carry no cookies, are never
//! cached, and refuse redirects, so a response cannot move us to another address.

use haven_protocol::HttpsUrl;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCache, RequestCredentials, RequestInit, RequestMode, RequestRedirect};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("the server could not be reached")]
    Unreachable,
    #[error("the server answered with status {0}")]
    Status(u16),
    #[error("the server's answer was not in the expected form")]
    Malformed,
}

/// `GET url`, expecting a JSON body of type `T`.
pub async fn get_json<T: DeserializeOwned>(url: &HttpsUrl) -> Result<T, HttpError> {
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    init.set_redirect(RequestRedirect::Error);
    let request = web_sys::Request::new_with_str_and_init(url.as_str(), &init)
        .map_err(|_| HttpError::Unreachable)?;
    request
        .headers()
        .set("accept", "application/json")
        .map_err(|_| HttpError::Unreachable)?;
    let window = web_sys::window().ok_or(HttpError::Unreachable)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| HttpError::Unreachable)?
        .dyn_into()
        .map_err(|_| HttpError::Malformed)?;
    if !response.ok() {
        return Err(HttpError::Status(response.status()));
    }
    let text = JsFuture::from(response.text().map_err(|_| HttpError::Malformed)?)
        .await
        .map_err(|_| HttpError::Malformed)?
        .as_string()
        .ok_or(HttpError::Malformed)?;
    serde_json::from_str(&text).map_err(|_| HttpError::Malformed)
}
