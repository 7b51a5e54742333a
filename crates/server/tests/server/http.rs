//! The HTTP surface through the real TLS listener: security headers on every response,
//! the configuration endpoint, the app's files, and a clear error for every bad input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use crate::common;

use common::{TestServer, fake_dist};
use haven_protocol::{RawRuntimeConfig, RuntimeConfig};
use hyper::{Method, StatusCode};

type Headers<'a> = Vec<(&'a str, &'a str)>;
/// method, path, headers, body
type Case<'a> = (Method, &'a str, Headers<'a>, Vec<u8>);

fn case<'a>(
    method: Method,
    path: &'a str,
    headers: Headers<'a>,
    body: Vec<u8>,
    status: StatusCode,
    code: &'a str,
) -> (Case<'a>, StatusCode, &'a str) {
    ((method, path, headers, body), status, code)
}

fn assert_security_headers(what: &str, reply: &common::Reply) {
    let hsts = reply.header("strict-transport-security");
    let max_age: u64 = hsts
        .split(';')
        .find_map(|p| p.trim().strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: HSTS without max-age: {hsts}"));
    assert!(
        max_age >= 31_536_000,
        "{what}: HSTS max-age {max_age} under a year"
    );
    let csp = reply.header("content-security-policy");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("{what}: CSP without script-src: {csp}"));
    assert!(
        !script_src.contains("unsafe-inline"),
        "{what}: {script_src}"
    );
    assert!(
        !script_src.contains("'unsafe-eval'"),
        "{what}: {script_src}"
    );
    assert!(
        script_src.contains("'wasm-unsafe-eval'"),
        "{what}: {script_src}"
    );
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(reply.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(
        reply.header("cross-origin-opener-policy"),
        "same-origin",
        "{what}"
    );
    let permissions = reply.header("permissions-policy");
    for feature in [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=(self)",
    ] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
}

async fn start_with_app() -> (TestServer, tempfile::TempDir) {
    let dist = fake_dist();
    let dir = dist.path().to_path_buf();
    let server = TestServer::start_with(|c| c.static_dir = Some(dir)).await;
    (server, dist)
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (server, _dist) = start_with_app().await;
    let client = server.client();
    let json = [("content-type", "application/json")];
    let cases: Vec<Case> = vec![
        (Method::GET, "/", vec![], vec![]),
        (Method::GET, "/index.html", vec![], vec![]),
        (Method::GET, "/patient/visits", vec![], vec![]),
        (
            Method::GET,
            "/app_bg.wasm",
            vec![("accept-encoding", "br")],
            vec![],
        ),
        (Method::GET, "/missing.js", vec![], vec![]),
        (Method::GET, "/api/health", vec![], vec![]),
        (Method::GET, "/api/config", vec![], vec![]),
        (Method::GET, "/api/unknown", vec![], vec![]),
        (Method::POST, "/api/health", vec![], vec![]),
        (
            Method::POST,
            "/api/csp-report",
            json.to_vec(),
            b"{".to_vec(),
        ),
        (Method::GET, "/ws", vec![], vec![]),
        (Method::HEAD, "/", vec![], vec![]),
    ];
    for (method, path, headers, body) in cases {
        let reply = client.send(method.clone(), path, &headers, body).await;
        let what = format!("{method} {path} -> {}", reply.status);
        assert_security_headers(&what, &reply);
        if path.starts_with("/api/") || path == "/ws" {
            assert_eq!(reply.header("cache-control"), "no-store", "{what}");
        }
    }
}

#[tokio::test]
async fn the_csp_allows_exactly_the_inline_loader() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (server, _dist) = start_with_app().await;
    let reply = server.client().get("/").await;
    assert_eq!(reply.status, StatusCode::OK);
    let want = base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(common::INLINE_LOADER.as_bytes()));
    let csp = reply.header("content-security-policy");
    assert!(csp.contains(&format!("'sha256-{want}'")), "{csp}");
    assert!(
        csp.contains(&format!(
            "connect-src 'self' wss://localhost:{}",
            server.port()
        )),
        "{csp}"
    );
}

