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
            "The name must be 1 to 80 characters, without line breaks or invisible characters.",
        ));
    }
    let support = request.support.trim().to_owned();
    // Empty is "none"; spaces alone are a mistake, not a choice.
    if !valid_support(&support) || (support.is_empty() && !request.support.is_empty()) {
        return Err(invalid(
            "The support contact must be empty or text of at most 200 characters, without line breaks or invisible characters.",
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
    // What changed, with the new values (none of it is PHI), so the log shows what
    // patients were shown and when.
    let mut changed: Vec<String> = Vec::new();
    if old_name != name {
        changed.push(format!("name {name:?}"));
    }
    if kept.colours != request.colours {
        let colours: Vec<String> = BrandColours::FIELDS
            .iter()
            .filter_map(|field| {
                let new = request.colours.get(field)?;
                (kept.colours.get(field) != Some(new)).then(|| format!("{field} {}", new.hex()))
            })
            .collect();
        changed.push(format!("colours ({})", colours.join(", ")));
    }
    if kept.support != support {
        changed.push(format!("support contact {support:?}"));
    }
    if kept.language != request.language {
        changed.push(format!("language {}", request.language.as_str()));
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

/// What kind of image `bytes` is, if it is one Haven shows as a logo.
fn logo_kind(content_type: Option<&str>, bytes: &[u8]) -> Option<&'static str> {
    match content_type? {
        "image/png" => bytes
            .starts_with(b"\x89PNG\r\n\x1a\n")
            .then_some("image/png"),
        "image/svg+xml" => std::str::from_utf8(bytes)
            .ok()
            .filter(|text| inert_svg(text))
            .map(|_| "image/svg+xml"),
        _ => None,
    }
}

/// The SVG elements a logo may use: shapes, groups, gradients, text. Nothing that
/// runs, links, embeds or animates.
const SVG_ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "title",
    "desc",
    "defs",
    "lineargradient",
    "radialgradient",
    "stop",
    "text",
    "tspan",
    "clippath",
];

/// What an attribute's value may be. SVG reads presentation attributes (`fill`,
/// `stroke`, `transform`, ...) as CSS, and CSS decodes escapes (`\75rl(` is `url(`),
/// strings and comments before it looks for a reference, so a value is checked against
/// what its attribute needs, character by character, never against a list of bad words:
/// no backslash, quote, slash, colon, `@`, `;`, `!`, `{` or `}` where CSS reads it, and a
/// parenthesis only after a function the attribute needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SvgValue {
    /// The SVG namespace, exactly.
    Namespace,
    /// Numbers, lengths, lists of them and path data: letters (units, commands,
    /// keywords), digits, spaces and `.,+-%`.
    Numbers,
    /// Keywords and ids: letters, digits, spaces and `.-_`.
    Keyword,
    /// A colour (`#hex`, a name, `rgb()`, `rgba()`, `hsl()`, `hsla()`), `none`, or
    /// `url(#id)`: a gradient or clip path of the same file.
    Paint,
    /// A colour, as a paint without `url()`.
    Colour,
    /// `url(#id)` of the same file, or a keyword.
    Reference,
    /// `matrix()`, `translate()`, `scale()`, `rotate()`, `skewX()`, `skewY()`.
    Transform,
    /// Font family names, quoted or not.
    FontFamily,
    /// Text for people (`aria-label`), which nothing reads as CSS or as an address.
    Text,
}

/// Their attributes: geometry and paint, each with what its value may be. No `href`, no
/// event handlers, no `style`.
const SVG_ATTRIBUTES: &[(&str, SvgValue)] = &[
    ("xmlns", SvgValue::Namespace),
    ("version", SvgValue::Keyword),
    ("viewbox", SvgValue::Numbers),
    ("width", SvgValue::Numbers),
    ("height", SvgValue::Numbers),
    ("x", SvgValue::Numbers),
    ("y", SvgValue::Numbers),
    ("x1", SvgValue::Numbers),
    ("y1", SvgValue::Numbers),
    ("x2", SvgValue::Numbers),
    ("y2", SvgValue::Numbers),
    ("cx", SvgValue::Numbers),
    ("cy", SvgValue::Numbers),
    ("r", SvgValue::Numbers),
    ("rx", SvgValue::Numbers),
    ("ry", SvgValue::Numbers),
    ("fx", SvgValue::Numbers),
    ("fy", SvgValue::Numbers),
    ("d", SvgValue::Numbers),
    ("points", SvgValue::Numbers),
    ("fill", SvgValue::Paint),
    ("stroke", SvgValue::Paint),
    ("stroke-width", SvgValue::Numbers),
    ("stroke-linecap", SvgValue::Keyword),
    ("stroke-linejoin", SvgValue::Keyword),
    ("stroke-miterlimit", SvgValue::Numbers),
    ("stroke-dasharray", SvgValue::Numbers),
    ("opacity", SvgValue::Numbers),
    ("fill-opacity", SvgValue::Numbers),
    ("stroke-opacity", SvgValue::Numbers),
    ("fill-rule", SvgValue::Keyword),
    ("clip-rule", SvgValue::Keyword),
    ("clip-path", SvgValue::Reference),
    ("transform", SvgValue::Transform),
    ("id", SvgValue::Keyword),
    ("offset", SvgValue::Numbers),
    ("stop-color", SvgValue::Colour),
    ("stop-opacity", SvgValue::Numbers),
    ("gradientunits", SvgValue::Keyword),
    ("gradienttransform", SvgValue::Transform),
    ("font-family", SvgValue::FontFamily),
    ("font-size", SvgValue::Numbers),
    ("font-weight", SvgValue::Keyword),
    ("text-anchor", SvgValue::Keyword),
    ("preserveaspectratio", SvgValue::Keyword),
    ("role", SvgValue::Keyword),
    ("aria-label", SvgValue::Text),
];

const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// Whether `value` is made of ASCII letters, digits, whitespace and `extra` only.
fn ascii_words(value: &str, extra: &[char]) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c.is_ascii_whitespace() || extra.contains(&c))
}

