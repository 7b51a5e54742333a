//! `GET /api/asyncapi.json`: the `/ws` WebSocket described as AsyncAPI 3.0, generated from
//! the frame types themselves (`haven_protocol::ws`), so the document cannot drift from
//! what the server and the app speak. Every frame either side sends is one message: its
//! payload is that frame's own schema (the variant of the generated `ClientFrame` or
//! `ServerFrame` schema, split out), and its examples are real frames serialised here.
//! The limits are read from the constants the server enforces. What a schema cannot say
//! (ordering, acknowledgement, what to do on each refusal) is in
//! `docs/messaging-protocol.md`.
//!
//! AsyncAPI describes one application, and this document describes the server: its
//! `receive` operations are what a client sends, its `send` operations what a client
//! receives.

use std::sync::OnceLock;

use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use haven_protocol::ErrorCode;
use haven_protocol::audit::SessionEndReason;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{
    CommitInfo, DELIVERY_WINDOW, Delivered, MAX_MLS_MESSAGE_BYTES, MESSAGE_RETENTION_SECS, MlsBytes,
};
use haven_protocol::ws::{ClientFrame, GapReason, MAX_FRAME_BYTES, Reached, ServerFrame, Topic};
use serde_json::{Map, Value, json};

use crate::routes::{Schemas, one};

/// The channel's key in the document (its address is `/ws`).
pub const CHANNEL: &str = "ws";

/// Which side sends a family of frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Side {
    /// The generated schema of the side's frame type.
    fn schema(self) -> &'static str {
        match self {
            Self::Client => "ClientFrame",
            Self::Server => "ServerFrame",
        }
    }

    fn direction(self) -> &'static str {
        match self {
            Self::Client => "client to server",
            Self::Server => "server to client",
        }
    }

    /// `ClientFrame` refuses unknown fields (`deny_unknown_fields`), which utoipa does not
    /// carry into the variants of an internally tagged enum, so it is said here; serde
    /// applies it to the variants with fields only (a unit variant's object may hold
    /// anything else). The server's frames may gain fields, which a client ignores.
    fn closed(self) -> bool {
        self == Self::Client
    }
}

/// One variant of a frame type, as its own schema.
struct Variant {
    /// The frame's `type`.
    tag: String,
    /// Its schema's name, `ClientFrame.send` say: also the message's key.
    schema: String,
    /// From the variant's doc comment.
    description: Option<String>,
    /// Whether the frame carries a `request` id (a `send` and its answers).
    request: bool,
}

/// One example frame: a machine-readable name, what it shows, and the frame as JSON.
struct Example {
    name: &'static str,
    summary: &'static str,
    payload: Value,
}

fn example<T: serde::Serialize>(
    name: &'static str,
    summary: &'static str,
    frame: &T,
) -> Option<Example> {
    Some(Example {
        name,
        summary,
        payload: serde_json::to_value(frame).ok()?,
    })
}

fn reference(base: &str, name: &str) -> Value {
    json!({ "$ref": format!("{base}/{name}") })
}

fn schema_ref(name: &str) -> Value {
    reference("#/components/schemas", name)
}

fn message_ref(key: &str) -> Value {
    reference(&format!("#/channels/{CHANNEL}/messages"), key)
}

/// The first sentence of a doc comment, on one line.
fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.split_inclusive(". ")
        .next()
        .map(str::trim_end)
        .unwrap_or_default()
        .to_owned()
}

/// The generated schemas of both frame types and of everything they contain, by name.
fn component_schemas() -> Map<String, Value> {
    let mut collected: Schemas = Vec::new();
    let _ = one::<ClientFrame>(&mut collected);
    let _ = one::<ServerFrame>(&mut collected);
    collected
        .into_iter()
        .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
        .collect()
}