#[tokio::test]
async fn serves_the_app_its_routes_and_compressed_files() {
    let (server, _dist) = start_with_app().await;
    let client = server.client();
    let route = client.get("/clinician/waiting-room").await;
    assert_eq!(route.status, StatusCode::OK);
    assert!(route.header("content-type").starts_with("text/html"));
    assert!(String::from_utf8_lossy(&route.body).contains("<script type=\"module\">"));

    let br = client
        .send(
            Method::GET,
            "/app_bg.wasm",
            &[("accept-encoding", "gzip, br")],
            vec![],
        )
        .await;
    assert_eq!(br.header("content-encoding"), "br");
    assert_eq!(br.header("content-type"), "application/wasm");
    assert_eq!(&br.body[..], b"BROTLI");
    let plain = client
        .send(
            Method::GET,
            "/app_bg.wasm",
            &[("accept-encoding", "br;q=0")],
            vec![],
        )
        .await;
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(&plain.body[..], b"\0asm\x01\0\0\0");
}

/// Tenancy by host: each organisation on its own host names, each with its own origin,
/// from one server; the default one on its public origin (and this machine's loopback
/// names); any other host is "no such clinic", for pages, the API and the WebSocket
/// alike, while the health check answers everywhere. A session works only on the
/// hosts of its own organisation.
#[tokio::test]
async fn each_organisation_is_served_on_its_own_hosts_and_no_clinic_on_any_other() {
    let dist = fake_dist();
    let dir = dist.path().to_path_buf();
    let server = TestServer::start_with(|c| {
        c.public_origin = Some("https://portal.clinic.example".parse().unwrap());
        c.brand_name = "Haven Clinic".into();
        c.static_dir = Some(dir);
        c.demo = true;
    })
    .await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let northside =
        haven_server::tenancy::create(&db, "Northside Clinic", "Northside.Example:9443", 900)
            .await
            .unwrap();
    haven_server::demo::seed(&db, &northside).await.unwrap();
    haven_server::tenancy::add_host(
        &db,
        &northside,
        &"https://care.northside.example".parse().unwrap(),
        &"https://care.northside.example".parse().unwrap(),
    )
    .await
    .unwrap();
    // More host names for one organisation are fine; a host already serving one is refused.
    assert!(
        haven_server::tenancy::add_host(
            &db,
            &northside,
            &"https://portal.northside.example".parse().unwrap(),
            &"https://portal.northside.example".parse().unwrap(),
        )
        .await
        .is_ok()
    );
    assert!(
        haven_server::tenancy::create(&db, "Copycat", "northside.example:9443", 900)
            .await
            .is_err()
    );

    async fn config_on(client: &common::Client, host: &str) -> RuntimeConfig {
        let reply = client
            .send(Method::GET, "/api/config", &[("host", host)], vec![])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{host}");
        let raw: RawRuntimeConfig = serde_json::from_slice(&reply.body).unwrap();
        RuntimeConfig::try_from(raw).unwrap()
    }
    let config = config_on(&client, "northside.example:9443").await;
    assert_eq!(config.brand.name, "Northside Clinic");
    assert_eq!(
        config.api_origin.as_str(),
        "https://northside.example:9443/"
    );
    assert_eq!(config.ws_url.as_str(), "wss://northside.example:9443/ws");
    let config = config_on(&client, "care.northside.example").await;
    assert_eq!(config.brand.name, "Northside Clinic");
    assert_eq!(config.ws_url.as_str(), "wss://care.northside.example/ws");
    let config = config_on(&client, "portal.clinic.example").await;
    assert_eq!(config.brand.name, "Haven Clinic");
    assert_eq!(config.api_origin.as_str(), "https://portal.clinic.example/");
    // With a public origin set, the default organisation is reached by that name only:
    // a loopback name (as a proxy on this machine might forward) is no clinic.
    let config = client.get("/api/config").await;
    assert_eq!(config.status, StatusCode::NOT_FOUND);
    assert_eq!(config.json()["error"]["code"], "unknown_clinic");

    // The app's page and its CSP on a partner's host name that partner's endpoint.
    let page = client
        .send(
            Method::GET,
            "/",
            &[("host", "northside.example:9443")],
            vec![],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-security-policy")
            .contains("connect-src 'self' wss://northside.example:9443;")
    );

    // Any other host: no clinic there, whatever is asked.
    let unknown = "Clinic.Example:9443";
    let page = client
        .send(Method::GET, "/", &[("host", unknown)], vec![])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.header("content-type").starts_with("text/html"));
    let text = String::from_utf8_lossy(&page.body);
    assert!(text.contains("No such clinic"), "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("clinic.example"),
        "{text}"
    );
    assert_security_headers("no such clinic", &page);
    let deep = client
        .send(Method::GET, "/messages", &[("host", unknown)], vec![])
        .await;
    assert_eq!(deep.status, StatusCode::NOT_FOUND);
    for path in ["/api/config", "/app_bg.wasm"] {
        let reply = client
            .send(Method::GET, path, &[("host", unknown)], vec![])
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let api = client
        .send(Method::GET, "/api/config", &[("host", unknown)], vec![])
        .await;
    assert_eq!(api.json()["error"]["code"], "unknown_clinic");
    let login = common::api::send(
        &client,
        Method::POST,
        "/api/auth/login",
        None,
        Some(serde_json::json!({"email": "admin@demo.haven", "password": "x"})),
        Some(unknown),
    )
    .await;
    assert_eq!(login.json()["error"]["code"], "unknown_clinic");
    let health = client
        .send(Method::GET, "/api/health", &[("host", unknown)], vec![])
        .await;
    assert_eq!(health.status, StatusCode::OK);

    // A session of one organisation is nothing on the other's hosts, either way.
    let theirs =
        common::api::sign_in(&client, "admin@demo.haven", Some("care.northside.example")).await;
    let ours =
        common::api::sign_in(&client, "admin@demo.haven", Some("portal.clinic.example")).await;
    for (token, host, status) in [
        (&theirs, "northside.example:9443", StatusCode::OK),
        (&theirs, "portal.clinic.example", StatusCode::UNAUTHORIZED),
        (&ours, "portal.clinic.example", StatusCode::OK),
        (&ours, "care.northside.example", StatusCode::UNAUTHORIZED),
    ] {
        let reply = common::api::send(
            &client,
            Method::GET,
            "/api/session",
            Some(token),
            None,
            Some(host),
        )
        .await;
        assert_eq!(reply.status, status, "{host}");
    }
}

