//! `/ws` through the real TLS listener: hello, ping/pong, heartbeats, and bad frames that
//! get an error frame while the connection keeps working.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use crate::common;

use std::time::Duration;

use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use haven_protocol::ErrorCode;
use haven_protocol::ws::ServerFrame;
use tokio_tungstenite::tungstenite::Message;

use common::ws::{Socket, next as next_frame, open};

async fn ping(socket: &mut Socket, seq: u64) {
    socket
        .send(Message::text(format!(r#"{{"type":"ping","seq":{seq}}}"#)))
        .await
        .unwrap();
    assert_eq!(next_frame(socket).await, ServerFrame::Pong { seq });
}

#[tokio::test]
async fn hello_then_pong() {
    let server = TestServer::start().await;
    let origin = format!("https://localhost:{}", server.port());
    let mut socket = open(&server, Some(&origin)).await;
    assert_eq!(
        next_frame(&mut socket).await,
        ServerFrame::Hello { heartbeat_secs: 15 }
    );
    ping(&mut socket, 1).await;
    ping(&mut socket, u64::MAX).await;
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_connection_keeps_working() {
    let server = TestServer::start().await;
    let mut socket = open(&server, None).await;
    next_frame(&mut socket).await;
    let big = format!(
        r#"{{"type":"ping","seq":1,"pad":"{}"}}"#,
        "x".repeat(haven_protocol::ws::MAX_FRAME_BYTES)
    );
    let cases: Vec<(Message, ErrorCode)> = vec![
        (Message::text("hello"), ErrorCode::UnknownFrame),
        (Message::text("{"), ErrorCode::UnknownFrame),
        (
            Message::text(r#"{"type":"launch_missiles"}"#),
            ErrorCode::UnknownFrame,
        ),
        (
            Message::text(r#"{"type":"ping","seq":"one"}"#),
            ErrorCode::UnknownFrame,
        ),
        (
            Message::text(r#"{"type":"ping","seq":1,"admin":true}"#),
            ErrorCode::UnknownFrame,
        ),
        (Message::text("\u{202e}\u{0}"), ErrorCode::UnknownFrame),
        (
            Message::binary(vec![0u8, 1, 2, 255]),
            ErrorCode::UnknownFrame,
        ),
        (Message::text(big), ErrorCode::FrameTooLarge),
    ];
    for (i, (message, want)) in cases.into_iter().enumerate() {
        socket.send(message).await.unwrap();
        match next_frame(&mut socket).await {
            ServerFrame::Error { code, message } => {
                assert_eq!(code, want, "case {i}");
                assert!(message.ends_with('.'), "case {i}: {message}");
            }
            other => panic!("case {i}: expected an error, got {other:?}"),
        }
        ping(&mut socket, i as u64).await;
    }
}

#[tokio::test]
async fn a_frame_past_the_transport_limit_closes_only_that_connection() {
    let server = TestServer::start().await;
    let mut bystander = open(&server, None).await;
    next_frame(&mut bystander).await;
    let mut socket = open(&server, None).await;
    next_frame(&mut socket).await;
    let _ = socket
        .send(Message::text(
            "x".repeat(haven_server::http::ws::TRANSPORT_LIMIT_BYTES + 1024),
        ))
        .await;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) => return None,
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .expect("the connection stayed open");
    if let Some(code) = closed {
        assert_eq!(code, 1009);
    }
    ping(&mut bystander, 7).await;
    let mut again = open(&server, None).await;
    next_frame(&mut again).await;
    ping(&mut again, 8).await;
}

#[tokio::test]
async fn the_server_sends_heartbeats() {
    let server = TestServer::start_with(|c| c.heartbeat = Duration::from_secs(1)).await;
    let mut socket = open(&server, None).await;
    assert_eq!(
        next_frame(&mut socket).await,
        ServerFrame::Hello { heartbeat_secs: 1 }
    );
    let got_ping = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(Message::Ping(_))) = socket.next().await {
                return;
            }
        }
    })
    .await;
    assert!(got_ping.is_ok(), "no WebSocket ping within 10 s");
}

#[tokio::test]
async fn another_origin_cannot_open_the_socket() {
    let server = TestServer::start().await;
    let err = common::ws::try_open(&server, Some("https://evil.example"))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}
