//! White label through the real server: an administrator rebrands the organisation
//! (name, colours, support contact, language, logo); the app's configuration carries it
//! at once; colours that leave text below 4.5:1, active SVGs, oversized logos and other
//! roles are refused with nothing changed; every change, and only a change, is audited;
//! a logo is served only on its own organisation's hosts, inert.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::api::{put, send, sign_in};
use crate::common::store::count;
use crate::common::{self, TestServer};

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn brand(colours: Value) -> Value {
    json!({
        "name": "  Northside Clinic ",
        "colours": colours,
        "support": "help@northside.example, 555-0100",
        "language": "es",
    })
}

fn colours(text: &str) -> Value {
    json!({
        "primary": "#5b2a86", "on_primary": "#ffffff", "page": "#fbf8ff",
        "surface": "#ffffff", "text": text, "text_muted": "#4a4458",
    })
}

async fn put_logo(
    client: &common::Client,
    token: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> common::Reply {
    let auth = format!("Bearer {token}");
    client
        .send(
            Method::PUT,
            "/api/org/brand/logo",
            &[("authorization", &auth), ("content-type", content_type)],
            bytes,
        )
        .await
}

#[tokio::test]
async fn an_admin_rebrands_the_organisation_and_every_change_is_checked_and_audited() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    haven_server::tenancy::create(&db, "Other Clinic", "other.example", 900)
        .await
        .unwrap();

    let config = client.get("/api/config").await.json();
    assert_eq!(config["brand"]["colours"]["primary"], "#0b57d0");
    assert_eq!(config["brand"]["logo"], Value::Null);
    assert_eq!(config["brand"]["language"], "en");

    // Pale text on the page: refused, nothing saved or recorded.
    let pale = put(
        &client,
        "/api/org/brand",
        Some(&admin),
        brand(colours("#b0b0b0")),
    )
    .await;
    assert_eq!(pale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pale.json()["error"]["code"], "invalid_field");
    assert!(
        pale.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4.5:1")
    );
    for (what, body) in [
        ("bad colour", brand(json!({"primary": "blue"}))),
        (
            "blank support",
            json!({"name": "N", "colours": colours("#1d1b20"), "support": "  ", "language": "en"}),
        ),
        (
            "no language",
            json!({"name": "N", "colours": colours("#1d1b20"), "support": "", "language": "fr"}),
        ),
        (
            "name with a line break",
            json!({"name": "North\nside", "colours": colours("#1d1b20"), "support": "", "language": "en"}),
        ),
    ] {
        let reply = put(&client, "/api/org/brand", Some(&admin), body).await;
        assert!(reply.status.is_client_error(), "{what}: {}", reply.status);
    }
    // Only an administrator.
    let refused = put(
        &client,
        "/api/org/brand",
        Some(&clinician),
        brand(colours("#1d1b20")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&db, "brand_changed").await, 0);
    assert_eq!(
        client.get("/api/config").await.json()["brand"]["name"],
        "Haven"
    );

    let saved = put(
        &client,
        "/api/org/brand",
        Some(&admin),
        brand(colours("#1d1b20")),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.json());
    let config = client.get("/api/config").await.json();
    assert_eq!(config["brand"]["name"], "Northside Clinic");
    assert_eq!(config["brand"]["colours"]["primary"], "#5b2a86");
    assert_eq!(
        config["brand"]["support"],
        "help@northside.example, 555-0100"
    );
    assert_eq!(config["brand"]["language"], "es");
    let entries = common::store::entries(&db, "brand_changed").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["detail"],
        "changed: name \"Northside Clinic\", colours (primary #5b2a86, page #fbf8ff, text #1d1b20, text_muted #4a4458), support contact \"help@northside.example, 555-0100\", language es"
    );
    // The same again changes and records nothing.
    let again = put(
        &client,
        "/api/org/brand",
        Some(&admin),
        brand(colours("#1d1b20")),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(count(&db, "brand_changed").await, 1);
    // The other organisation is untouched.
    let theirs = client
        .send(
            Method::GET,
            "/api/config",
            &[("host", "other.example")],
            vec![],
        )
        .await
        .json();
    assert_eq!(theirs["brand"]["name"], "Other Clinic");
    assert_eq!(theirs["brand"]["colours"]["primary"], "#0b57d0");

    // Logos: an active SVG, another type, an oversized one are refused.
    for (what, content_type, bytes, status) in [
        (
            "script",
            "image/svg+xml",
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "handler",
            "image/svg+xml",
            br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "gif",
            "image/gif",
            b"GIF89a".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "png that is not",
            "image/png",
            b"<html>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "too big",
            "image/png",
            [PNG, &vec![0u8; 100_001][..]].concat(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let reply = put_logo(&client, &admin, content_type, bytes).await;
        assert_eq!(reply.status, status, "{what}");
    }
    assert_eq!(
        put_logo(&client, &clinician, "image/png", PNG.to_vec())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count(&db, "brand_changed").await, 1);

    let set = put_logo(&client, &admin, "image/png", PNG.to_vec()).await;
    assert_eq!(set.status, StatusCode::OK);
    let path = set.json()["logo"].as_str().unwrap().to_owned();
    assert!(path.starts_with("/api/brand/logo/"), "{path}");
    assert_eq!(
        client.get("/api/config").await.json()["brand"]["logo"],
        path.as_str()
    );
    let served = client.get(&path).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(&served.body[..], PNG);
    assert_eq!(served.header("content-type"), "image/png");
    assert!(served.header("content-security-policy").contains("sandbox"));
    assert!(served.header("cache-control").contains("immutable"));
    // Not on another organisation's host, and nothing for a made-up or malformed hash.
    let elsewhere = client
        .send(Method::GET, &path, &[("host", "other.example")], vec![])
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    for bad in [
        "/api/brand/logo/00",
        &format!("/api/brand/logo/{}", "0".repeat(64)),
    ] {
        assert_eq!(client.get(bad).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let entries = common::store::entries(&db, "brand_changed").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[1]["detail"],
        format!(
            "changed: logo (image/png, {} bytes, sha256 {})",
            PNG.len(),
            path.trim_start_matches("/api/brand/logo/")
        )
    );

    // An inert SVG replaces it; the PNG is gone.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4" fill="purple"/></svg>"#;
    let replaced = put_logo(&client, &admin, "image/svg+xml", svg.to_vec()).await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(client.get(&path).await.status, StatusCode::NOT_FOUND);
    let svg_path = replaced.json()["logo"].as_str().unwrap().to_owned();
    assert_eq!(
        client.get(&svg_path).await.header("content-type"),
        "image/svg+xml; charset=utf-8"
    );

    let removed = send(
        &client,
        Method::DELETE,
        "/api/org/brand/logo",
        Some(&admin),
        None,
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(removed.json()["logo"], Value::Null);
    assert_eq!(client.get(&svg_path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&db, "brand_changed").await, 4);
    // Colours and name stay through logo changes.
    assert_eq!(
        client.get("/api/config").await.json()["brand"]["name"],
        "Northside Clinic"
    );
}

/// Embedding: an administrator names the partner origins that may frame the app; the
/// CSP of that organisation's pages names exactly those (and drops `X-Frame-Options`),
/// while every other organisation stays `'none'`. Anything but a bare https origin is
/// refused with nothing changed; the change is audited with the new list.
#[tokio::test]
async fn only_the_partner_origins_an_admin_allows_may_frame_the_app() {
    let dist = common::fake_dist();
    let dir = dist.path().to_path_buf();
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.static_dir = Some(dir);
    })
    .await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    haven_server::tenancy::create(&db, "Other Clinic", "other.example", 900)
        .await
        .unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;

    let page = client.get("/").await;
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("x-frame-options"), "DENY");

    for (what, origins) in [
        ("plain http", json!(["http://partner.example"])),
        ("a path", json!(["https://partner.example/portal"])),
        ("a wildcard", json!(["https://*.partner.example"])),
        ("everyone", json!(["*"])),
        (
            "a CSP injection",
            json!(["https://partner.example; script-src *"]),
        ),
        ("a keyword", json!(["'self'"])),
        (
            "too many",
            json!(
                (0..21)
                    .map(|i| format!("https://p{i}.example"))
                    .collect::<Vec<_>>()
            ),
        ),
    ] {
        let reply = put(
            &client,
            "/api/org/embedding",
            Some(&admin),
            json!({"origins": origins}),
        )
        .await;
        assert!(reply.status.is_client_error(), "{what}: {}", reply.status);
    }
    let refused = put(
        &client,
        "/api/org/embedding",
        Some(&clinician),
        json!({"origins": ["https://partner.example"]}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&db, "embedding_changed").await, 0);

    let saved = put(&client, "/api/org/embedding", Some(&admin), json!({"origins": ["https://Partner.Example/", "https://portal.partner.example:8443", "https://partner.example"]}))
    .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert_eq!(
        saved.json()["origins"],
        json!([
            "https://partner.example",
            "https://portal.partner.example:8443"
        ])
    );
    let page = client.get("/").await;
    assert!(
        page.header("content-security-policy").contains(
            "frame-ancestors https://partner.example https://portal.partner.example:8443;"
        ),
        "{}",
        page.header("content-security-policy")
    );
    assert!(page.headers.get("x-frame-options").is_none());
    // Another organisation on the same server is still not frameable.
    let theirs = client
        .send(Method::GET, "/", &[("host", "other.example")], vec![])
        .await;
    assert!(
        theirs
            .header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(theirs.header("x-frame-options"), "DENY");
    let entries = common::store::entries(&db, "embedding_changed").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["detail"],
        "allowed: https://partner.example https://portal.partner.example:8443"
    );
    // The same list again records nothing; an empty one closes the door again.
    let again = put(
        &client,
        "/api/org/embedding",
        Some(&admin),
        json!({"origins": ["https://partner.example", "https://portal.partner.example:8443"]}),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(count(&db, "embedding_changed").await, 1);
    let closed = put(
        &client,
        "/api/org/embedding",
        Some(&admin),
        json!({"origins": []}),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK);
    assert!(
        client
            .get("/")
            .await
            .header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(
        common::store::entries(&db, "embedding_changed").await[1]["detail"],
        "allowed: none"
    );
}

/// SVG reads `fill` as CSS, and CSS decodes escapes: `\75rl(http\3a //...)` is
/// `url(http://...)`, which a browser fetches when the logo is opened as a document. Such
/// a logo, and any other value CSS could turn into a reference, is refused with nothing
/// stored or recorded; the same logo with plain paint is taken.
#[tokio::test]
async fn an_svg_logo_whose_css_would_decode_into_a_reference_is_refused() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let logo = |fill: &str| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4" fill="{fill}"/></svg>"#
        )
        .into_bytes()
    };
    for fill in [
        r"\75rl(http\3a //evil.example/x)",
        r"\000075rl(#a)",
        r"url(http\3a //evil.example/x)",
        "url('//evil.example/x')",
        "image-set(#a 1x)",
        "expression(alert(1))",
        "rgb(var(x))",
        "red;background:url(x)",
    ] {
        let reply = put_logo(&client, &admin, "image/svg+xml", logo(fill)).await;
        assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{fill}");
        assert_eq!(reply.json()["error"]["code"], "unsupported_media_type");
    }
    assert_eq!(count(&db, "brand_changed").await, 0);
    assert_eq!(
        client.get("/api/config").await.json()["brand"]["logo"],
        Value::Null
    );
    let plain = put_logo(&client, &admin, "image/svg+xml", logo("#5b2a86")).await;
    assert_eq!(plain.status, StatusCode::OK);
}