#[tokio::test]
async fn health_reports_ok() {
    let server = TestServer::start().await;
    let reply = server.client().get("/api/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
}

/// Every bad input gets its own stable code and a human message, leaks nothing, and
/// leaves the server serving.
#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let (server, _dist) = start_with_app().await;
    let client = server.client();
    let csp = ("content-type", "application/csp-report");
    let big = vec![b' '; 20 * 1024];
    let huge = vec![b' '; 200 * 1024];
    let ws_upgrade: &[(&str, &str)] = &[
        ("connection", "upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("origin", "https://evil.example"),
    ];
    let cases: Vec<(Case, StatusCode, &str)> = vec![
        case(
            Method::GET,
            "/api/nope",
            vec![],
            vec![],
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        case(
            Method::GET,
            "/api",
            vec![],
            vec![],
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        case(
            Method::GET,
            "/api/health/../config",
            vec![],
            vec![],
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        case(
            Method::GET,
            "/nothing-here.wasm",
            vec![],
            vec![],
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        case(
            Method::GET,
            "/../../etc/passwd",
            vec![],
            vec![],
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        case(
            Method::DELETE,
            "/api/config",
            vec![],
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        case(
            Method::POST,
            "/api/health",
            vec![],
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        case(
            Method::GET,
            "/api/csp-report",
            vec![],
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        case(
            Method::PUT,
            "/",
            vec![],
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![("content-type", "text/plain")],
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![],
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            b"{".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            b"not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            vec![0xff, 0xfe],
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            br#"{"x":1}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            br#"{"csp-report":{"effective-directive":7}}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        case(
            Method::POST,
            "/api/csp-report",
            vec![csp],
            huge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        case(
            Method::GET,
            "/api/config",
            vec![("host", "evil host")],
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_host",
        ),
        case(
            Method::GET,
            "/api/config",
            vec![("host", "user@evil.example")],
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_host",
        ),
        case(
            Method::GET,
            "/api/config",
            vec![("host", "<script>")],
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_host",
        ),
        case(
            Method::GET,
            "/ws",
            vec![],
            vec![],
            StatusCode::BAD_REQUEST,
            "websocket_required",
        ),
        case(
            Method::GET,
            "/ws",
            ws_upgrade.to_vec(),
            vec![],
            StatusCode::FORBIDDEN,
            "forbidden_origin",
        ),
    ];
    for ((method, path, headers, body), status, code) in cases {
        let what = format!("{method} {path} {headers:?}");
        let reply = client.send(method, path, &headers, body).await;
        assert_eq!(reply.status, status, "{what}");
        assert!(
            reply.header("content-type").starts_with("application/json"),
            "{what}"
        );
        let json = reply.json();
        assert_eq!(json["error"]["code"], code, "{what}");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(
            message.len() > 10 && message.ends_with('.'),
            "{what}: {message}"
        );
        for leak in [
            "sqlx", "sqlite", "/tmp", "panicked", "evil", "<script>", "Error(",
        ] {
            assert!(!message.contains(leak), "{what}: {message}");
        }
    }
    // A well-formed report is taken, and the server is still healthy.
    let ok = client
        .send(
            Method::POST,
            "/api/csp-report",
            &[csp],
            br#"{"csp-report":{"effective-directive":"script-src-elem","blocked-uri":"inline"}}"#
                .to_vec(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(client.get("/api/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_plain_client_is_trusted_only_with_the_certificate() {
    let server = TestServer::start().await;
    let other = tempfile::tempdir().unwrap();
    let stranger = TestServer::start_with(|c| c.data_dir = other.path().to_path_buf()).await;
    // A client that trusts another server's certificate cannot talk to this one.
    let tcp = tokio::net::TcpStream::connect(server.running.addr)
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(common::client_config(
        stranger.running.leaf.clone(),
        &[&rustls::version::TLS13],
    )));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    assert!(connector.connect(name, tcp).await.is_err());
}

/// One violation report from `from`, as a trusted proxy on this machine forwards it.
async fn csp_report_from(client: &common::Client, from: &str, body: Vec<u8>) -> common::Reply {
    client
        .send(
            Method::POST,
            "/api/csp-report",
            &[
                ("content-type", "application/json"),
                ("host", "portal.clinic.example"),
                ("x-forwarded-for", from),
            ],
            body,
        )
        .await
}

/// The log lines of this test binary that contain `text`.
fn logged_lines_with(text: &str) -> usize {
    let logs = crate::identity::log_buffer();
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    logs.lines().filter(|line| line.contains(text)).count()
}

/// Anyone can send violation reports, so one can cost only so much: a 16 KB report of
/// 230 violations writes a few log lines, not 230, and past a few reports a minute from
/// one address (IPv6: one /64) the answer is 429 and nothing more is logged, while other
/// addresses are still heard.
#[tokio::test]
async fn a_flood_of_csp_reports_writes_a_bounded_number_of_log_lines() {
    use haven_server::http::api::{
        CSP_REPORTS_PER_WINDOW, CSP_VIOLATIONS_LOGGED, MAX_CSP_REPORT_BYTES,
    };
    crate::identity::log_buffer();
    let server = TestServer::start_with(|c| {
        c.public_origin = Some("https://portal.clinic.example".parse().unwrap());
        c.guards.trusted_proxies =
            vec![haven_server::http::extract::Cidr::parse("127.0.0.1/32").unwrap()];
    })
    .await;
    let client = server.client();
    // Markers no other test logs.
    let marker = format!("zq{}", server.port());
    let late = format!("zqlate{}", server.port());

    let entries: Vec<serde_json::Value> = (0..230)
        .map(|i| {
            serde_json::json!({
                "type": "csp-violation",
                "body": {"effectiveDirective": format!("{marker}-{i}")},
            })
        })
        .collect();
    let flood = serde_json::to_vec(&entries).unwrap();
    assert!(flood.len() <= MAX_CSP_REPORT_BYTES, "{}", flood.len());
    let reply = csp_report_from(&client, "203.0.113.9", flood).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        logged_lines_with(&format!("{marker}-")),
        CSP_VIOLATIONS_LOGGED
    );
    assert_eq!(logged_lines_with("more=227"), 1);

    let one = |directive: &str| {
        serde_json::to_vec(&serde_json::json!({
            "csp-report": {"effective-directive": directive, "blocked-uri": "https://x.example/a"}
        }))
        .unwrap()
    };
    // The flood was one of this address's reports.
    for i in 1..CSP_REPORTS_PER_WINDOW {
        let reply = csp_report_from(&client, "203.0.113.9", one("img-src")).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "report {i}");
    }
    let refused = csp_report_from(&client, "203.0.113.9", one(late.as_str())).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json()["error"]["code"], "too_many_requests");
    assert_eq!(logged_lines_with(&late), 0, "a refused report was logged");
    // Another address is heard.
    let other = csp_report_from(&client, "203.0.113.10", one("img-src")).await;
    assert_eq!(other.status, StatusCode::NO_CONTENT);

    // IPv6: the budget is the /64's, however many addresses it rotates through.
    for i in 0..CSP_REPORTS_PER_WINDOW {
        let from = format!("2001:db8:aa:bb::{:x}", i + 1);
        let reply = csp_report_from(&client, &from, one("img-src")).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{from}");
    }
    let same_64 = csp_report_from(&client, "2001:db8:aa:bb:ffff:1:2:3", one(late.as_str())).await;
    assert_eq!(same_64.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(logged_lines_with(&late), 0, "a refused report was logged");
    let next_64 = csp_report_from(&client, "2001:db8:aa:bc::1", one("img-src")).await;
    assert_eq!(next_64.status, StatusCode::NO_CONTENT);
}

/// Without `--public-origin` the default organisation answers on the loopback names for
/// this machine only. A client elsewhere that writes `Host: localhost` (here one a
/// trusted proxy on this machine forwards, as a remote peer looks to the server) gets no
/// clinic by any way in: configuration, page, sign-in, WebSocket; the same request from
/// this machine works.
#[tokio::test]
async fn loopback_names_reach_the_default_organisation_only_from_this_machine() {
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.guards.trusted_proxies =
            vec![haven_server::http::extract::Cidr::parse("127.0.0.0/8").unwrap()];
    })
    .await;
    let client = server.client();
    let port = server.port();
    let localhost = format!("localhost:{port}");
    let v4 = format!("127.0.0.1:{port}");
    let v6 = format!("[::1]:{port}");
    let login =
        serde_json::json!({"email": "patient@demo.haven", "password": "demo patient password"})
            .to_string()
            .into_bytes();
    let ws_upgrade: [(&str, &str); 4] = [
        ("connection", "upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    // From this machine (directly, or forwarded for a client on this machine): served.
    for forwarded in [None, Some("127.0.0.1"), Some("::1")] {
        let mut headers = vec![("host", localhost.as_str())];
        headers.extend(forwarded.map(|f| ("x-forwarded-for", f)));
        let config = client
            .send(Method::GET, "/api/config", &headers, vec![])
            .await;
        assert_eq!(config.status, StatusCode::OK, "{forwarded:?}");
    }
    let signed_in = client
        .send(
            Method::POST,
            "/api/auth/login",
            &[("content-type", "application/json")],
            login.clone(),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);

    // From elsewhere: no clinic, whichever loopback name, address family or way in.
    for (from, host) in [
        ("203.0.113.9", localhost.as_str()),
        ("203.0.113.9", v4.as_str()),
        ("2001:db8::9", v6.as_str()),
        ("10.1.2.3", "localhost"),
    ] {
        let what = format!("{host} from {from}");
        let remote = [("host", host), ("x-forwarded-for", from)];
        let config = client
            .send(Method::GET, "/api/config", &remote, vec![])
            .await;
        assert_eq!(config.status, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(config.json()["error"]["code"], "unknown_clinic", "{what}");
        let page = client.send(Method::GET, "/", &remote, vec![]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{what}");
        let mut headers = remote.to_vec();
        headers.push(("content-type", "application/json"));
        let sign_in = client
            .send(Method::POST, "/api/auth/login", &headers, login.clone())
            .await;
        assert_eq!(sign_in.status, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(sign_in.json()["error"]["code"], "unknown_clinic", "{what}");
        let mut headers = remote.to_vec();
        headers.extend(ws_upgrade);
        let socket = client.send(Method::GET, "/ws", &headers, vec![]).await;
        assert_eq!(socket.status, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(socket.json()["error"]["code"], "unknown_clinic", "{what}");
    }
    // The health check still answers anyone, for load balancers.
    let health = client
        .send(
            Method::GET,
            "/api/health",
            &[("x-forwarded-for", "203.0.113.9")],
            vec![],
        )
        .await;
    assert_eq!(health.status, StatusCode::OK);
}
