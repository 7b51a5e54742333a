//! The built app, held in memory and served with the right type, caching and encoding.
//!
//! The directory is read once at start: it is small and immutable for the life of the
//! process, and reading it once lets us hash trunk's inline loader script for the
//! Content-Security-Policy. Precompressed `.br` / `.gz` siblings (written by
//! `cargo xtask`) are served to browsers that accept them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    #[error("cannot read the app's files in {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the app's directory {0} has no index.html; build the app first (cargo xtask run)")]
    NoIndex(PathBuf),
}

struct Asset {
    body: Bytes,
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
    content_type: &'static str,
}

#[derive(Default)]
pub struct Assets {
    files: HashMap<String, Asset>,
    script_hashes: Vec<String>,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `sha256-...` of every inline `<script>` in `html`, as CSP wants them.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_and_more = &after[tag_end + 1..];
        let Some(close) = body_and_more.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") && !tag.contains(" src =") {
            let digest = Sha256::digest(&body_and_more.as_bytes()[..close]);
            hashes.push(format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &body_and_more[close..];
    }
    hashes
}

impl Assets {
    /// No app: only the API is served.
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn load(dir: &Path) -> Result<Self, AssetsError> {
        let mut raw: HashMap<String, Vec<u8>> = HashMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            let read_err = |source| AssetsError::Read {
                path: current.clone(),
                source,
            };
            for entry in std::fs::read_dir(&current).map_err(read_err)? {
                let entry = entry.map_err(read_err)?;
                let path = entry.path();
                if entry.file_type().map_err(read_err)?.is_dir() {
                    pending.push(path);
                    continue;
                }
                let Ok(rel) = path.strip_prefix(dir) else {
                    continue;
                };
                let Some(rel) = rel.to_str() else { continue };
                let bytes = std::fs::read(&path).map_err(|source| AssetsError::Read {
                    path: path.clone(),
                    source,
                })?;
                raw.insert(rel.replace('\\', "/"), bytes);
            }
        }
        let index = raw
            .get("index.html")
            .ok_or_else(|| AssetsError::NoIndex(dir.to_path_buf()))?;
        let script_hashes = inline_script_hashes(&String::from_utf8_lossy(index));
        let mut files = HashMap::new();
        for (name, bytes) in &raw {
            if name.ends_with(".br") || name.ends_with(".gz") {
                continue;
            }
            let sibling = |ext: &str| raw.get(&format!("{name}.{ext}")).cloned().map(Bytes::from);
            files.insert(
                name.clone(),
                Asset {
                    body: Bytes::from(bytes.clone()),
                    brotli: sibling("br"),
                    gzip: sibling("gz"),
                    content_type: content_type(name),
                },
            );
        }
        Ok(Self {
            files,
            script_hashes,
        })
    }

    pub fn script_hashes(&self) -> &[String] {
        &self.script_hashes
    }

    pub fn has_app(&self) -> bool {
        self.files.contains_key("index.html")
    }
}

/// Which encodings the client accepts (`q=0` means refused).
fn accepts(headers: &HeaderMap, encoding: &str) -> bool {
    let Some(value) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name_matches = parts
            .next()
            .is_some_and(|n| n.eq_ignore_ascii_case(encoding));
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        name_matches && !refused
    })
}

/// Fallback for every path no route claimed: the app's files, with `index.html` for
/// the app's own routes so that a reload on `/patient/visits` works.
pub async fn serve(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return Error::NotFound.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return Error::MethodNotAllowed.into_response();
    }
    // Names are looked up exactly, so nothing can escape the app's files; a dot segment
    // is still refused outright rather than quietly answered with the app.
    if path
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        return Error::NotFound.into_response();
    }
    let assets = state.assets();
    let name = path.trim_start_matches('/');
    let name = if name.is_empty() { "index.html" } else { name };
    let (name, asset) = match assets.files.get(name) {
        Some(asset) => (name, asset),
        None => {
            let last = name.rsplit('/').next().unwrap_or_default();
            match assets.files.get("index.html") {
                Some(index) if !last.contains('.') => ("index.html", index),
                _ => return Error::NotFound.into_response(),
            }
        }
    };
    let (body, encoding) = match (&asset.brotli, &asset.gzip) {
        (Some(br), _) if accepts(&headers, "br") => (br.clone(), Some("br")),
        (_, Some(gz)) if accepts(&headers, "gzip") => (gz.clone(), Some("gzip")),
        _ => (asset.body.clone(), None),
    };
    let cache = if name == "index.html" {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    let mut response = if method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body))
    };
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(encoding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html =
            r#"<html><script src="/a.js"></script><script type="module">boot()</script></html>"#;
        let hashes = inline_script_hashes(html);
        let want = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"boot()"));
        assert_eq!(hashes, vec![format!("sha256-{want}")]);
    }

    #[test]
    fn accept_encoding_honours_q_zero() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, br;q=0"),
        );
        assert!(accepts(&h, "gzip"));
        assert!(!accepts(&h, "br"));
        assert!(!accepts(&h, "deflate"));
    }
}
