//! Issue 2's "Must show", in Chromium, Firefox and WebKit, against the real server
//! binary and the release build of the app.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use haven_e2e::{Browser, ServerProcess, Session, env_path};
use haven_server::ServerConfig;

/// Generates one `#[tokio::test]` per browser for a scenario `async fn(Browser)`.
macro_rules! in_every_browser {
    ($scenario:ident) => {
        mod $scenario {
            use super::*;
            #[tokio::test]
            async fn chromium() {
                super::$scenario(Browser::Chromium).await;
            }
            #[tokio::test]
            async fn firefox() {
                super::$scenario(Browser::Firefox).await;
            }
            #[tokio::test]
            async fn webkit() {
                super::$scenario(Browser::WebKit).await;
            }
        }
    };
}

async fn counter(session: &Session, attribute: &str) -> String {
    let script = format!("return document.documentElement.getAttribute('{attribute}');");
    session
        .eval(&script)
        .await
        .unwrap()
        .as_str()
        .unwrap_or("missing")
        .to_owned()
}

/// The page loads over https://, the WSS link comes up, and nothing went wrong on the
/// way: no console errors, no CSP violations (seen by the page and reported to the server).
async fn loads_over_https_with_the_link_up(browser: Browser) {
    let data = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start(data.path(), 0, &["--brand-name", "Northside Clinic"]).unwrap();
    let session = Session::start(browser).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    session
        .wait_for("#haven[data-state='ready']")
        .await
        .unwrap();
    session
        .wait_for("#link-status[data-link='open']")
        .await
        .unwrap();

    assert_eq!(
        session.text("#link-status").await.unwrap(),
        "Connected securely"
    );
    assert!(
        session
            .text(".welcome h1")
            .await
            .unwrap()
            .contains("Northside Clinic")
    );
    assert_eq!(session.client.title().await.unwrap(), "Northside Clinic");
    assert_eq!(
        counter(&session, "data-csp-violations").await,
        "0",
        "{}",
        browser.name()
    );
    assert_eq!(
        counter(&session, "data-errors").await,
        "0",
        "{}",
        browser.name()
    );
    let console = session.console_errors().await.unwrap();
    assert!(
        console.is_empty(),
        "{}: console errors: {console:?}",
        browser.name()
    );

    // Where a browser lacks what a feature needs, the page says so plainly.
    let video = "li[data-capability='video-visits']";
    let supported = browser != Browser::WebKit; // Debian's WebKitGTK has no RTCPeerConnection
    session
        .wait_for(&format!("{video}[data-supported='{supported}']"))
        .await
        .unwrap();
    let text = session.text(video).await.unwrap();
    if supported {
        assert!(text.contains("Available"), "{text}");
    } else {
        assert!(
            text.contains("Video visits are not available in this browser"),
            "{text}"
        );
    }
    session
        .wait_for("li[data-capability='secure-storage'][data-supported='true']")
        .await
        .unwrap();

    session.close().await.unwrap();
    let logs = server.logs();
    assert!(
        !logs.contains("content security policy violation"),
        "{logs}"
    );
}
in_every_browser!(loads_over_https_with_the_link_up);

