//! Start-up: decide whether it is safe to run at all, then load and parse the runtime
//! configuration. Nothing here opens a connection except through `transport/`, and no
//! connection is opened before the page itself has been found secure.

use haven_protocol::{HttpsUrl, RawRuntimeConfig, RuntimeConfig};

use crate::error::{AppError, Result};
use crate::transport::https;

/// The page's own origin, if it is a secure context served over https://.
pub(crate) fn page_origin() -> Result<HttpsUrl> {
    let window = web_sys::window().ok_or(AppError::InsecurePage {
        scheme: "unknown".into(),
    })?;
    let location = window.location();
    let protocol = location.protocol().unwrap_or_default();
    let scheme = protocol.trim_end_matches(':').to_ascii_lowercase();
    // `isSecureContext` alone would accept http://localhost; Haven wants TLS everywhere.
    if !window.is_secure_context() || scheme != "https" {
        return Err(AppError::InsecurePage { scheme });
    }
    let origin = location.origin().unwrap_or_default();
    HttpsUrl::parse(&origin).map_err(|_| AppError::InsecurePage { scheme })
}

/// Loads the configuration from the page's own origin and refuses it unless every
/// endpoint is secure.
pub async fn load_config() -> Result<RuntimeConfig> {
    let origin = page_origin()?;
    let url = origin
        .with_path("/api/config")
        .map_err(|_| AppError::InsecurePage {
            scheme: "https".into(),
        })?;
    let raw: RawRuntimeConfig = https::get_json(&url).await?;
    Ok(RuntimeConfig::try_from(raw)?)
}
