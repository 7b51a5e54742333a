//! `/ws`: the one long-lived connection each app holds. For now it says hello, answers
//! pings and keeps itself alive with heartbeats; messaging and visits ride on it later.
//!
//! Nothing a peer sends can take the server down: an unknown or oversized frame gets an
//! `error` frame and the connection stays open; only frames past the transport's hard
//! limit close it, with a close code that says why.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::Response;
use haven_protocol::ErrorCode;
use haven_protocol::ws::{ClientFrame, MAX_FRAME_BYTES, ServerFrame};
use tokio::time::{Instant, MissedTickBehavior};

use crate::error::{Error, Result};
use crate::headers::request_origin;
use crate::state::AppState;

/// Frames up to this size are read and then refused politely; past it the transport
/// closes the connection (1009) without buffering more.
pub const TRANSPORT_LIMIT_BYTES: usize = 1024 * 1024;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_GOING_AWAY: u16 = 1001;

/// A browser always sends `Origin`; it must be ours, so that another site cannot open a
/// connection with the user's browser.
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let ours = request_origin(state, headers)?.origin();
    match origin.to_str() {
        Ok(theirs) if theirs.eq_ignore_ascii_case(&ours) => Ok(()),
        _ => Err(Error::bad(
            ErrorCode::ForbiddenOrigin,
            StatusCode::FORBIDDEN,
            "This WebSocket only accepts connections from the app's own origin.",
        )),
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    let upgrade = upgrade.map_err(|_| {
        Error::bad(
            ErrorCode::WebsocketRequired,
            StatusCode::BAD_REQUEST,
            "This address only accepts WebSocket connections.",
        )
    })?;
    check_origin(&state, &headers)?;
    let heartbeat = state.heartbeat();
    Ok(upgrade
        .max_message_size(TRANSPORT_LIMIT_BYTES)
        .max_frame_size(TRANSPORT_LIMIT_BYTES)
        .on_upgrade(move |socket| connection(socket, heartbeat)))
}

fn encode(frame: &ServerFrame) -> Option<Message> {
    serde_json::to_string(frame).ok().map(Message::from)
}

fn error_frame(code: ErrorCode, message: &str) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: message.to_owned(),
    }
}

/// What to answer to one text frame from the app.
pub fn respond(text: &str) -> ServerFrame {
    if text.len() > MAX_FRAME_BYTES {
        return error_frame(ErrorCode::FrameTooLarge, "That message is too large.");
    }
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(ClientFrame::Ping { seq }) => ServerFrame::Pong { seq },
        Err(_) => error_frame(
            ErrorCode::UnknownFrame,
            "That message is not one this server understands.",
        ),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The peer may already be gone; nothing more to do then.
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn connection(mut socket: WebSocket, heartbeat: Duration) {
    let hello = ServerFrame::Hello {
        heartbeat_secs: u32::try_from(heartbeat.as_secs()).unwrap_or(u32::MAX),
    };
    let Some(hello) = encode(&hello) else { return };
    if socket.send(hello).await.is_err() {
        return;
    }
    let mut ticks = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    loop {
        tokio::select! {
            received = socket.recv() => {
                let message = match received {
                    None => break,
                    Some(Ok(message)) => message,
                    Some(Err(err)) => {
                        tracing::debug!(error = %err, "websocket read failed");
                        close(&mut socket, CLOSE_TOO_BIG, "frame refused").await;
                        break;
                    }
                };
                last_seen = Instant::now();
                let reply = match message {
                    Message::Text(text) => respond(text.as_str()),
                    Message::Binary(_) => error_frame(
                        ErrorCode::UnknownFrame,
                        "This server accepts only JSON text frames.",
                    ),
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => break,
                };
                let Some(reply) = encode(&reply) else { break };
                if socket.send(reply).await.is_err() {
                    break;
                }
            }
            _ = ticks.tick() => {
                if last_seen.elapsed() > heartbeat * 2 {
                    close(&mut socket, CLOSE_GOING_AWAY, "no heartbeat").await;
                    break;
                }
                if socket.send(Message::Ping(Bytes::new())).await.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_every_frame_with_something_typed() {
        assert_eq!(
            respond(r#"{"type":"ping","seq":3}"#),
            ServerFrame::Pong { seq: 3 }
        );
        for bad in ["", "null", "{", r#"{"type":"nope"}"#, "\u{0}"] {
            assert!(matches!(
                respond(bad),
                ServerFrame::Error {
                    code: ErrorCode::UnknownFrame,
                    ..
                }
            ));
        }
        let big = format!(
            r#"{{"type":"ping","seq":1,"pad":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            respond(&big),
            ServerFrame::Error {
                code: ErrorCode::FrameTooLarge,
                ..
            }
        ));
    }
}