/// White label: an administrator edits the brand with a live preview; text that would be
/// too faint is named with its contrast and cannot be saved; a saved brand takes effect
/// at once, with no CSP violation; a logo is uploaded (a file of another kind is refused
/// with its reason), removed and uploaded again, and the app shows it.
#[tokio::test]
async fn an_admin_edits_the_brand_with_a_live_preview_and_faint_text_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/admin/settings")).await.unwrap();
    session.sign_in("admin@demo.haven").await.unwrap();
    session
        .click("a[data-view='/admin/settings']")
        .await
        .unwrap();
    if let Err(e) = session.wait_for("#brand[data-loaded='true']").await {
        let page = session.text("main").await.unwrap_or_default();
        panic!("{e}: {page}");
    }

    // The preview follows the picker at once.
    session
        .set_value("#brand-primary", "#5b2a86", "input")
        .await
        .unwrap();
    session
        .wait_until("return getComputedStyle(document.getElementById('brand-preview')).getPropertyValue('--haven-color-primary').trim() === '#5b2a86';")
        .await
        .unwrap();
    // Faint secondary text: named with its contrast, and the brand cannot be saved.
    session
        .set_value("#brand-text-muted", "#aaaaaa", "input")
        .await
        .unwrap();
    session
        .wait_for("#brand-contrast li[data-pass='false']")
        .await
        .unwrap();
    session.wait_for("#brand-save[disabled]").await.unwrap();
    let faint = session
        .text("#brand-contrast li[data-pass='false']")
        .await
        .unwrap();
    assert!(faint.contains("needs 4.5:1"), "{faint}");
    assert!(
        session
            .text("#brand-contrast-error")
            .await
            .unwrap()
            .contains("too faint")
    );
    // Readable again: saved, and the app takes the new colours at once.
    session
        .set_value("#brand-text-muted", "#4a4458", "input")
        .await
        .unwrap();
    session
        .wait_for("#brand-save:not([disabled])")
        .await
        .unwrap();
    session
        .fill("#brand-name", "Northside Clinic")
        .await
        .unwrap();
    session.click("#brand-save").await.unwrap();
    session
        .wait_until("return getComputedStyle(document.documentElement).getPropertyValue('--haven-color-primary').trim() === '#5b2a86';")
        .await
        .unwrap();
    // The preview's colours went through the CSSOM: nothing the CSP refused.
    assert_eq!(counter(&session, "data-csp-violations").await, "0");

    // A logo: a file that is not a PNG or an SVG is refused here, with a reason; an SVG
    // is uploaded and shown; removed, it is gone; uploaded again, the app shows it.
    let files = tempfile::tempdir().unwrap();
    let text = files.path().join("notes.txt");
    std::fs::write(&text, "not a logo").unwrap();
    let svg = files.path().join("northside.svg");
    std::fs::write(&svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20"><rect width="40" height="20" fill="purple"/></svg>"#).unwrap();
    session.choose_file("#brand-logo", &text).await.unwrap();
    session.wait_for("#brand-logo-error").await.unwrap();
    assert!(
        session
            .text("#brand-logo-error")
            .await
            .unwrap()
            .contains("PNG or SVG")
    );
    assert!(
        session
            .eval("return !document.getElementById('brand-logo-current');")
            .await
            .unwrap()
            == true
    );
    let shown = "const l = document.getElementById('brand-logo-current'); return !!l && l.complete && l.naturalWidth === 40;";
    session.choose_file("#brand-logo", &svg).await.unwrap();
    session.wait_until(shown).await.unwrap();
    session
        .wait_for("#brand-logo:not([disabled])")
        .await
        .unwrap();
    session.click("#brand-logo-remove").await.unwrap();
    session
        .wait_until("return !document.getElementById('brand-logo-current');")
        .await
        .unwrap();
    session
        .wait_for("#brand-logo:not([disabled])")
        .await
        .unwrap();
    session.choose_file("#brand-logo", &svg).await.unwrap();
    session.wait_until(shown).await.unwrap();

    session.reload().await.unwrap();
    session
        .wait_for("#haven[data-state='ready']")
        .await
        .unwrap();
    assert_eq!(session.client.title().await.unwrap(), "Northside Clinic");
    session
        .wait_until("const l = document.querySelector('img.brand-logo'); return !!l && l.complete && l.naturalWidth === 40;")
        .await
        .unwrap();
    assert_eq!(counter(&session, "data-csp-violations").await, "0");
    let console = session.console_errors().await.unwrap();
    assert!(console.is_empty(), "console errors: {console:?}");
    session.close().await.unwrap();
}

/// White label: the organisation's colours and logo, kept as data, reach the page at run
/// time (CSS custom properties set through the CSSOM, the logo from the server) with no
/// CSP violation and no rebuild.
#[tokio::test]
async fn a_brands_colours_and_logo_reach_the_page() {
    let data = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start(data.path(), 0, &["--brand-name", "Northside Clinic"]).unwrap();
    let colours = haven_protocol::BrandColours {
        primary: haven_protocol::Colour::parse("#5b2a86").unwrap(),
        page: haven_protocol::Colour::parse("#fbf8ff").unwrap(),
        ..Default::default()
    };
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20"><rect width="40" height="20" fill="purple"/></svg>"#;
    let hash = "ab".repeat(32);
    let logo = haven_e2e::Logo { hash: &hash, svg };
    haven_e2e::set_default_brand(data.path(), &colours, "en", Some(logo))
        .await
        .unwrap();

    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    session
        .wait_for("#haven[data-state='ready']")
        .await
        .unwrap();
    session
        .wait_until("const l = document.querySelector('img.brand-logo'); return !!l && l.complete && l.naturalWidth === 40;")
        .await
        .unwrap();
    let primary = session
        .eval("return getComputedStyle(document.documentElement).getPropertyValue('--haven-color-primary').trim();")
        .await
        .unwrap();
    assert_eq!(primary, "#5b2a86");
    let page = session
        .eval("return getComputedStyle(document.body).backgroundColor;")
        .await
        .unwrap();
    assert_eq!(page, "rgb(251, 248, 255)");
    assert_eq!(counter(&session, "data-csp-violations").await, "0");
    let console = session.console_errors().await.unwrap();
    assert!(console.is_empty(), "console errors: {console:?}");
    session.close().await.unwrap();
}

/// Serves the real app over TLS, but with `/api/config` replaced by `config`; counts
/// every connection made to `trap`, the insecure endpoint the configuration names.
async fn serve_with_config(
    config: serde_json::Value,
) -> (haven_server::serve::Running, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut server_config = ServerConfig::new(data.path().to_path_buf());
    server_config.listen = "127.0.0.1:0".parse().unwrap();
    server_config.static_dir = Some(env_path("HAVEN_DIST").unwrap());
    let body = Arc::new(config.to_string());
    let running = haven_server::serve::start_with(server_config, move |router| {
        router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let body = body.clone();
                async move {
                    if request.uri().path() == "/api/config" {
                        let mut response = Response::new(Body::from(body.as_str().to_owned()));
                        response
                            .headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        response
                    } else {
                        next.run(request).await
                    }
                }
            },
        ))
    })
    .await
    .unwrap();
    (running, data)
}

