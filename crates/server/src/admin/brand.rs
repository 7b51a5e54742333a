//! White label: an organisation's name, colours, logo, support contact and default
//! language, edited by its administrators and served at run time (`/api/config`), so
//! no partner needs a build of their own. Text colours below 4.5:1 against their
//! backgrounds are refused; every change is audited, naming what changed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use haven_protocol::ErrorCode;
use haven_protocol::audit::AuditAction;
use haven_protocol::brand::{
    BrandColours, BrandUpdate, LOGO_PATH_PREFIX, Language, MAX_LOGO_BYTES, valid_support,
};
use haven_protocol::config::{Brand, valid_brand_name};
use sha2::{Digest as _, Sha256};
use sqlx::SqliteConnection;

use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;
use crate::tenancy::Org;

/// What is kept of a brand besides the name.
#[derive(Default)]
struct Stored {
    colours: BrandColours,
    support: String,
    language: Language,
    logo_hash: Option<String>,
}

async fn stored(conn: &mut SqliteConnection, org: &str) -> Result<Stored> {
    let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT colours, support, language, logo_hash FROM organisation_brands WHERE org_id = ?",
    )
    .bind(org)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((colours, support, language, logo_hash)) = row else {
        return Ok(Stored::default());
    };
    Ok(Stored {
        colours: serde_json::from_str(&colours).map_err(Error::internal)?,
        support,
        language: Language::parse(&language)
            .ok_or_else(|| Error::internal("stored brand language"))?,
        logo_hash,
    })
}

fn brand_of(name: String, stored: Stored) -> Brand {
    Brand {
        name,
        colours: stored.colours,
        logo: stored.logo_hash.map(|h| format!("{LOGO_PATH_PREFIX}{h}")),
        support: stored.support,
        language: stored.language,
    }
}

/// How `org` presents itself now.
pub async fn current(state: &AppState, org: &Org) -> Result<Brand> {
    let mut conn = state.db().acquire().await?;
    let kept = stored(&mut conn, org.id.as_str()).await?;
    Ok(brand_of(org.name.clone(), kept))
}

/// `GET /api/org/brand`
pub async fn get(State(state): State<AppState>, authed: Authed) -> Result<Json<Brand>> {
    Ok(Json(current(&state, &authed.org).await?))
}

fn invalid(message: &'static str) -> Error {
    Error::bad(
        ErrorCode::InvalidField,
        StatusCode::UNPROCESSABLE_ENTITY,
        message,
    )
}