/// Whether `value` is what an attribute of `kind` may hold.
fn allowed_value(kind: SvgValue, value: &str) -> bool {
    match kind {
        SvgValue::Namespace => value == SVG_NAMESPACE,
        SvgValue::Numbers => ascii_words(value, &['.', ',', '+', '-', '%']),
        SvgValue::Keyword => ascii_words(value, &['.', '-', '_']),
        SvgValue::FontFamily => ascii_words(value, &[',', '-', '_', '\'', '"']),
        SvgValue::Paint => css_functions(value, &["url", "rgb", "rgba", "hsl", "hsla"]),
        SvgValue::Colour => css_functions(value, &["rgb", "rgba", "hsl", "hsla"]),
        SvgValue::Reference => css_functions(value, &["url"]),
        SvgValue::Transform => css_functions(
            value,
            &["matrix", "translate", "scale", "rotate", "skewx", "skewy"],
        ),
        SvgValue::Text => !value
            .chars()
            .any(|c| matches!(c, '\\' | '<' | '>') || (c.is_control() && !c.is_ascii_whitespace())),
    }
}

/// A CSS value of plain words, numbers and `#hex`, with calls to `allowed` functions
/// only (any case), none inside another: each call's arguments are numbers and words,
/// and a `url()`'s is `#` and an id, a reference within the same file.
fn css_functions(value: &str, allowed: &[&str]) -> bool {
    let plain = |c: char| {
        c.is_ascii_alphanumeric()
            || c.is_ascii_whitespace()
            || matches!(c, '#' | '.' | ',' | '+' | '-' | '%' | '_')
    };
    let mut rest = value;
    while let Some(open) = rest.find('(') {
        let head = &rest[..open];
        if !head.chars().all(plain) {
            return false;
        }
        // `head` is ASCII, so a byte after any of its characters is a boundary.
        let name_start = head
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(0, |i| i + 1);
        let name = head[name_start..].to_ascii_lowercase();
        if !allowed.contains(&name.as_str()) {
            return false;
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else {
            return false;
        };
        let arguments = &after[..close];
        let arguments_allowed = if name == "url" {
            arguments.strip_prefix('#').is_some_and(|id| {
                !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            })
        } else {
            arguments.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || c.is_ascii_whitespace()
                    || matches!(c, '.' | ',' | '+' | '-' | '%')
            })
        };
        if !arguments_allowed {
            return false;
        }
        rest = &after[close + 1..];
    }
    // A `)` without its call is not plain either.
    rest.chars().all(plain)
}