/// Splits a frame type's generated `oneOf` into one schema per variant, named
/// `ClientFrame.send` and so on, so that each message's payload is exactly its frame;
/// the frame type's schema becomes the `oneOf` of references to them. A variant is
/// recognised by its `type` property, which serde's internal tag puts in each.
fn split(schemas: &mut Map<String, Value>, side: Side) -> Vec<Variant> {
    let name = side.schema();
    let Some(mut whole) = schemas.remove(name) else {
        return Vec::new();
    };
    let items = match whole.get_mut("oneOf") {
        Some(Value::Array(items)) => Some(std::mem::take(items)),
        _ => None,
    };
    let Some(items) = items else {
        schemas.insert(name.to_owned(), whole);
        return Vec::new();
    };
    let mut variants = Vec::new();
    let mut refs = Vec::new();
    for mut item in items {
        let Some(tag) = item
            .pointer("/properties/type/enum/0")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            refs.push(item);
            continue;
        };
        let has_fields = item
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|properties| properties.len() > 1);
        if side.closed()
            && has_fields
            && let Some(object) = item.as_object_mut()
        {
            object.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
        let schema = format!("{name}.{tag}");
        variants.push(Variant {
            description: item
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            request: item.pointer("/properties/request").is_some(),
            tag,
            schema: schema.clone(),
        });
        refs.push(schema_ref(&schema));
        schemas.insert(schema, item);
    }
    if let Some(object) = whole.as_object_mut() {
        object.insert("oneOf".to_owned(), Value::Array(refs));
    }
    schemas.insert(name.to_owned(), whole);
    variants
}

/// What the frames whose variants carry no doc comment are, in one sentence.
fn undocumented(tag: &str) -> Option<&'static str> {
    match tag {
        "pong" => Some("The answer to `ping`, with its `seq`."),
        "error" => Some(
            "A frame was refused or could not be handled: a stable `code` and a sentence \
             for people; nothing it asked for was done.",
        ),
        _ => None,
    }
}

/// One message per variant, keyed by its schema's name, with the examples of its type.
fn messages(side: Side, variants: &[Variant], examples: &[Example]) -> Map<String, Value> {
    let mut out = Map::new();
    for variant in variants {
        let tag = Some(variant.tag.as_str());
        let of_type: Vec<&Example> = examples
            .iter()
            .filter(|e| e.payload.get("type").and_then(Value::as_str) == tag)
            .collect();
        let summary = variant
            .description
            .as_deref()
            .map(first_sentence)
            .filter(|s| !s.is_empty())
            .or_else(|| undocumented(&variant.tag).map(str::to_owned))
            .or_else(|| of_type.first().map(|e| e.summary.to_owned()))
            .unwrap_or_else(|| format!("The `{}` frame.", variant.tag));
        let mut message = Map::new();
        message.insert("name".to_owned(), json!(variant.tag));
        message.insert(
            "title".to_owned(),
            json!(format!("{} ({})", variant.tag, side.direction())),
        );
        message.insert("summary".to_owned(), json!(summary));
        if let Some(description) = &variant.description {
            message.insert("description".to_owned(), json!(description));
        }
        message.insert("contentType".to_owned(), json!("application/json"));
        message.insert("payload".to_owned(), schema_ref(&variant.schema));
        if variant.request {
            message.insert(
                "correlationId".to_owned(),
                json!({
                    "description": "A `send` names its `request`; the one `accepted` or \
                        `refused` that answers it names the same.",
                    "location": "$message.payload#/request",
                }),
            );
        }
        let shown: Vec<Value> = of_type
            .iter()
            .map(|e| json!({ "name": e.name, "summary": e.summary, "payload": e.payload }))
            .collect();
        message.insert("examples".to_owned(), Value::Array(shown));
        out.insert(variant.schema.clone(), Value::Object(message));
    }
    out
}

