//! Test support: a real server on a real TLS listener (port 0), and clients that trust
//! exactly its certificate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use haven_server::ServerConfig;
use haven_server::serve::Running;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub struct TestServer {
    pub running: Running,
    pub data: tempfile::TempDir,
}

pub const INLINE_LOADER: &str = "import init from '/app.js'; await init();";

/// A stand-in for trunk's output: an index.html with an inline module script, a wasm
/// file and a precompressed sibling.
pub fn fake_dist() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let index = format!(
        "<!doctype html><html><head><link rel=\"modulepreload\" href=\"/app.js\">\
         <script type=\"module\">{INLINE_LOADER}</script></head><body></body></html>"
    );
    std::fs::write(dir.path().join("index.html"), index).unwrap();
    std::fs::write(
        dir.path().join("app.js"),
        "export default async function init() {}",
    )
    .unwrap();
    std::fs::write(dir.path().join("app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.path().join("app_bg.wasm.br"), b"BROTLI").unwrap();
    dir
}

pub fn config(data: &Path, static_dir: Option<PathBuf>) -> ServerConfig {
    let mut config = ServerConfig::new(data.to_path_buf());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.static_dir = static_dir;
    config
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut config = config(data.path(), None);
        tweak(&mut config);
        let running = haven_server::serve::start(config).await.unwrap();
        Self { running, data }
    }

    pub fn port(&self) -> u16 {
        self.running.addr.port()
    }

    pub fn client(&self) -> Client {
        Client::new(self.running.addr, self.running.leaf.clone(), None)
    }
}