/// Whether `text` is an SVG made only of the elements and attributes above, in one
/// linear pass: no declarations, comments, processing instructions or CDATA (`<!`,
/// `<?`), no character or entity references (`&`), no namespace prefixes, attribute
/// values quoted and each what its attribute needs (so no scheme, no CSS escape, and
/// `url(` only as `url(#id)`), and the one `xmlns` the SVG namespace. Anything else is
/// refused, not cleaned.
fn inert_svg(text: &str) -> bool {
    if text.contains('&') || text.contains("<!") || text.contains("<?") {
        return false;
    }
    let mut rest = text.trim();
    if !rest.starts_with("<svg") || !rest.ends_with("</svg>") {
        return false;
    }
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            return false;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if !inert_tag(tag) {
            return false;
        }
    }
    true
}

/// One tag's inside, between `<` and `>`.
fn inert_tag(tag: &str) -> bool {
    let tag = tag.strip_prefix('/').unwrap_or(tag);
    let tag = tag.strip_suffix('/').unwrap_or(tag);
    let name_end = tag
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(tag.len());
    let name = tag[..name_end].to_ascii_lowercase();
    if !SVG_ELEMENTS.contains(&name.as_str()) {
        return false;
    }
    let mut attributes = tag[name_end..].trim_start();
    while !attributes.is_empty() {
        let Some(eq) = attributes.find('=') else {
            return false;
        };
        let attribute = attributes[..eq].trim_end().to_ascii_lowercase();
        let Some(&(_, kind)) = SVG_ATTRIBUTES
            .iter()
            .find(|(name, _)| *name == attribute.as_str())
        else {
            return false;
        };
        let after = attributes[eq + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|q| *q == '"' || *q == '\'') else {
            return false;
        };
        let Some(end) = after[1..].find(quote) else {
            return false;
        };
        let value = &after[1..1 + end];
        if !allowed_value(kind, value) {
            return false;
        }
        attributes = after[end + 2..].trim_start();
    }
    true
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
        let detail = format!(
            "changed: logo ({kind}, {} bytes, sha256 {hash})",
            bytes.len()
        );
        let logo = NewLogo {
            hash: &hash,
            kind,
            bytes: &bytes,
        };
        replace_logo(&mut tx, &authed, ip, &kept, Some(logo), detail).await?;
        tx.commit().await?;
    }
    let kept = Stored {
        logo_hash: Some(hash),
        ..kept
    };
    Ok(Json(brand_of(authed.org.name.clone(), kept)))
}

/// A logo about to be kept.
struct NewLogo<'a> {
    hash: &'a str,
    kind: &'static str,
    bytes: &'a [u8],
}

