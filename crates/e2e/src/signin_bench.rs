//! The sign-in burst benchmark: 200 concurrent wrong passwords for one account, against
//! the release server running in this process over real TLS, beside plain `/api/health`
//! requests in the same run. Figures: answers per second, how many passwords were
//! actually checked, the most argon2 hashes that ran at once, and the process's peak
//! memory (VmHWM) before and after the burst.

use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::Result;

pub struct Figures {
    pub burst: usize,
    pub burst_per_sec: f64,
    pub checked: usize,
    pub refused: usize,
    pub peak_hashes: usize,
    pub max_hashes: usize,
    pub health_per_sec: f64,
    pub peak_kb_before: u64,
    pub peak_kb_after: u64,
}

/// The process's peak resident memory, in KB.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn tls(leaf: CertificateDer<'static>) -> Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(leaf).map_err(|e| e.to_string())?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// One request on a new TLS connection (as a browser's first request would be).
async fn request(
    tls: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<u16> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let stream = tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("localhost:{}", addr.port()));
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(status)
}

async fn burst(
    tls: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
    n: usize,
    path: &'static str,
    body: Option<String>,
) -> Result<(f64, Vec<u16>)> {
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let tls = tls.clone();
            let body = body.clone();
            let method = if body.is_some() { "POST" } else { "GET" };
            tokio::spawn(async move { request(&tls, addr, method, path, body).await })
        })
        .collect();
    let mut statuses = Vec::with_capacity(n);
    for task in tasks {
        statuses.push(task.await.map_err(|e| e.to_string())??);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok((n as f64 / secs, statuses))
}

pub async fn run() -> Result<Figures> {
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut config = haven_server::ServerConfig::new(data.path().to_path_buf());
    config.listen = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    config.demo = true;
    let running = haven_server::serve::start(config)
        .await
        .map_err(|e| e.to_string())?;
    let tls = tls(running.leaf.clone())?;
    let addr = running.addr;
    const N: usize = 200;
    // Warm up: connections, the store, the dummy hash.
    burst(&tls, addr, 20, "/api/health", None).await?;
    let (health_per_sec, _) = burst(&tls, addr, N, "/api/health", None).await?;
    let peak_kb_before = peak_rss_kb();
    let wrong = serde_json::json!({
        "email": "clinician@demo.haven",
        "password": "not the password at all",
    })
    .to_string();
    let (burst_per_sec, statuses) = burst(&tls, addr, N, "/api/auth/login", Some(wrong)).await?;
    let peak_kb_after = peak_rss_kb();
    running.shutdown(std::time::Duration::from_secs(2)).await;
    Ok(Figures {
        burst: N,
        burst_per_sec,
        checked: statuses.iter().filter(|s| **s == 401).count(),
        refused: statuses.iter().filter(|s| **s == 429).count(),
        peak_hashes: haven_server::secrets::peak_concurrent_hashes(),
        max_hashes: haven_server::secrets::max_concurrent_hashes(),
        health_per_sec,
        peak_kb_before,
        peak_kb_after,
    })
}

/// The BENCHMARKS.md section.
pub fn section(f: &Figures, date: &str, machine: &str) -> String {
    format!(
        "## Sign-in under a burst of bad passwords (issue 11)\n\n\
         Measured by `cargo xtask bench` on {date}, {machine}: the release server in the bench \
         process, over loopback TLS, each request on its own new TLS connection, all {n} sent at \
         once.\n\n\
         | what | figure |\n| --- | ---: |\n\
         | reference: `GET /api/health`, {n} at once | {health:.0} answers/s |\n\
         | `POST /api/auth/login`, {n} wrong passwords for one account at once | **{rate:.0} answers/s** |\n\
         | of which passwords actually checked (argon2) / refused by the limit | {checked} / {refused} |\n\
         | most argon2 hashes running at once (bound) | {peak} ({max}) |\n\
         | process peak memory (VmHWM) before the burst → after | {before:.1} MB → {after:.1} MB |\n\n\
         Attempts are reserved before the password is checked, so only the account's budget \
         (5 per window) of the {n} costs a hash and a durable write; the rest are answered from \
         memory. The reference shows what the same connections cost without any sign-in work.",
        n = f.burst,
        health = f.health_per_sec,
        rate = f.burst_per_sec,
        checked = f.checked,
        refused = f.refused,
        peak = f.peak_hashes,
        max = f.max_hashes,
        before = f.peak_kb_before as f64 / 1000.0,
        after = f.peak_kb_after as f64 / 1000.0,
    )
}