/// A listener that counts the connections made to it, and never answers.
fn trap() -> (u16, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, hits)
}

/// An `http://` or `ws://` endpoint in the configuration: the error screen, naming the
/// setting, and not one connection to the insecure address.
async fn an_insecure_endpoint_is_refused(browser: Browser) {
    let (trap_port, hits) = trap();
    let session = Session::start(browser).await.unwrap();
    for (field, api, ws) in [
        (
            "ws_url",
            "https://127.0.0.1/".to_owned(),
            format!("ws://127.0.0.1:{trap_port}/ws"),
        ),
        (
            "api_origin",
            format!("http://127.0.0.1:{trap_port}/"),
            "wss://127.0.0.1/ws".to_owned(),
        ),
    ] {
        let config = serde_json::json!({
            "api_origin": api,
            "ws_url": ws,
            "brand": haven_protocol::Brand::plain("Haven"),
            "idle_timeout_secs": 900,
            "embed_origins": [],
        });
        let (running, _data) = serve_with_config(config).await;
        session
            .goto(&format!("https://127.0.0.1:{}/", running.addr.port()))
            .await
            .unwrap();
        session
            .wait_for("#haven[data-state='refused']")
            .await
            .unwrap();
        session
            .wait_for("#refused[data-reason='insecure-config']")
            .await
            .unwrap();
        let reason = session.text("#refused .reason").await.unwrap();
        assert!(reason.contains(field), "{}: {reason}", browser.name());
        assert!(
            session
                .eval("return document.querySelector('#link-status');")
                .await
                .unwrap()
                .is_null()
        );
        running.shutdown(std::time::Duration::from_secs(1)).await;
    }
    // The page settled on the refusal without ever touching the insecure address.
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "{}: connected to the insecure endpoint",
        browser.name()
    );
    session.close().await.unwrap();
}
in_every_browser!(an_insecure_endpoint_is_refused);

/// The app served over plain http://127.0.0.1 (a "secure context" to browsers, but not
/// TLS) refuses to start and never asks for its configuration.
async fn a_page_not_served_over_https_is_refused(browser: Browser) {
    let data = tempfile::tempdir().unwrap();
    let db = haven_server::store::open(data.path()).await.unwrap();
    // The organisation this machine's own names reach, as `serve` makes it.
    haven_server::tenancy::ensure_default(&db, "Haven", 900)
        .await
        .unwrap();
    let assets =
        haven_server::http::assets::Assets::load(&env_path("HAVEN_DIST").unwrap()).unwrap();
    let state = haven_server::AppState::new(
        db,
        data.path().to_path_buf(),
        assets,
        None,
        std::time::Duration::from_secs(15),
        haven_server::audit::load_or_create_key(data.path()).unwrap(),
        haven_server::delivery::load_or_create_issuer(data.path()).unwrap(),
        haven_server::state::Guards::default(),
        haven_server::config::IceConfig::default(),
    );
    let config_requests = Arc::new(AtomicUsize::new(0));
    let counted = config_requests.clone();
    let router = haven_server::app(state).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let counted = counted.clone();
            async move {
                if request.uri().path().starts_with("/api/") {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                next.run(request).await.into_response()
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // The server knows each connection's address (tenancy needs it), as `serve` does.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let plain = tokio::spawn(async move { axum::serve(listener, service).await });

    let session = Session::start(browser).await.unwrap();
    session
        .goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    session
        .wait_for("#refused[data-reason='insecure-page']")
        .await
        .unwrap();
    let reason = session.text("#refused .reason").await.unwrap();
    assert!(reason.contains("https://"), "{reason}");
    assert_eq!(
        config_requests.load(Ordering::SeqCst),
        0,
        "{}",
        browser.name()
    );
    session.close().await.unwrap();
    plain.abort();
}
in_every_browser!(a_page_not_served_over_https_is_refused);

/// Kill the server (SIGKILL, as in a crash), start it again on the same port: the page
/// notices, says so, and reconnects by itself.
async fn reconnects_after_a_server_restart(browser: Browser) {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data.path(), 0, &[]).unwrap();
    let port = server.port;
    let session = Session::start(browser).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    session
        .wait_for("#link-status[data-link='open']")
        .await
        .unwrap();

    server.kill();
    session
        .wait_for("#link-status[data-link='reconnecting']")
        .await
        .unwrap();
    assert!(
        session
            .text("#link-status")
            .await
            .unwrap()
            .contains("Reconnecting")
    );

    let server = ServerProcess::start(data.path(), port, &[]).unwrap();
    assert_eq!(server.port, port);
    session
        .wait_for("#link-status[data-link='open']")
        .await
        .unwrap();
    session
        .wait_for("#haven[data-state='ready']")
        .await
        .unwrap();
    session.close().await.unwrap();
}
in_every_browser!(reconnects_after_a_server_restart);