/// Within the caller's transaction: `logo` (or none) becomes the organisation's only
/// logo, the brand row points at it, and the change is audited with `detail`.
async fn replace_logo(
    tx: &mut SqliteConnection,
    authed: &Authed,
    ip: std::net::IpAddr,
    kept: &Stored,
    logo: Option<NewLogo<'_>>,
    detail: String,
) -> Result<()> {
    let org = authed.org.id.as_str();
    // Only the current logo is kept.
    sqlx::query("DELETE FROM brand_logos WHERE org_id = ?")
        .bind(org)
        .execute(&mut *tx)
        .await?;
    if let Some(logo) = &logo {
        sqlx::query(
            "INSERT INTO brand_logos (org_id, hash, content_type, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(org)
        .bind(logo.hash)
        .bind(logo.kind)
        .bind(logo.bytes)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    }
    let hash = logo.map(|l| l.hash.to_owned());
    save(tx, org, kept, Some(&hash)).await?;
    let event = Event::by(authed, AuditAction::BrandChanged)
        .detail(detail)
        .from(Some(ip));
    audit::record(tx, event).await?;
    Ok(())
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
        let detail = "changed: logo removed".to_owned();
        replace_logo(&mut tx, &authed, ip, &kept, None, detail).await?;
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
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response> {
    if !haven_protocol::brand::valid_logo_path(&format!("{LOGO_PATH_PREFIX}{hash}")) {
        return Err(Error::NotFound);
    }
    let org = crate::tenancy::for_request(&state, &headers, ip).await?;
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT content_type, bytes FROM brand_logos WHERE org_id = ? AND hash = ?")
            .bind(org.id.as_str())
            .bind(&hash)
            .fetch_optional(state.db())
            .await?;
    let (content_type, bytes) = row.ok_or(Error::NotFound)?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    let content_type = if content_type == "image/svg+xml" {
        "image/svg+xml; charset=utf-8"
    } else {
        "image/png"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Named by its content: it never changes.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    // Opened on its own, an image is a document: it may run nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; sandbox"),
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
        for good in [
            &br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4" fill="navy"/></svg>"#[..],
            br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox='0 0 10 10'>
                 <defs><linearGradient id="a"><stop offset="0" stop-color="navy"/></linearGradient></defs>
                 <g transform="translate(1 1)"><rect width="4" height="4" fill="url(#a)"/></g>
                 <text x="1" y="9" font-size="3">Clinic</text></svg>"#,
        ] {
            assert_eq!(logo_kind(Some("image/svg+xml"), good), Some("image/svg+xml"), "{}", String::from_utf8_lossy(good));
        }
        for bad in [
            &br#"<svg><script>alert(1)</script></svg>"#[..],
            br#"<svg onload="alert(1)"><circle/></svg>"#,
            br#"<svg><circle ONclick = "x"/></svg>"#,
            br#"<svg><a href="javascript:alert(1)"><circle/></a></svg>"#,
            br#"<svg><foreignObject><iframe/></foreignObject></svg>"#,
            br#"<!DOCTYPE svg [<!ENTITY x "y">]><svg></svg>"#,
            br#"<svg><image href="https://tracker.example/p.png"/></svg>"#,
            br#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:s="http://www.w3.org/2000/svg"><s:script>alert(1)</s:script></svg>"#,
            br#"<svg><set attributeName="href" to="javascript&#58;alert(1)"/></svg>"#,
            br#"<svg xmlns="http://www.w3.org/1999/xhtml"><circle/></svg>"#,
            br#"<svg><rect fill="url(//evil.example/x)"/></svg>"#,
            br#"<?xml-stylesheet href="//evil.example/x.css"?><svg></svg>"#,
            br#"<svg><style>@import '//evil.example';</style></svg>"#,
            br#"<svg><rect style="fill:red"/></svg>"#,
            br#"<svg><![CDATA[<script>]]></svg>"#,
            br#"<svg><rect width=4/></svg>"#,
            br#"<p>not svg</p>"#,
        ] {
            assert_eq!(logo_kind(Some("image/svg+xml"), bad), None, "{}", String::from_utf8_lossy(bad));
        }
        // One linear pass: 100 KB of text is inert, of handler-like attributes refused.
        let text = format!("<svg>{}</svg>", " on".repeat(33_000));
        assert_eq!(
            logo_kind(Some("image/svg+xml"), text.as_bytes()),
            Some("image/svg+xml")
        );
        let flood = format!("<svg{}></svg>", " on=\"\"".repeat(16_000));
        assert_eq!(logo_kind(Some("image/svg+xml"), flood.as_bytes()), None);
    }

    fn svg_with(attributes: &str) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="4" height="4" {attributes}/></svg>"#
        )
    }

    /// SVG reads presentation attributes as CSS, which decodes escapes before it looks for
    /// a reference: `\75rl(http\3a //...)` is `url(http://...)`, fetched when the logo is
    /// opened as a document.
    #[test]
    fn no_attribute_value_css_could_decode_into_a_reference() {
        for bad in [
            r##"fill="\75rl(http\3a //evil.example/x)""##,
            r##"fill="\75 rl(#a)""##,
            r##"fill="u\rl(#a)""##,
            r##"fill="url(\23 a)""##,
            r##"stroke="\000075rl(#a)""##,
            r##"fill='url("#a")'"##,
            r##"fill="url('//evil.example/x')""##,
            r##"fill="url(//evil.example/x)""##,
            r##"fill="url(#a""##,
            r##"fill="url(#)""##,
            r##"fill="url(#a)url(#b))""##,
            r##"fill="image-set(#a 1x)""##,
            r##"fill="-webkit-image-set(#a 1x)""##,
            r##"fill="cross-fade(#a, #b)""##,
            r##"fill="element(#a)""##,
            r##"fill="expression(alert(1))""##,
            r##"fill="rgb(var(x))""##,
            r##"fill="rgb(1,2,3))""##,
            r##"fill="/**/url(#a)""##,
            r##"fill="red;background:url(x)""##,
            r##"fill="@import x""##,
            r##"fill="red !important""##,
            r##"stop-color="url(#a)""##,
            r##"clip-path="inset(1px)""##,
            r##"clip-path="path(M0 0)""##,
            r##"transform="url(#a)""##,
            r##"transform="translate(calc(1px))""##,
            r##"transform="translate(1px) attr(x)""##,
            r##"width="calc(1px + 2px)""##,
            r##"width="attr(x)""##,
            r##"d="M0 0 url(#a)""##,
            r##"d="M0 0\4c 1 1""##,
            r##"font-family="x;src:url(//evil.example/f)""##,
            r##"font-family="\75rl""##,
            r##"id="a:b""##,
            r##"id="a\62""##,
            r##"stroke-dasharray="var(x)""##,
            r##"aria-label="a\62""##,
            r##"fill="&#117;rl(#a)""##,
            r##"fill="u&#x72;l(#a)""##,
        ] {
            let svg = svg_with(bad);
            assert_eq!(
                logo_kind(Some("image/svg+xml"), svg.as_bytes()),
                None,
                "{bad}"
            );
        }
        for good in [
            r##"fill="url(#a)""##,
            r##"fill="URL(#grad-1.b)""##,
            r##"fill="url(#a) navy""##,
            r##"fill="#5b2a86""##,
            r##"fill="none""##,
            r##"fill="currentColor""##,
            r##"fill="rgb(91, 42, 134)""##,
            r##"fill="rgba(91,42,134,0.5)""##,
            r##"stroke="hsl(270 50% 35%)""##,
            r##"stop-color="#fff""##,
            r##"clip-path="url(#c)""##,
            r##"transform="translate(1 1) rotate(-45 5 5) scale(2)""##,
            r##"transform="matrix(1,0,0,1,0,0) skewX(10)""##,
            r##"width="4.5e1px""##,
            r##"d="M0 0L10 10h-1.5v2Z""##,
            r##"stroke-dasharray="4 2""##,
            r##"opacity="50%""##,
            r##"font-family="'Open Sans', sans-serif""##,
            r##"id="logo_mark-1""##,
            r##"aria-label="Northside Clinic: logo""##,
        ] {
            let svg = svg_with(good);
            assert_eq!(
                logo_kind(Some("image/svg+xml"), svg.as_bytes()),
                Some("image/svg+xml"),
                "{good}"
            );
        }
    }
}