// The ids the examples use: one conversation, the client's device, another member's
// device that sends, a device being added, and another person.
const CONVERSATION: [u8; 16] = [
    0x8d, 0x1e, 0x4a, 0x52, 0x07, 0xc9, 0x43, 0x6b, 0x9e, 0x21, 0x5f, 0x80, 0x3a, 0xd4, 0x17, 0x62,
];
const DEVICE: [u8; 16] = [
    0x2b, 0x70, 0xe1, 0x9c, 0x44, 0x0d, 0x4f, 0x38, 0xa6, 0x15, 0xc2, 0x7e, 0x91, 0x0b, 0x5d, 0xf3,
];
const SENDER: [u8; 16] = [
    0xc4, 0x5a, 0x13, 0x8e, 0x6f, 0x22, 0x40, 0xd9, 0x87, 0x3b, 0x0e, 0xa1, 0x56, 0xfc, 0x29, 0x94,
];
const PERSON: [u8; 16] = [
    0x9f, 0x03, 0x6c, 0xd1, 0x28, 0xb5, 0x47, 0xea, 0x5b, 0x91, 0x0f, 0x36, 0xc8, 0x7d, 0x24, 0xa0,
];
/// A session token's shape (43 base64url characters); it names no session.
const TOKEN: &str = "q3Vx8Jk0mZt2Wn7Yb5Rc9Ld4Hs6Gf1Ea_Pu-Oi3Ky8T";

/// MLS content types (RFC 9420 §6).
const APPLICATION: u8 = 1;
const COMMIT: u8 = 3;

/// An `MLSMessage` holding a `PrivateMessage` (RFC 9420 §6.3) of conversation `group`
/// at `epoch`: the framing the server reads is real (version, wire format, group id,
/// epoch, content type), the encrypted sender data and ciphertext are short stand-ins.
fn private_message(group: &Id, epoch: u64, content_type: u8) -> Option<MlsBytes> {
    let group = group.as_str().as_bytes();
    // mls10, mls_private_message
    let mut bytes = vec![0x00, 0x01, 0x00, 0x02];
    // Lengths below 64 take one byte in MLS's variable-length encoding.
    bytes.push(u8::try_from(group.len()).ok().filter(|n| *n < 64)?);
    bytes.extend_from_slice(group);
    bytes.extend_from_slice(&epoch.to_be_bytes());
    bytes.push(content_type);
    // authenticated_data: empty
    bytes.push(0);
    bytes.push(16);
    bytes.extend_from_slice(&[0xa5; 16]);
    bytes.push(48);
    bytes.extend_from_slice(&[0x3c; 48]);
    MlsBytes::new(bytes).ok()
}

/// An `MLSMessage` holding a `Welcome` (RFC 9420 §12.4.3.1) in Haven's ciphersuite, with
/// a stand-in for its encrypted parts.
fn welcome() -> Option<MlsBytes> {
    // mls10, mls_welcome, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, no secrets here
    let mut bytes = vec![0x00, 0x01, 0x00, 0x03, 0x00, 0x01, 0x00];
    bytes.push(32);
    bytes.extend_from_slice(&[0x96; 32]);
    MlsBytes::new(bytes).ok()
}

