//! `/ws`: the one long-lived connection each app holds. For now it says hello, answers
//! pings and keeps itself alive with heartbeats; messaging and visits ride on it later.
//!
//! Nothing a peer sends can take the server down: an unknown or oversized frame gets an
//! `error` frame and the connection stays open; only frames past the transport's hard
//! limit close it, with a close code that says why.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::Response;
use haven_protocol::audit::SessionEndReason;
use haven_protocol::ws::{ClientFrame, MAX_FRAME_BYTES, ServerFrame};
use haven_protocol::{ErrorCode, HttpsUrl};
use tokio::time::{Instant, MissedTickBehavior};

use haven_protocol::access::Action;

use crate::delivery::fanout::Mailbox;
use crate::delivery::quota;
use crate::delivery::socket::DeviceStream;
use crate::delivery::writer::{AckJob, Refusal, SendJob};
use crate::error::{Error, Result};
use crate::identity::live::Control;
use crate::identity::session::{Authed, Stage, authenticate};
use crate::secrets::parse_token;
use crate::state::AppState;
use crate::tenancy::Org;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use haven_protocol::identity::Id;

/// Frames up to this size are read and then refused politely; past it the transport
/// closes the connection (1009) without buffering more.
pub const TRANSPORT_LIMIT_BYTES: usize = 2 * 1024 * 1024;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;

/// A browser always sends `Origin`; it must be ours, so that another site cannot open a
/// connection with the user's browser.
fn check_origin(ours: &HttpsUrl, headers: &HeaderMap) -> Result<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let ours = ours.origin();
    match origin.to_str() {
        Ok(theirs) if theirs.eq_ignore_ascii_case(&ours) => Ok(()),
        _ => Err(Error::bad(
            ErrorCode::ForbiddenOrigin,
            StatusCode::FORBIDDEN,
            "This WebSocket only accepts connections from the app's own origin.",
        )),
    }
}