pub fn client_config(
    leaf: CertificateDer<'static>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(leaf).unwrap();
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

pub struct Client {
    addr: std::net::SocketAddr,
    tls: TlsConnector,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

impl Client {
    pub fn new(
        addr: std::net::SocketAddr,
        leaf: CertificateDer<'static>,
        versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
    ) -> Self {
        let both: [&'static rustls::SupportedProtocolVersion; 2] =
            [&rustls::version::TLS13, &rustls::version::TLS12];
        let config = client_config(leaf, versions.unwrap_or(&both));
        Self {
            addr,
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    pub async fn connect(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        self.tls.connect(name, tcp).await.unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let stream = self.connect().await;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut builder = Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            builder = builder.header("host", format!("localhost:{}", self.addr.port()));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).unwrap();
        let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
            .await
            .expect("no answer within 30 s")
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// One TLS connection kept open for many requests (a flood without a handshake each).
    pub async fn keep_alive(&self) -> KeepAlive {
        let stream = self.connect().await;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        KeepAlive {
            sender,
            port: self.addr.port(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], Vec::new()).await
    }
}

pub struct KeepAlive {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    port: u16,
}

impl KeepAlive {
    /// Sends one request on the kept connection; returns the status and body.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Bytes) {
        self.sender.ready().await.unwrap();
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("localhost:{}", self.port));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).unwrap();
        let response =
            tokio::time::timeout(Duration::from_secs(60), self.sender.send_request(request))
                .await
                .expect("no answer within 60 s")
                .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    }
}

/// The audit store as someone holding the database file sees it.
pub mod store {
    use haven_server::store::Pool;

    /// How many entries record `action`.
    pub async fn count(db: &Pool, action: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_entries WHERE action = ?")
            .bind(action)
            .fetch_one(db)
            .await
            .unwrap();
        n
    }

    /// The entries recording `action`, as JSON, oldest first.
    pub async fn entries(db: &Pool, action: &str) -> Vec<serde_json::Value> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT payload FROM audit_entries WHERE action = ? ORDER BY at, idx")
                .bind(action)
                .fetch_all(db)
                .await
                .unwrap();
        rows.iter()
            .map(|(p,)| serde_json::from_str(p).unwrap())
            .collect()
    }

    /// The id of the user with `email`.
    pub async fn user_id(db: &Pool, email: &str) -> String {
        let (id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE email = ?")
            .bind(email)
            .fetch_one(db)
            .await
            .unwrap();
        id
    }

    pub async fn total(db: &Pool) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_entries")
            .fetch_one(db)
            .await
            .unwrap();
        n
    }

    /// Waits (polling the store, never a fixed sleep) until `action` has `at_least`
    /// entries; fails after 30 s.
    pub async fn wait_for(db: &Pool, action: &str, at_least: i64) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if count(db, action).await >= at_least {
                return entries(db, action).await;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {action} entry within 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// WebSocket helpers over the real TLS listener.
pub mod ws {
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::StreamExt;
    use haven_protocol::ws::ServerFrame;
    use rustls::pki_types::ServerName;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use super::TestServer;

    pub type Socket =
        tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

    pub async fn open(server: &TestServer, origin: Option<&str>) -> Socket {
        try_open(server, origin).await.unwrap()
    }

    /// Opens `/ws`, or the server's refusal.
    pub async fn try_open(
        server: &TestServer,
        origin: Option<&str>,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        try_open_at(server.running.addr, server.running.leaf.clone(), origin).await
    }

    /// Opens `/ws` on the server at `addr` with certificate `leaf`.
    pub async fn open_at(
        addr: std::net::SocketAddr,
        leaf: rustls::pki_types::CertificateDer<'static>,
    ) -> Socket {
        try_open_at(addr, leaf, None).await.unwrap()
    }

    pub async fn try_open_at(
        addr: std::net::SocketAddr,
        leaf: rustls::pki_types::CertificateDer<'static>,
        origin: Option<&str>,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let config = super::client_config(leaf, &[&rustls::version::TLS13]);
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let mut request = format!("wss://localhost:{}/ws", addr.port())
            .into_client_request()
            .unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        tokio_tungstenite::client_async(request, tls)
            .await
            .map(|(socket, _)| socket)
    }

    /// Waits for the server to close `socket` (control frames skipped); fails after 30 s.
    pub async fn closed(socket: &mut Socket) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        loop {
            let next = tokio::time::timeout(Duration::from_secs(30), socket.next())
                .await
                .expect("not closed within 30 s");
            match next {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return frames,
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(text.as_str()).unwrap())
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    pub fn text(value: serde_json::Value) -> Message {
        Message::text(value.to_string())
    }

    /// The next text frame, skipping control frames.
    pub async fn next(socket: &mut Socket) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .expect("no frame within 10 s")
                .expect("connection closed")
                .expect("read failed");
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

/// Calling the API as the app does: JSON bodies, bearer tokens, and demo users signing in.
pub mod api {
    use hyper::{Method, StatusCode};
    use serde_json::{Value, json};

    use haven_protocol::identity::{SignInResponse, SignInStep};
    use haven_server::demo::USERS;

    use super::{Client, Reply};

    pub fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    pub fn code_for(secret: &[u8]) -> String {
        haven_server::secrets::totp_code(secret, now()).unwrap()
    }

    pub async fn post(client: &Client, path: &str, token: Option<&str>, body: Value) -> Reply {
        send(client, Method::POST, path, token, Some(body), None).await
    }

    pub async fn put(client: &Client, path: &str, token: Option<&str>, body: Value) -> Reply {
        send(client, Method::PUT, path, token, Some(body), None).await
    }

    pub async fn send(
        client: &Client,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        host: Option<&str>,
    ) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("authorization", auth));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        if let Some(host) = host {
            headers.push(("host", host));
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        client.send(method, path, &headers, bytes).await
    }

    pub fn step(reply: &Reply) -> SignInResponse {
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{:?}",
            String::from_utf8_lossy(&reply.body)
        );
        serde_json::from_slice(&reply.body).unwrap()
    }

    /// Signs a demo user in (password, then a code when the account has TOTP).
    pub async fn sign_in(client: &Client, email: &str, host: Option<&str>) -> String {
        let user = USERS.iter().find(|u| u.email == email).unwrap();
        let body = json!({ "email": user.email, "password": user.password });
        let first = step(
            &send(
                client,
                Method::POST,
                "/api/auth/login",
                None,
                Some(body),
                host,
            )
            .await,
        );
        match first.step {
            SignInStep::SignedIn { .. } => first.token,
            SignInStep::TotpRequired => {
                let secret = user.totp_secret.unwrap();
                let code = json!({ "code": code_for(&secret) });
                let mut reply = send(
                    client,
                    Method::POST,
                    "/api/auth/totp",
                    Some(&first.token),
                    Some(code),
                    host,
                )
                .await;
                if reply.status == StatusCode::UNAUTHORIZED {
                    // This step's code was taken by an earlier sign-in of the same person
                    // in this test: an authenticator's next code is accepted too.
                    let next = haven_server::secrets::totp_code(
                        &secret,
                        now() + haven_server::secrets::TOTP_STEP_SECS,
                    )
                    .unwrap();
                    reply = send(
                        client,
                        Method::POST,
                        "/api/auth/totp",
                        Some(&first.token),
                        Some(json!({ "code": next })),
                        host,
                    )
                    .await;
                }
                let second = step(&reply);
                assert!(matches!(second.step, SignInStep::SignedIn { .. }));
                assert_ne!(
                    second.token, first.token,
                    "the half-signed-in token was promoted"
                );
                second.token
            }
            other => panic!("unexpected step {other:?}"),
        }
    }

    /// The secret of an invitation link from `POST /api/invitations` (it is in the fragment).
    pub fn invitation_token(reply: &Reply) -> String {
        let link = reply.json()["link"].as_str().unwrap().to_owned();
        assert!(link.starts_with("https://"), "{link}");
        link.split_once("/join#").unwrap().1.to_owned()
    }

    pub async fn get(client: &Client, path: &str, token: &str) -> Reply {
        send(client, Method::GET, path, Some(token), None, None).await
    }
}