/// What a client sends, one or more of each frame.
fn client_examples() -> Vec<Example> {
    let conversation = Id::from_bytes(CONVERSATION);
    let mut out = vec![
        example(
            "ping",
            "Application keepalive; the answer is `pong` with the same `seq`.",
            &ClientFrame::Ping { seq: 7 },
        ),
        example(
            "auth",
            "Binds the connection to a signed-in session: the `token` from `POST /api/auth/login`.",
            &ClientFrame::Auth {
                token: TOKEN.to_owned(),
            },
        ),
        example(
            "activity",
            "The person is using the app: keeps the session's idle timer from running out.",
            &ClientFrame::Activity,
        ),
        example(
            "subscribe",
            "Receive what this device has not acknowledged, then everything new.",
            &ClientFrame::Subscribe {
                device: Id::from_bytes(DEVICE),
            },
        ),
        example(
            "acknowledge",
            "Everything up to seq 18 of the conversation is processed on this device.",
            &ClientFrame::Ack {
                conversation: conversation.clone(),
                seq: 18,
            },
        ),
        example(
            "read",
            "The person has seen everything up to seq 16 on this device (for the audit log).",
            &ClientFrame::Read {
                conversation: conversation.clone(),
                seq: 16,
            },
        ),
    ];
    if let Some(message) = private_message(&conversation, 3, APPLICATION) {
        out.push(example(
            "application_message",
            "An application message (a `PrivateMessage`) at epoch 3; no `commit`; written by \
             the device's sealed state version 17.",
            &ClientFrame::Send {
                request: 42,
                conversation: conversation.clone(),
                message,
                commit: None,
                state: Some(17),
            },
        ));
    }
    if let (Some(message), Some(welcome)) = (private_message(&conversation, 3, COMMIT), welcome()) {
        out.push(example(
            "commit_adding_a_device",
            "A commit at epoch 3 that adds one device (the server reads who from the commit): it \
             carries the device's Welcome.",
            &ClientFrame::Send {
                request: 43,
                conversation,
                message,
                commit: Some(CommitInfo {
                    welcome: Some(welcome),
                    group_info: None,
                }),
                state: Some(18),
            },
        ));
    }
    out.into_iter().flatten().collect()
}

/// What the server sends, one or more of each frame.
fn server_examples() -> Vec<Example> {
    let conversation = Id::from_bytes(CONVERSATION);
    let mut out = vec![
        example(
            "hello",
            "The first frame on every connection.",
            &ServerFrame::Hello { heartbeat_secs: 15 },
        ),
        example(
            "pong",
            "The answer to `ping` with `seq` 7.",
            &ServerFrame::Pong { seq: 7 },
        ),
        example(
            "heartbeat",
            "The answer to `activity`.",
            &ServerFrame::Heartbeat,
        ),
        example(
            "read_beyond_delivered",
            "A `read` past what this connection delivered was refused; nothing moved. (An `ack` \
             past it counts as far as what was delivered.)",
            &ServerFrame::Error {
                code: ErrorCode::InvalidMessage,
                message: "That marks as read messages this device has not been sent.".to_owned(),
            },
        ),
        example(
            "device_revoked",
            "This connection's device was revoked: nothing more is delivered and its frames count \
             no more.",
            &ServerFrame::Error {
                code: ErrorCode::DeviceUnavailable,
                message: "This encryption device was removed. Set up this browser again."
                    .to_owned(),
            },
        ),
        example(
            "authenticated",
            "The `auth` token was good: the connection now belongs to that session.",
            &ServerFrame::Authenticated,
        ),
        example(
            "session_ended",
            "The session was signed out elsewhere; the server closes the connection next.",
            &ServerFrame::SessionEnded {
                reason: SessionEndReason::SignedOut,
            },
        ),
        example(
            "conversations_changed",
            "Someone one converses with set up a new device: list the conversations again.",
            &ServerFrame::Changed {
                topic: Topic::Conversations,
            },
        ),
        example(
            "subscribed",
            "The connection now receives this device's messages; deliveries follow.",
            &ServerFrame::Subscribed {
                device: Id::from_bytes(DEVICE),
            },
        ),
        example(
            "accepted",
            "Request 42 is durable as seq 18 of its conversation.",
            &ServerFrame::Accepted {
                request: 42,
                seq: 18,
            },
        ),
        example(
            "stale_epoch",
            "Request 43, a commit, lost its epoch to the commit at seq 17: process that, then \
             commit again.",
            &ServerFrame::Refused {
                request: 43,
                code: ErrorCode::StaleEpoch,
                message:
                    "Another change to this conversation came first. Apply it, then try again."
                        .to_owned(),
                winner: Some(17),
                retry_after_secs: None,
            },
        ),
        example(
            "superseded",
            "Request 44 came on a connection the device has since subscribed again elsewhere: \
             nothing was stored.",
            &ServerFrame::Refused {
                request: 44,
                code: ErrorCode::Superseded,
                message: "This device subscribed again on another connection; send it there."
                    .to_owned(),
                winner: None,
                retry_after_secs: None,
            },
        ),
        example(
            "quota_exceeded",
            "Request 45 was refused: this device stored what it may today. Nothing was stored; \
             send it again after `retry_after_secs`.",
            &ServerFrame::Refused {
                request: 45,
                code: ErrorCode::QuotaExceeded,
                message: "This device has stored as much as it may for now; nothing was stored."
                    .to_owned(),
                winner: None,
                retry_after_secs: Some(5400),
            },
        ),
        example(
            "receipts",
            "The furthest any device of that person has acknowledged in the conversation.",
            &ServerFrame::Receipts {
                conversation: conversation.clone(),
                delivered: vec![Reached {
                    user: Id::from_bytes(PERSON),
                    seq: 18,
                }],
            },
        ),
        example(
            "gap",
            "Seqs 3 to 9 expired before this device received them: acknowledge 9 and get them from \
             a member's history.",
            &ServerFrame::Gap {
                conversation: conversation.clone(),
                from: 3,
                to: 9,
                reason: GapReason::Expired,
            },
        ),
    ];
    if let Some(message) = private_message(&conversation, 3, APPLICATION) {
        out.push(example(
            "application_message",
            "Another member's application message at seq 16; acknowledge it once processed.",
            &ServerFrame::Deliver {
                conversation: conversation.clone(),
                seq: 16,
                kind: Delivered::Application,
                sender: Id::from_bytes(SENDER),
                message,
            },
        ));
    }
    if let Some(message) = welcome() {
        out.push(example(
            "welcome",
            "The Welcome that added this device, at the seq of the commit that added it: join the \
             group, then process what follows.",
            &ServerFrame::Deliver {
                conversation,
                seq: 12,
                kind: Delivered::Welcome,
                sender: Id::from_bytes(SENDER),
                message,
            },
        ));
    }
    out.into_iter().flatten().collect()
}

