//! Issue 13's embedding "Must show", in Chromium: a partner page on another origin that
//! the organisation allowed frames Haven and receives its events, and can ask it to open
//! the messages; a page on an origin that is not allowed cannot frame it; a message
//! from a wrong origin is ignored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use fantoccini::Locator;
use haven_e2e::{Browser, ServerProcess, Session};
use haven_server::ServerConfig;

/// The partner's page: Haven in an iframe, every message it receives kept in
/// `window.events`, and a way to ask Haven to open the messages. It also frames a page
/// of another origin, which tries to command Haven behind the partner's back.
fn partner_page(haven: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>Partner</title></head><body>
<h1>Partner clinic portal</h1>
<iframe id="haven" name="haven" src="{haven}/" allow="camera; microphone; display-capture"
        title="Secure messaging" width="800" height="600"></iframe>
<iframe id="evil" title="advert" width="10" height="10"></iframe>
<script>
// The same server under its other name: another origin.
document.getElementById('evil').src = 'https://127.0.0.1:' + location.port + '/evil-frame.html';
window.events = [];
window.addEventListener('message', function (e) {{
  window.events.push({{ origin: e.origin, data: e.data }});
}});
window.openMessages = function () {{
  document.getElementById('haven').contentWindow.postMessage({{ haven: 1, type: 'open-messages' }}, '{haven}');
}};
</script></body></html>"#
    )
}

/// A frame of another origin inside the partner page: it asks Haven to open the
/// messages as if it were the partner, again and again.
const EVIL_FRAME: &str = r#"<!doctype html><html><body><script>
setInterval(function () {
  try { parent.frames['haven'].postMessage({ haven: 1, type: 'open-messages' }, '*'); } catch (e) {}
}, 50);
</script></body></html>"#;

/// A page on an origin the organisation did not allow, framing Haven.
fn blocked_page(haven: &str) -> String {
    format!(
        r#"<!doctype html><html><body>
<iframe id="haven" src="{haven}/" title="Secure messaging" width="800" height="600"></iframe>
<script>
window.events = [];
window.addEventListener('message', function (e) {{ window.events.push(e.data); }});
window.frameLoaded = false;
document.getElementById('haven').addEventListener('load', function () {{ window.frameLoaded = true; }});
</script></body></html>"#
    )
}

/// A TLS server for the partner's pages (the same listener answers as two origins:
/// `localhost` and `127.0.0.1`).
async fn partner_server(haven: String) -> (haven_server::serve::Running, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(data.path().to_path_buf());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let running = haven_server::serve::start_with(config, move |router| {
        router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let haven = haven.clone();
                async move {
                    let page = match request.uri().path() {
                        "/partner.html" => Some(partner_page(&haven)),
                        "/evil-frame.html" => Some(EVIL_FRAME.to_owned()),
                        "/blocked.html" => Some(blocked_page(&haven)),
                        _ => None,
                    };
                    match page {
                        Some(html) => {
                            let mut response = Response::new(Body::from(html));
                            response.headers_mut().insert(
                                "content-type",
                                "text/html; charset=utf-8".parse().unwrap(),
                            );
                            response
                        }
                        None => next.run(request).await,
                    }
                }
            },
        ))
    })
    .await
    .unwrap();
    (running, data)
}

async fn events(session: &Session) -> Vec<serde_json::Value> {
    let text = session
        .eval("return JSON.stringify(window.events);")
        .await
        .unwrap();
    serde_json::from_str(text.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_partner_page_embeds_haven_and_only_it_talks_to_haven() {
    let data = tempfile::tempdir().unwrap();
    let haven = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let haven_origin = haven.url("").trim_end_matches('/').to_owned();

    // The partner's server; its origin is what the organisation allows.
    let (partner, _partner_data) = partner_server(haven_origin.clone()).await;
    let partner_origin = format!("https://localhost:{}", partner.addr.port());
    let evil_origin = format!("https://127.0.0.1:{}", partner.addr.port());

    let db = haven_server::store::open(data.path()).await.unwrap();
    let (org,): (String,) = sqlx::query_as("SELECT id FROM organisations WHERE is_default = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO organisation_embed_origins (org_id, origin, created_at) VALUES (?, ?, 0)",
    )
    .bind(&org)
    .bind(&partner_origin)
    .execute(&db)
    .await
    .unwrap();

    let session = Session::start(Browser::Chromium).await.unwrap();
    session
        .goto(&format!("{partner_origin}/partner.html"))
        .await
        .unwrap();
    // Haven says it is ready, to the partner's origin.
    session
        .wait_until("return window.events.some(e => e.data && e.data.type === 'ready');")
        .await
        .unwrap();
    let ready = events(&session).await;
    assert!(
        ready.iter().all(|e| e["origin"] == haven_origin.as_str()),
        "{ready:?}"
    );
    assert_eq!(
        ready[0]["data"],
        serde_json::json!({"haven": 1, "type": "ready"})
    );

    // Signing in inside the frame is told to the partner, and nothing more about it.
    let frame = session.client.find(Locator::Id("haven")).await.unwrap();
    frame.enter_frame().await.unwrap();
    session.sign_in("patient@demo.haven").await.unwrap();
    session.client.enter_parent_frame().await.unwrap();
    session
        .wait_until("return window.events.some(e => e.data && e.data.type === 'signed-in');")
        .await
        .unwrap();
    // Meanwhile the other origin's frame has asked Haven to open the messages many
    // times, as if it were the partner: ignored.
    let frame = session.client.find(Locator::Id("haven")).await.unwrap();
    frame.enter_frame().await.unwrap();
    let route = session
        .eval("return window.location.pathname;")
        .await
        .unwrap();
    assert_ne!(route, "/messages");
    session.client.enter_parent_frame().await.unwrap();
    for event in events(&session).await {
        let keys: Vec<&String> = event["data"].as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["haven", "type", "count"].contains(&k.as_str())),
            "{event}"
        );
    }

    // The partner asks for the messages: Haven opens them.
    session
        .eval("window.openMessages(); return true;")
        .await
        .unwrap();
    let frame = session.client.find(Locator::Id("haven")).await.unwrap();
    frame.enter_frame().await.unwrap();
    session
        .wait_until("return window.location.pathname === '/messages';")
        .await
        .unwrap();
    session.client.enter_parent_frame().await.unwrap();

    // A page on an origin that was not allowed cannot frame Haven at all.
    session
        .goto(&format!("{evil_origin}/blocked.html"))
        .await
        .unwrap();
    session
        .wait_until("return window.frameLoaded === true;")
        .await
        .unwrap();
    let frame = session.client.find(Locator::Id("haven")).await.unwrap();
    frame.enter_frame().await.unwrap();
    // The browser put its own error page there: Haven's document never committed.
    let inside = session.eval("return window.location.href;").await.unwrap();
    assert!(
        !inside
            .as_str()
            .unwrap_or_default()
            .starts_with(&haven_origin),
        "Haven loaded inside a frame of {evil_origin}: {inside}"
    );
    session.client.enter_parent_frame().await.unwrap();
    assert!(events(&session).await.is_empty());
    session.close().await.unwrap();
}
