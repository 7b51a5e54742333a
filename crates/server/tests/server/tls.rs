//! Transmission security as an attacker sees it: there is no plaintext service on the
//! port, nothing older than TLS 1.2 is spoken, and the development certificate is stable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use crate::common;

use std::time::Duration;

use common::{Client, TestServer};
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server neither answered nor closed within 10 s"),
        }
    }
    out
}

#[tokio::test]
async fn plaintext_http_gets_no_content() {
    let dist = common::fake_dist();
    let dir = dist.path().to_path_buf();
    let server = TestServer::start_with(|c| c.static_dir = Some(dir)).await;
    for request in [
        "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /api/health HTTP/1.0\r\n\r\n",
        "GET /api/config HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ] {
        let mut tcp = TcpStream::connect(server.running.addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let answer = read_all(&mut tcp).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.contains("HTTP/"), "plaintext answer: {text:?}");
        assert!(
            !text.contains("<html") && !text.contains("status"),
            "content leaked: {text:?}"
        );
        // At most a TLS alert record.
        assert!(
            answer.is_empty() || answer[0] == 0x15,
            "unexpected bytes: {answer:?}"
        );
    }
    // And the server still serves TLS clients.
    assert_eq!(
        server.client().get("/api/health").await.status,
        StatusCode::OK
    );
}

/// A ClientHello that offers at most TLS 1.`minor - 1`, as an old client would send it.
fn legacy_client_hello(minor: u8) -> Vec<u8> {
    let host = b"localhost";
    let mut sni = Vec::new();
    sni.extend_from_slice(&((host.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(host.len() as u16).to_be_bytes());
    sni.extend_from_slice(host);
    let mut extensions = Vec::new();
    for (kind, data) in [
        (0x0000u16, sni),
        (0x000a, vec![0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]),
        (0x000b, vec![0x01, 0x00]),
        (0x000d, vec![0x00, 0x04, 0x04, 0x03, 0x08, 0x04]),
    ] {
        extensions.extend_from_slice(&kind.to_be_bytes());
        extensions.extend_from_slice(&(data.len() as u16).to_be_bytes());
        extensions.extend_from_slice(&data);
    }
    let mut body = vec![0x03, minor];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0);
    // Suites the server does support under TLS 1.2, so that only the version is at fault.
    let suites = [
        0xc0u8, 0x2b, 0xc0, 0x2f, 0xc0, 0x13, 0xc0, 0x14, 0x00, 0x2f, 0x00, 0x35,
    ];
    body.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    body.extend_from_slice(&suites);
    body.extend_from_slice(&[0x01, 0x00]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test]
async fn tls_1_0_and_1_1_handshakes_are_refused() {
    let server = TestServer::start().await;
    for (name, minor) in [("TLS 1.0", 0x01), ("TLS 1.1", 0x02), ("SSL 3.0", 0x00)] {
        let mut tcp = TcpStream::connect(server.running.addr).await.unwrap();
        tcp.write_all(&legacy_client_hello(minor)).await.unwrap();
        let answer = read_all(&mut tcp).await;
        assert!(!answer.is_empty(), "{name}: expected an alert");
        assert_eq!(
            answer[0], 0x15,
            "{name}: expected an alert record, got {answer:?}"
        );
        // Never a ServerHello (handshake record carrying message type 2).
        assert!(
            !(answer[0] == 0x16 && answer.get(5) == Some(&0x02)),
            "{name}: ServerHello sent"
        );
        // Alert level fatal, description protocol_version (70).
        assert_eq!(&answer[5..7], &[0x02, 70], "{name}: {answer:?}");
    }
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_both_served() {
    let server = TestServer::start().await;
    for (name, version, want) in [
        (
            "1.2",
            &rustls::version::TLS12,
            rustls::ProtocolVersion::TLSv1_2,
        ),
        (
            "1.3",
            &rustls::version::TLS13,
            rustls::ProtocolVersion::TLSv1_3,
        ),
    ] {
        let client = Client::new(
            server.running.addr,
            server.running.leaf.clone(),
            Some(&[version]),
        );
        let stream = client.connect().await;
        assert_eq!(
            stream.get_ref().1.protocol_version(),
            Some(want),
            "TLS {name}"
        );
        assert_eq!(
            client.get("/api/health").await.status,
            StatusCode::OK,
            "TLS {name}"
        );
    }
}

#[tokio::test]
async fn the_development_certificate_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let first = haven_server::serve::start(common::config(data.path(), None))
        .await
        .unwrap();
    let fingerprint = first.cert_sha256.clone();
    assert_eq!(fingerprint.len(), 32 * 3 - 1);
    assert!(first.spki_sha256.is_some());
    first.shutdown(Duration::from_secs(1)).await;
    let second = haven_server::serve::start(common::config(data.path(), None))
        .await
        .unwrap();
    assert_eq!(second.cert_sha256, fingerprint);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = data
            .path()
            .join("tls")
            .join(haven_server::tls::DEV_KEY_FILE);
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the private key is readable by others");
    }
}

#[tokio::test]
async fn settings_out_of_range_stop_start_up_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    let mut config = common::config(data.path(), None);
    config.audit_retention_days = 365;
    let err = haven_server::serve::start(config).await.err().unwrap();
    assert!(err.to_string().contains("at least six years"), "{err}");
    let mut config = common::config(data.path(), None);
    config.idle_timeout = Duration::from_secs(5);
    let err = haven_server::serve::start(config).await.err().unwrap();
    assert!(err.to_string().contains("idle timeout"), "{err}");
}