const INFO: &str = "Haven's messaging over one WebSocket per app: JSON text frames, each an \
object whose `type` names it. Every message of a conversation is MLS (RFC 9420) \
ciphertext; the server orders, stores and forwards it and never holds a key that opens \
it.\n\n\
This document describes the server. Its `receive` operations are the frames a client \
sends, its `send` operations the frames a client receives. Certificates, KeyPackages, \
the group configuration, ordering, acknowledgement and what to do on each refusal are \
in `docs/messaging-protocol.md` of Haven's repository; the HTTP endpoints (devices, \
KeyPackages, conversations, attachments) are in `/api/openapi.json`.";

const CHANNEL_DESCRIPTION: &str = "Open `wss://{host}/ws` (a browser sends its own \
`Origin`, which must be the app's). The server says `hello` first. Send `auth` with a \
signed-in session's token within 10 seconds, then `subscribe` with one of the person's \
encryption devices: the server delivers, per conversation in sequence order, what that \
device has not acknowledged and then everything new, without the device's own \
messages. `send` stores a message (answered by `accepted` with its sequence number, or \
`refused`, each naming the send's `request`); `ack` says what the device has processed. \
A frame the server cannot read is answered with `error` and the connection stays \
usable; a frame larger than the transport limit closes it (1009).";