/// Writes the brand row (keeping the logo unless `logo` says otherwise).
async fn save(
    conn: &mut SqliteConnection,
    org: &str,
    kept: &Stored,
    logo: Option<&Option<String>>,
) -> Result<()> {
    let colours = serde_json::to_string(&kept.colours).map_err(Error::internal)?;
    let logo_hash = logo.cloned().unwrap_or_else(|| kept.logo_hash.clone());
    sqlx::query(
        "INSERT INTO organisation_brands (org_id, colours, support, language, logo_hash, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id) DO UPDATE SET colours = excluded.colours,
             support = excluded.support, language = excluded.language,
             logo_hash = excluded.logo_hash, updated_at = excluded.updated_at",
    )
    .bind(org)
    .bind(colours)
    .bind(&kept.support)
    .bind(kept.language.as_str())
    .bind(logo_hash)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `PUT /api/org/brand`: name, colours, support contact and language. Saving what is
/// already saved changes and records nothing.
pub async fn update(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<BrandUpdate>,
) -> Result<Json<Brand>> {
    let name = request.name.trim().to_owned();
    if !valid_brand_name(&name) {
        return Err(invalid(
            "The name must be 1 to 80 characters, without line breaks.",
        ));
    }
    let support = request.support.trim().to_owned();
    // Empty is "none"; spaces alone are a mistake, not a choice.
    if !valid_support(&support) || (support.is_empty() && !request.support.is_empty()) {
        return Err(invalid(
            "The support contact must be empty or text of at most 200 characters, without line breaks.",
        ));
    }
    if !request.colours.contrast_failures().is_empty() {
        return Err(invalid(
            "A text colour has less than 4.5:1 contrast with the background it is shown on. Choose darker text or a lighter background (the preview shows which).",
        ));
    }
    let org = authed.org.id.as_str();
    let mut tx = begin_write(state.db()).await?;
    let (old_name,): (String,) = sqlx::query_as("SELECT name FROM organisations WHERE id = ?")
        .bind(org)
        .fetch_one(&mut *tx)
        .await?;
    let mut kept = stored(&mut tx, org).await?;
    let mut changed = Vec::new();
    if old_name != name {
        changed.push("name");
    }
    if kept.colours != request.colours {
        changed.push("colours");
    }
    if kept.support != support {
        changed.push("support contact");
    }
    if kept.language != request.language {
        changed.push("language");
    }
    kept.colours = request.colours;
    kept.support = support;
    kept.language = request.language;
    if !changed.is_empty() {
        sqlx::query("UPDATE organisations SET name = ? WHERE id = ?")
            .bind(&name)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        save(&mut tx, org, &kept, None).await?;
        let event = Event::by(&authed, AuditAction::BrandChanged)
            .detail(format!("changed: {}", changed.join(", ")))
            .from(Some(ip));
        audit::record(&mut tx, event).await?;
        tx.commit().await?;
    }
    Ok(Json(brand_of(name, kept)))
}

/// What kind of image `bytes` is, if it is one Haven shows as a logo. An SVG is taken
/// only if it carries nothing active (scripts, event handlers, embedded documents,
/// entity declarations, links out), since it is a document in its own right.
fn logo_kind(content_type: Option<&str>, bytes: &[u8]) -> Option<&'static str> {
    match content_type? {
        "image/png" => bytes
            .starts_with(b"\x89PNG\r\n\x1a\n")
            .then_some("image/png"),
        "image/svg+xml" => {
            // The SVG and XLink namespaces are names, not links: the only `http:` allowed.
            let text = std::str::from_utf8(bytes)
                .ok()?
                .to_ascii_lowercase()
                .replace("\"http://www.w3.org/2000/svg\"", "\"\"")
                .replace("\"http://www.w3.org/1999/xlink\"", "\"\"");
            let forbidden = [
                "<script",
                "javascript:",
                "<foreignobject",
                "<!entity",
                "<!doctype",
                "<iframe",
                "<embed",
                "<object",
                "data:",
                "http:",
                "https:",
                "<use",
                "<image",
                "xlink:href",
            ];
            let handler = text.match_indices("on").any(|(i, _)| {
                let before = text[..i].chars().last();
                let after: String = text[i + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                let rest = text[i + 2 + after.len()..].trim_start();
                before.is_some_and(char::is_whitespace)
                    && !after.is_empty()
                    && rest.starts_with('=')
            });
            let svg = text.contains("<svg") && text.trim_end().ends_with("</svg>");
            (svg && !handler && !forbidden.iter().any(|f| text.contains(f)))
                .then_some("image/svg+xml")
        }
        _ => None,
    }
}

/// `PUT /api/org/brand/logo`: a PNG or SVG of at most 100 KB as the request body.
pub async fn upload_logo(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<Brand>> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::bad(
                ErrorCode::PayloadTooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The logo is larger than 100 KB.",
            )
        } else {
            Error::bad(
                ErrorCode::InvalidBody,
                StatusCode::BAD_REQUEST,
                "The logo could not be read.",
            )
        }
    })?;
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(Error::bad(
            ErrorCode::PayloadTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The logo is larger than 100 KB.",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let kind = logo_kind(content_type.as_deref(), &bytes).ok_or_else(|| {
        Error::bad(
            ErrorCode::UnsupportedMediaType,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The logo must be a PNG, or an SVG without scripts, event handlers or links to elsewhere.",
        )
    })?;
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let org = authed.org.id.as_str();
    let mut tx = begin_write(state.db()).await?;
    let kept = stored(&mut tx, org).await?;
    if kept.logo_hash.as_deref() != Some(hash.as_str()) {
        // Only the current logo is kept.
        sqlx::query("DELETE FROM brand_logos WHERE org_id = ?")
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO brand_logos (org_id, hash, content_type, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(org)
        .bind(&hash)
        .bind(kind)
        .bind(bytes.as_ref())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        save(&mut tx, org, &kept, Some(&Some(hash.clone()))).await?;
        let event = Event::by(&authed, AuditAction::BrandChanged)
            .detail(format!("changed: logo ({kind}, {} bytes)", bytes.len()))
            .from(Some(ip));
        audit::record(&mut tx, event).await?;
        tx.commit().await?;
    }
    let kept = Stored {
        logo_hash: Some(hash),
        ..kept
    };
    Ok(Json(brand_of(authed.org.name.clone(), kept)))
}