/// Unauthenticated sockets open at once, per address (IPv6 per /64).
#[derive(Default)]
pub struct Anonymous {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One unauthenticated socket's place in [`Anonymous`]; given back on drop.
pub struct AnonymousSlot {
    state: AppState,
    key: std::net::IpAddr,
}

impl Anonymous {
    fn open(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<std::net::IpAddr, usize>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AnonymousSlot {
    fn take(state: &AppState, ip: std::net::IpAddr) -> Option<Self> {
        let key = crate::identity::ratelimit::address_key(ip);
        let mut open = state.anonymous_sockets().open();
        let count = open.entry(key).or_insert(0);
        if *count >= state.guards().ws_anonymous_per_address {
            return None;
        }
        *count += 1;
        Some(Self {
            state: state.clone(),
            key,
        })
    }
}

impl Drop for AnonymousSlot {
    fn drop(&mut self) {
        let mut open = self.state.anonymous_sockets().open();
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    crate::http::extract::ClientAddr(ip): crate::http::extract::ClientAddr,
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
    let tenant = crate::tenancy::resolve(&state, &headers, ip).await?;
    check_origin(&tenant.origin, &headers)?;
    let org = tenant.org;
    let slot = AnonymousSlot::take(&state, ip).ok_or_else(|| {
        Error::bad(
            ErrorCode::TooManyRequests,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many connections that have not signed in from this address.",
        )
    })?;
    Ok(upgrade
        .max_message_size(TRANSPORT_LIMIT_BYTES)
        .max_frame_size(TRANSPORT_LIMIT_BYTES)
        .on_upgrade(move |socket| connection(socket, state, org, slot, ip)))
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

/// Parses one text frame from the app, or says why not: a refused `send` is answered
/// with its request id whenever the frame names one, so a client waiting for that
/// request hears back.
pub fn parse(text: &str) -> Result<ClientFrame, ServerFrame> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(error_frame(
            ErrorCode::FrameTooLarge,
            "That message is too large.",
        ));
    }
    serde_json::from_str::<ClientFrame>(text).map_err(|_| {
        let refusal = error_frame(
            ErrorCode::UnknownFrame,
            "That message is not one this server understands.",
        );
        match send_request(text) {
            Some(request) => refused(
                request,
                ErrorCode::InvalidMessage,
                "That message is not a well-formed send: check its conversation and base64 message.",
            ),
            None => refusal,
        }
    })
}

/// The request id of something that looks like a `send`, read leniently from a frame
/// that did not parse.
fn send_request(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        request: u64,
    }
    let envelope: Envelope = serde_json::from_str(text).ok()?;
    (envelope.kind == "send").then_some(envelope.request)
}

fn refused(request: u64, code: ErrorCode, message: &str) -> ServerFrame {
    ServerFrame::Refused {
        request,
        code,
        message: message.to_owned(),
        winner: None,
        retry_after_secs: None,
    }
}

/// An answer to the frame with `request`, if it has one: an error becomes that
/// request's refusal.
fn answer_to(request: Option<u64>, frame: ServerFrame) -> ServerFrame {
    match (request, frame) {
        (Some(request), ServerFrame::Error { code, message }) => refused(request, code, &message),
        (_, frame) => frame,
    }
}

/// The session a connection is bound to, once it has sent a valid `auth` frame.
struct Bound {
    authed: Authed,
    token: String,
    registration: u64,
    /// When the session was last checked against the store. Messaging frames re-check
    /// at most once a second: an ended session closes the socket at once anyway.
    checked: Instant,
}

/// How long a session check stands for messaging frames.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// The permission each message type needs; `None`: allowed before signing in.
fn required(frame: &ClientFrame) -> Option<Action> {
    match frame {
        ClientFrame::Ping { .. } | ClientFrame::Auth { .. } => None,
        ClientFrame::Activity => Some(Action::WsSession),
        ClientFrame::Subscribe { .. }
        | ClientFrame::Send { .. }
        | ClientFrame::Ack { .. }
        | ClientFrame::Read { .. } => Some(Action::Converse),
    }
}

fn unauthenticated_frame() -> ServerFrame {
    error_frame(ErrorCode::Unauthenticated, "Sign in to continue.")
}

/// Handles one frame: the permission table decides, as for every route.
/// Checks that the bound session may still do `action`: re-read from the store on every
/// frame, except messaging frames within [`RECHECK`] of the last check.
async fn authorised(
    state: &AppState,
    org: &Org,
    bound: &mut Option<Bound>,
    action: Action,
) -> std::result::Result<(), ServerFrame> {
    let Some(b) = bound.as_mut() else {
        return Err(unauthenticated_frame());
    };
    if action == Action::Converse && b.checked.elapsed() < RECHECK && b.authed.may(action) {
        return Ok(());
    }
    match authenticate(state, &b.token, org).await {
        Ok(authed) if authed.may(action) => {
            b.authed = authed;
            b.checked = Instant::now();
            Ok(())
        }
        Ok(_) => Err(error_frame(
            ErrorCode::Forbidden,
            "Your role does not permit this.",
        )),
        Err(_) => Err(ServerFrame::SessionEnded {
            reason: SessionEndReason::Expired,
        }),
    }
}

async fn handle(
    state: &AppState,
    org: &Org,
    bound: &mut Option<Bound>,
    frame: ClientFrame,
) -> ServerFrame {
    if let Some(action) = required(&frame)
        && let Err(refused) = authorised(state, org, bound, action).await
    {
        return refused;
    }
    match frame {
        ClientFrame::Ping { seq } => ServerFrame::Pong { seq },
        ClientFrame::Activity => ServerFrame::Heartbeat,
        // Handled by the connection, which owns the delivery state.
        ClientFrame::Subscribe { .. }
        | ClientFrame::Send { .. }
        | ClientFrame::Ack { .. }
        | ClientFrame::Read { .. } => error_frame(ErrorCode::Internal, "Unexpected frame."),
        ClientFrame::Auth { token } => {
            let Some(token) = parse_token(&token).map(str::to_owned) else {
                return unauthenticated_frame();
            };
            match authenticate(state, &token, org).await {
                Ok(authed) if authed.stage == Stage::Full => {
                    if let Some(old) = bound.take() {
                        state.live().unregister(old.registration);
                    }
                    *bound = Some(Bound {
                        authed,
                        token,
                        registration: u64::MAX,
                        checked: Instant::now(),
                    });
                    ServerFrame::Authenticated
                }
                _ => error_frame(
                    ErrorCode::SessionExpired,
                    "Your session has ended. Please sign in again.",
                ),
            }
        }
    }
}

/// A `send` or `ack` waiting for the writer.
type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send>>;

/// Which subscription (device, its number at the device's gate) queued a job: an answer
/// that arrives after the connection subscribed again moves nothing of the new one.
type Owner = (Id, u64);

enum Done {
    Sent {
        request: u64,
        owner: Owner,
        conversation: Id,
        result: std::result::Result<u64, Refusal>,
    },
    Acked {
        owner: Owner,
        conversation: Id,
        result: std::result::Result<u64, Refusal>,
    },
    Read {
        result: std::result::Result<u64, Refusal>,
    },
}

/// How long one frame may wait for a client that does not read before the connection is
/// given up.
const SEND_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends one message; false if the connection is gone, or the client stopped reading for
/// [`SEND_WITHIN`]. Every send of the connection goes through here, so a client that
/// stops reading cannot hold its connection (and what it holds) open.
async fn send_one(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_WITHIN, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// Sends `frames` in order; false as [`send_one`].
async fn send_all(socket: &mut WebSocket, frames: &[ServerFrame]) -> bool {
    for frame in frames {
        let Some(message) = encode(frame) else {
            return false;
        };
        if !send_one(socket, message).await {
            return false;
        }
    }
    true
}

fn not_subscribed() -> ServerFrame {
    error_frame(
        ErrorCode::DeviceUnavailable,
        "Subscribe with this browser's encryption device first.",
    )
}

/// A connection's messaging state, once it subscribed a device.
struct Delivery {
    stream: Option<DeviceStream>,
    mailbox: Option<std::sync::Arc<Mailbox>>,
    inflight: FuturesUnordered<Pending>,
    /// The client's address, for the audit entries of what it sends.
    source: std::net::IpAddr,
    /// When this connection last subscribed: each `subscribe` reads the device's
    /// backlog and positions, so a connection may subscribe again (any device) only
    /// after a while.
    subscribed_at: Option<Instant>,
}

/// Sends and acknowledgements one connection may have waiting for the writer.
const MAX_UNANSWERED: usize = 1024;

/// How soon a connection may subscribe again.
const RESUBSCRIBE_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// `subscribe`, `send` and `ack`: the session was checked by the caller.
async fn messaging(
    state: &AppState,
    authed: &Authed,
    frame: ClientFrame,
    delivery: &mut Delivery,
    out: &mut Vec<ServerFrame>,
) {
    let Delivery {
        stream,
        mailbox,
        inflight,
        source,
        subscribed_at,
    } = delivery;
    match frame {
        ClientFrame::Subscribe { device } => {
            if subscribed_at.is_some_and(|at| at.elapsed() < RESUBSCRIBE_AFTER) {
                out.push(error_frame(
                    ErrorCode::TooManyRequests,
                    "This connection subscribed a moment ago; try again in a few seconds.",
                ));
                return;
            }
            *subscribed_at = Some(Instant::now());
            // The old stream goes first: its gate is then free for the new one.
            *stream = None;
            *mailbox = None;
            match DeviceStream::subscribe(state, authed, device.clone()).await {
                Ok(mut s) => {
                    out.push(ServerFrame::Subscribed { device });
                    match s.backlog(state).await {
                        Ok(backlog) => match s.pump(state, &backlog).await {
                            Ok(frames) => out.extend(frames),
                            Err(e) => out.push(e),
                        },
                        Err(e) => out.push(e),
                    }
                    match s.receipts(state, None).await {
                        Ok(frames) => out.extend(frames),
                        Err(e) => out.push(e),
                    }
                    *mailbox = Some(s.mailbox());
                    *stream = Some(s);
                }
                Err(refused) => out.push(refused),
            }
        }
        ClientFrame::Send {
            request,
            conversation,
            message,
            commit,
            state: state_version,
        } => {
            let Some(s) = stream.as_ref() else {
                out.push(answer_to(Some(request), not_subscribed()));
                return;
            };
            let refuse =
                |message: &'static str| refused(request, ErrorCode::InvalidMessage, message);
            let Ok(seen) = haven_mls::wire::inspect(message.as_bytes()) else {
                out.push(refuse("That is not an MLS message."));
                return;
            };
            if seen.conversation.as_deref() != Some(conversation.as_str().as_bytes()) {
                out.push(refuse("That message belongs to another conversation."));
                return;
            }
            let job = SendJob {
                authed: authed.clone(),
                source: Some(*source),
                device: s.device.clone(),
                conversation: conversation.clone(),
                kind: seen.kind,
                epoch: seen.epoch.unwrap_or(u64::MAX),
                message: message.into_bytes(),
                commit,
                state: state_version,
            };
            // Queued before the next frame is read, and only by the device's newest
            // connection: stored in the order the device wrote them.
            let (gate, generation) = s.gate();
            let newest = gate.lock().await;
            if *newest != generation {
                out.push(refused(
                    request,
                    ErrorCode::Superseded,
                    "This device subscribed again on another connection; send it there.",
                ));
                return;
            }
            let queued = state.writer().queue_send(job).await;
            drop(newest);
            let owner = s.owner();
            let (state, authed, source) = (state.clone(), authed.clone(), *source);
            inflight.push(Box::pin(async move {
                let result = queued.answer().await;
                if let Err(Refusal {
                    quota: Some(exceeded),
                    ..
                }) = &result
                {
                    // Recorded even if this connection goes meanwhile.
                    let exceeded = *exceeded;
                    tokio::spawn(async move {
                        quota::record_refusal(&state, &authed, exceeded, Some(source)).await;
                    });
                }
                Done::Sent {
                    request,
                    owner,
                    conversation,
                    result,
                }
            }));
        }
        frame @ (ClientFrame::Ack { .. } | ClientFrame::Read { .. }) => {
            let (conversation, seq, read) = match frame {
                ClientFrame::Ack { conversation, seq } => (conversation, seq, false),
                ClientFrame::Read { conversation, seq } => (conversation, seq, true),
                _ => return,
            };
            let Some(s) = stream.as_mut() else {
                out.push(not_subscribed());
                return;
            };
            if seq > s.delivered(&conversation) {
                // What this connection knows may be behind the store (the device's own
                // messages, a conversation not read yet here): catch up, then judge.
                match s.pump(state, std::slice::from_ref(&conversation)).await {
                    Ok(frames) => out.extend(frames),
                    Err(e) => out.push(e),
                }
            }
            let delivered = s.delivered(&conversation);
            if read && seq > delivered {
                out.push(error_frame(
                    ErrorCode::InvalidMessage,
                    "That marks as read messages this device has not been sent.",
                ));
                return;
            }
            // An acknowledgement beyond what this connection delivered counts up to what
            // it delivered: a client that got further on an earlier connection (and
            // acknowledges its own position) still frees the window here.
            let seq = seq.min(delivered);
            let job = AckJob {
                authed: authed.clone(),
                device: s.device.clone(),
                conversation: conversation.clone(),
                seq,
                read,
            };
            let queued = state.writer().queue_ack(job).await;
            let owner = s.owner();
            inflight.push(Box::pin(async move {
                let result = queued.answer().await;
                if read {
                    Done::Read { result }
                } else {
                    Done::Acked {
                        owner,
                        conversation,
                        result,
                    }
                }
            }));
        }
        _ => {}
    }
}

/// The writer answered a `send` or an `ack`.
async fn finished(
    state: &AppState,
    done: Done,
    stream: &mut Option<DeviceStream>,
    out: &mut Vec<ServerFrame>,
) {
    match done {
        Done::Sent {
            request,
            owner,
            conversation,
            result: Ok(seq),
        } => {
            if let Some(s) = stream.as_mut().filter(|s| s.owner() == owner) {
                s.own_accepted(&conversation, seq);
            }
            out.push(ServerFrame::Accepted { request, seq });
        }
        Done::Sent {
            request,
            result: Err(refusal),
            ..
        } => out.push(ServerFrame::Refused {
            request,
            code: refusal.code,
            message: refusal.message.to_owned(),
            winner: refusal.winner,
            retry_after_secs: refusal.quota.map(|q| q.retry_after_secs),
        }),
        Done::Acked {
            owner,
            conversation,
            result: Ok(position),
        } => {
            if let Some(s) = stream.as_mut().filter(|s| s.owner() == owner) {
                s.acked(&conversation, position);
                // The window moved: send what waited for it.
                match s.pump_freed(state, &conversation).await {
                    Ok(frames) => out.extend(frames),
                    Err(e) => out.push(e),
                }
            }
        }
        Done::Acked {
            result: Err(refusal),
            ..
        }
        | Done::Read {
            result: Err(refusal),
        } => out.push(error_frame(refusal.code, refusal.message)),
        Done::Read { result: Ok(_) } => {}
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The peer may already be gone; nothing more to do then.
    let _ = send_one(socket, Message::Close(Some(frame))).await;
}

async fn connection(
    mut socket: WebSocket,
    state: AppState,
    org: Org,
    slot: AnonymousSlot,
    source: std::net::IpAddr,
) {
    let heartbeat = state.heartbeat();
    // Until it authenticates, the socket holds a place among its address's anonymous
    // ones, and must authenticate by the deadline.
    let mut slot = Some(slot);
    let auth_deadline = tokio::time::sleep(state.guards().ws_auth_deadline);
    tokio::pin!(auth_deadline);
    let mut bound: Option<Bound> = None;
    let (mut control_tx_id, mut control) = (
        None::<u64>,
        None::<tokio::sync::mpsc::UnboundedReceiver<Control>>,
    );
    let hello = ServerFrame::Hello {
        heartbeat_secs: u32::try_from(heartbeat.as_secs()).unwrap_or(u32::MAX),
    };
    let Some(hello) = encode(&hello) else { return };
    if !send_one(&mut socket, hello).await {
        return;
    }
    let mut ticks = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let mut delivery = Delivery {
        stream: None,
        mailbox: None,
        inflight: FuturesUnordered::new(),
        source,
        subscribed_at: None,
    };
    loop {
        tokio::select! {
            // A client that sends without reading its answers is read no further until
            // some are answered.
            received = socket.recv(), if delivery.inflight.len() < MAX_UNANSWERED => {
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
                let replies = match message {
                    Message::Text(text) => match parse(text.as_str()) {
                        Ok(frame @ (ClientFrame::Subscribe { .. }
        | ClientFrame::Send { .. }
        | ClientFrame::Ack { .. }
        | ClientFrame::Read { .. })) => {
                            let mut out = Vec::new();
                            let request = match &frame {
                                ClientFrame::Send { request, .. } => Some(*request),
                                _ => None,
                            };
                            match authorised(&state, &org, &mut bound, Action::Converse).await {
                                Err(refusal) => out.push(answer_to(request, refusal)),
                                Ok(()) => {
                                    if let Some(b) = bound.as_ref() {
                                        messaging(&state, &b.authed, frame, &mut delivery, &mut out).await;
                                    }
                                }
                            }
                            out
                        }
                        Ok(frame) => {
                            let mut reply = handle(&state, &org, &mut bound, frame).await;
                            if let Some(b) = bound.as_mut().filter(|b| b.registration == u64::MAX) {
                                if let Some(old) = control_tx_id.take() {
                                    state.live().unregister(old);
                                }
                                match state.live().register_within(
                                    state.guards().ws_per_person,
                                    b.authed.session_hash.clone(),
                                    b.authed.user_id.clone(),
                                    b.authed.org.id.clone(),
                                    b.authed.role,
                                ) {
                                    Some((id, rx)) => {
                                        b.registration = id;
                                        slot = None;
                                        control_tx_id = Some(id);
                                        control = Some(rx);
                                    }
                                    None => {
                                        // Refused and closed: an unbound socket that gave its
                                        // anonymous place back must not stay open.
                                        reply = error_frame(
                                            ErrorCode::TooManyRequests,
                                            "You have too many connections open; close a tab or window and try again.",
                                        );
                                        let _ = send_all(&mut socket, &[reply]).await;
                                        close(&mut socket, CLOSE_POLICY, "too many connections").await;
                                        break;
                                    }
                                }
                            }
                            vec![reply]
                        }
                        Err(error) => vec![error],
                    },
                    Message::Binary(_) => vec![error_frame(
                        ErrorCode::UnknownFrame,
                        "This server accepts only JSON text frames.",
                    )],
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => break,
                };
                if !send_all(&mut socket, &replies).await {
                    break;
                }
            }
            Some(done) = delivery.inflight.next(), if !delivery.inflight.is_empty() => {
                let mut out = Vec::new();
                finished(&state, done, &mut delivery.stream, &mut out).await;
                if !send_all(&mut socket, &out).await {
                    break;
                }
            }
            posted = async {
                match delivery.mailbox.as_ref() {
                    Some(m) => m.take().await,
                    None => std::future::pending().await,
                }
            } => {
                if posted.revoked {
                    // Nothing more for this device, and none of its frames count.
                    delivery.stream = None;
                    delivery.mailbox = None;
                    let frame = error_frame(
                        ErrorCode::DeviceUnavailable,
                        "This encryption device was removed. Set up this browser again.",
                    );
                    if !send_all(&mut socket, &[frame]).await {
                        break;
                    }
                    continue;
                }
                let Some(s) = delivery.stream.as_mut() else { continue };
                let messages: Vec<Id> = posted.messages.into_iter().collect();
                let receipts: Vec<Id> = posted.receipts.into_iter().collect();
                let mut frames = match s.pump(&state, &messages).await {
                    Ok(frames) => frames,
                    Err(error) => vec![error],
                };
                if !receipts.is_empty() {
                    match s.receipts(&state, Some(&receipts)).await {
                        Ok(more) => frames.extend(more),
                        Err(error) => frames.push(error),
                    }
                }
                if !send_all(&mut socket, &frames).await {
                    break;
                }
            }
            Some(control) = async {
                match control.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => match control {
                Control::SessionEnded(reason) => {
                    let frame = ServerFrame::SessionEnded { reason };
                    if let Some(message) = encode(&frame) {
                        let _ = send_one(&mut socket, message).await;
                    }
                    close(&mut socket, CLOSE_POLICY, "session ended").await;
                    break;
                }
                Control::Push(frame) => {
                    let Some(message) = encode(&frame) else { continue };
                    if !send_one(&mut socket, message).await {
                        break;
                    }
                }
            },
            () = &mut auth_deadline, if slot.is_some() => {
                close(&mut socket, CLOSE_POLICY, "not signed in").await;
                break;
            }
            _ = ticks.tick() => {
                if last_seen.elapsed() > heartbeat * 2 {
                    close(&mut socket, CLOSE_GOING_AWAY, "no heartbeat").await;
                    break;
                }
                if !send_one(&mut socket, Message::Ping(Bytes::new())).await {
                    break;
                }
                // Conversations that a store error left waiting, with nothing in flight
                // to bring an acknowledgement, are tried again.
                if let Some(s) = delivery.stream.as_mut() {
                    let frames = match s.pump_waiting(&state).await {
                        Ok(frames) => frames,
                        Err(e) => vec![e],
                    };
                    if !send_all(&mut socket, &frames).await {
                        break;
                    }
                }
            }
        }
    }
    if let Some(id) = control_tx_id {
        state.live().unregister(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_frame_into_something_typed() {
        assert_eq!(
            parse(r#"{"type":"ping","seq":3}"#),
            Ok(ClientFrame::Ping { seq: 3 })
        );
        for bad in ["", "null", "{", r#"{"type":"nope"}"#, "\u{0}"] {
            assert!(matches!(
                parse(bad),
                Err(ServerFrame::Error {
                    code: ErrorCode::UnknownFrame,
                    ..
                })
            ));
        }
        let big = format!(
            r#"{{"type":"ping","seq":1,"pad":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            parse(&big),
            Err(ServerFrame::Error {
                code: ErrorCode::FrameTooLarge,
                ..
            })
        ));
    }
}