/// The AsyncAPI document.
pub fn document() -> Value {
    let mut schemas = component_schemas();
    let client = split(&mut schemas, Side::Client);
    let server = split(&mut schemas, Side::Server);
    let client_messages = messages(Side::Client, &client, &client_examples());
    let server_messages = messages(Side::Server, &server, &server_examples());
    let refs = |messages: &Map<String, Value>| -> Vec<Value> {
        messages
            .keys()
            .map(|key| message_ref(key.as_str()))
            .collect()
    };
    let (from_client, to_client) = (refs(&client_messages), refs(&server_messages));
    let mut all = client_messages;
    all.extend(server_messages);
    let channel = reference("#/channels", CHANNEL);
    let guards = crate::state::Guards::default();
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Haven messaging WebSocket",
            "version": env!("CARGO_PKG_VERSION"),
            "description": INFO,
        },
        "defaultContentType": "application/json",
        "servers": {
            "haven": {
                "host": "{host}",
                "protocol": "wss",
                "title": "The organisation's Haven server",
                "description": "TLS only: there is no plain `ws://`. The host is the one the \
                    organisation's app is served on; the organisation is chosen by it.",
                "variables": {
                    "host": {
                        "default": "localhost:8443",
                        "description": "The organisation's host name, with its port unless 443.",
                        "examples": ["clinic.example", "localhost:8443"],
                    },
                },
            },
        },
        "channels": {
            CHANNEL: {
                "address": "/ws",
                "title": "The app's connection",
                "description": CHANNEL_DESCRIPTION,
                "servers": [reference("#/servers", "haven")],
                "messages": Value::Object(all),
                "x-limits": {
                    "frameBytes": MAX_FRAME_BYTES,
                    "transportCloseBytes": crate::http::ws::TRANSPORT_LIMIT_BYTES,
                    "mlsMessageBytes": MAX_MLS_MESSAGE_BYTES,
                    "deliveryWindowPerConversation": DELIVERY_WINDOW,
                    "bytesInFlightPerConnection": crate::delivery::socket::BYTES_IN_FLIGHT,
                    "signedInSocketsPerPerson": guards.ws_per_person,
                    "anonymousSocketsPerAddress": guards.ws_anonymous_per_address,
                    "authDeadlineSecs": guards.ws_auth_deadline.as_secs(),
                    "retentionSecs": MESSAGE_RETENTION_SECS,
                    "pastEpochs": haven_mls::MAX_PAST_EPOCHS,
                },
            },
        },
        "operations": {
            "receiveClientFrame": {
                "action": "receive",
                "channel": channel,
                "title": "Frames a client sends",
                "summary": "Every frame the server takes from a client.",
                "messages": from_client,
            },
            "sendServerFrame": {
                "action": "send",
                "channel": channel,
                "title": "Frames the server sends",
                "summary": "Every frame a client receives.",
                "messages": to_client,
            },
            "answerSend": {
                "action": "receive",
                "channel": channel,
                "title": "A send and its answer",
                "summary": "Every `send` is answered by exactly one `accepted` or \
                    `refused` naming its `request`.",
                "description": "Also a `send` before `auth` or `subscribe`, and one whose frame \
                    does not parse but whose `type` and `request` can be read. The answers may \
                    come in another order than the sends; the messages are stored in the order \
                    the connection received them. Only if the session ends first does \
                    `session_ended` come instead, and a frame too large to read at all gets \
                    `error` `frame_too_large`.",
                "messages": [message_ref("ClientFrame.send")],
                "reply": {
                    "channel": channel,
                    "messages": [
                        message_ref("ServerFrame.accepted"),
                        message_ref("ServerFrame.refused"),
                    ],
                },
            },
            "answerPing": {
                "action": "receive",
                "channel": channel,
                "title": "A ping and its pong",
                "summary": "`ping` is answered by `pong` with the same `seq`, signed in or not.",
                "messages": [message_ref("ClientFrame.ping")],
                "reply": {
                    "channel": channel,
                    "messages": [message_ref("ServerFrame.pong")],
                },
            },
        },
        "components": {
            "schemas": Value::Object(schemas),
        },
    })
}

/// The document, rendered once.
pub async fn serve() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| serde_json::to_string(&document()).unwrap_or_default());
    let mut response = body.clone().into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