/// `DELETE /api/org/brand/logo`
pub async fn remove_logo(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Brand>> {
    let org = authed.org.id.as_str();
    let mut tx = begin_write(state.db()).await?;
    let kept = stored(&mut tx, org).await?;
    if kept.logo_hash.is_some() {
        sqlx::query("DELETE FROM brand_logos WHERE org_id = ?")
            .bind(org)
            .execute(&mut *tx)
            .await?;
        save(&mut tx, org, &kept, Some(&None)).await?;
        let event = Event::by(&authed, AuditAction::BrandChanged)
            .detail("changed: logo removed")
            .from(Some(ip));
        audit::record(&mut tx, event).await?;
        tx.commit().await?;
    }
    let kept = Stored {
        logo_hash: None,
        ..kept
    };
    Ok(Json(brand_of(authed.org.name.clone(), kept)))
}

/// `GET /api/brand/logo/{hash}`: the logo of the organisation served on this host, for
/// anyone (the sign-in page shows it). Never another organisation's.
pub async fn logo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response> {
    if !haven_protocol::brand::valid_logo_path(&format!("{LOGO_PATH_PREFIX}{hash}")) {
        return Err(Error::NotFound);
    }
    let org = crate::tenancy::for_request(&state, &headers).await?;
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT content_type, bytes FROM brand_logos WHERE org_id = ? AND hash = ?")
            .bind(org.id.as_str())
            .bind(&hash)
            .fetch_optional(state.db())
            .await?;
    let (content_type, bytes) = row.ok_or(Error::NotFound)?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).map_err(Error::internal)?,
    );
    // Named by its content: it never changes.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    // Opened on its own, an image is a document: it may run nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::logo_kind;

    #[test]
    fn only_inert_images_are_logos() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert_eq!(logo_kind(Some("image/png"), png), Some("image/png"));
        assert_eq!(logo_kind(Some("image/png"), b"GIF89a"), None);
        assert_eq!(logo_kind(None, png), None);
        let plain = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4" fill="navy"/></svg>"#;
        // The namespace is a link out by the letter; a real logo must still pass.
        assert_eq!(
            logo_kind(Some("image/svg+xml"), plain),
            Some("image/svg+xml")
        );
        let inert = br#"<svg viewBox="0 0 10 10"><circle r="4" fill="navy"/></svg>"#;
        assert_eq!(
            logo_kind(Some("image/svg+xml"), inert),
            Some("image/svg+xml")
        );
        for bad in [
            &br#"<svg><script>alert(1)</script></svg>"#[..],
            br#"<svg onload="alert(1)"><circle/></svg>"#,
            br#"<svg><circle ONclick = "x"/></svg>"#,
            br#"<svg><a href="javascript:alert(1)"><circle/></a></svg>"#,
            br#"<svg><foreignObject><iframe/></foreignObject></svg>"#,
            br#"<!DOCTYPE svg [<!ENTITY x "y">]><svg></svg>"#,
            br#"<svg><image href="https://tracker.example/p.png"/></svg>"#,
            br#"<p>not svg</p>"#,
        ] {
            assert_eq!(
                logo_kind(Some("image/svg+xml"), bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