/// Names people read cannot hide characters: a zero-width, joiner, direction or other
/// invisible format character in a brand name, the support contact or a person's name is
/// refused with nothing changed, so two names that look the same are the same.
#[tokio::test]
async fn names_with_invisible_characters_are_refused() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    for invisible in [
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{2060}',
        '\u{2064}',
        '\u{FEFF}',
        '\u{00AD}',
        '\u{180E}',
        '\u{3164}',
        '\u{E0041}',
    ] {
        let what = format!("U+{:04X}", u32::from(invisible));
        let name = format!("North{invisible}side Clinic");
        let body = json!({
            "name": name, "colours": colours("#1d1b20"), "support": "", "language": "en",
        });
        let reply = put(&client, "/api/org/brand", Some(&admin), body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "name {what}"
        );
        assert_eq!(reply.json()["error"]["code"], "invalid_field", "{what}");
        let support = format!("help@northside.example{invisible}");
        let body = json!({
            "name": "Northside Clinic", "colours": colours("#1d1b20"), "support": support,
            "language": "en",
        });
        let reply = put(&client, "/api/org/brand", Some(&admin), body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "support {what}"
        );
        let person = json!({
            "role": "patient", "email": "new.patient@example.org",
            "display_name": format!("Pat{invisible} Okafor"),
        });
        let reply =
            crate::common::api::post(&client, "/api/invitations", Some(&clinician), person).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "person {what}"
        );
        assert_eq!(reply.json()["error"]["code"], "invalid_field", "{what}");
    }
    assert_eq!(count(&db, "brand_changed").await, 0);
    assert_eq!(count(&db, "invitation_created").await, 0);
    assert_eq!(
        client.get("/api/config").await.json()["brand"]["name"],
        "Haven"
    );
}
