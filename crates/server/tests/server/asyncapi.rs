//! `/api/asyncapi.json` as the author of another client reads it: valid AsyncAPI 3.0
//! (checked offline against the AsyncAPI Initiative's own JSON Schema in
//! `tests/fixtures/asyncapi-3.0`), one message for every frame either side sends, and
//! examples that the message's payload schema, the frame types the server and the app
//! use, and a live server all take. The schemas and serde agree at the edges a client
//! meets: a field left out, a field added, another frame's `type`, base64 spellings.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use haven_protocol::messaging::MlsBytes;
use haven_protocol::ws::{ClientFrame, ServerFrame};
use hyper::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{TestServer, ws};

const SCHEMA_ID: &str = "http://asyncapi.com/definitions/3.0.0/asyncapi.json";

/// Every client frame's `type`. The match below does not compile without a new variant,
/// and the test fails until the list names it too.
const CLIENT_TYPES: [&str; 7] = [
    "ping",
    "auth",
    "activity",
    "subscribe",
    "send",
    "ack",
    "read",
];

fn client_type(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Ping { .. } => "ping",
        ClientFrame::Auth { .. } => "auth",
        ClientFrame::Activity => "activity",
        ClientFrame::Subscribe { .. } => "subscribe",
        ClientFrame::Send { .. } => "send",
        ClientFrame::Ack { .. } => "ack",
        ClientFrame::Read { .. } => "read",
    }
}

/// Every server frame's `type`, kept as [`CLIENT_TYPES`] is.
const SERVER_TYPES: [&str; 13] = [
    "hello",
    "pong",
    "heartbeat",
    "error",
    "authenticated",
    "session_ended",
    "changed",
    "subscribed",
    "accepted",
    "refused",
    "deliver",
    "receipts",
    "gap",
];

fn server_type(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::Hello { .. } => "hello",
        ServerFrame::Pong { .. } => "pong",
        ServerFrame::Heartbeat => "heartbeat",
        ServerFrame::Error { .. } => "error",
        ServerFrame::Authenticated => "authenticated",
        ServerFrame::SessionEnded { .. } => "session_ended",
        ServerFrame::Changed { .. } => "changed",
        ServerFrame::Subscribed { .. } => "subscribed",
        ServerFrame::Accepted { .. } => "accepted",
        ServerFrame::Refused { .. } => "refused",
        ServerFrame::Deliver { .. } => "deliver",
        ServerFrame::Receipts { .. } => "receipts",
        ServerFrame::Gap { .. } => "gap",
    }
}

/// The AsyncAPI 3.0.0 JSON Schema: JSON Schema draft-07 with every definition bundled.
fn asyncapi_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let path = format!(
        "{}/tests/fixtures/asyncapi-3.0/asyncapi-3.0.0.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["$id"], SCHEMA_ID);
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(SCHEMA_ID, json).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(SCHEMA_ID, &mut schemas).unwrap();
    (schemas, index)
}

async fn document_of(server: &TestServer) -> Value {
    let reply = server.client().get("/api/asyncapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    reply.json()
}

async fn served_document() -> Value {
    document_of(&TestServer::start().await).await
}

/// What a `#/…` reference inside the document names.
fn target<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("not a reference inside the document: {reference}"));
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling reference {reference}"))
}

/// Every `$ref` in `value`.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference.clone());
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// `schema` with every reference replaced by what it names, so it compiles on its own.
fn inlined(doc: &Value, schema: &Value) -> Value {
    match schema {
        Value::Object(map) => match map.get("$ref").and_then(Value::as_str) {
            Some(reference) => inlined(doc, target(doc, reference)),
            None => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), inlined(doc, v)))
                    .collect(),
            ),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| inlined(doc, v)).collect()),
        other => other.clone(),
    }
}

/// One payload schema of the document, compiled as AsyncAPI reads it (draft-07).
struct Payload {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Payload {
    fn new(doc: &Value, schema: &Value) -> Self {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V7);
        let url = "https://haven.invalid/payload.json";
        compiler.add_resource(url, inlined(doc, schema)).unwrap();
        let mut schemas = boon::Schemas::new();
        let index = compiler.compile(url, &mut schemas).unwrap();
        Self { schemas, index }
    }

    fn of(doc: &Value, schema_name: &str) -> Self {
        Self::new(
            doc,
            &json!({ "$ref": format!("#/components/schemas/{schema_name}") }),
        )
    }

    fn allows(&self, value: &Value) -> bool {
        self.schemas.validate(value, self.index).is_ok()
    }

    fn check(&self, value: &Value, what: &str) {
        if let Err(error) = self.schemas.validate(value, self.index) {
            panic!("{what}: {value} does not match its schema:\n{error:#}");
        }
    }
}

/// The messages an operation names, by their key in the channel.
fn operation_messages<'a>(doc: &'a Value, operation: &str) -> Vec<(String, &'a Value)> {
    doc["operations"][operation]["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("operation {operation} lists no messages"))
        .iter()
        .map(|m| {
            let reference = m["$ref"].as_str().unwrap();
            let key = reference
                .strip_prefix("#/channels/ws/messages/")
                .unwrap_or_else(|| panic!("{operation}: {reference} is not a message of /ws"));
            (key.to_owned(), target(doc, reference))
        })
        .collect()
}

/// The payload of the example `name` of message `key`.
fn example<'a>(doc: &'a Value, key: &str, name: &str) -> &'a Value {
    doc["channels"]["ws"]["messages"][key]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| &e["payload"])
        .unwrap_or_else(|| panic!("{key} has no example {name}"))
}

#[tokio::test]
async fn the_document_is_valid_asyncapi_3_0() {
    let doc = served_document().await;
    assert_eq!(doc["asyncapi"], "3.0.0");
    let (schemas, index) = asyncapi_validator();
    if let Err(error) = schemas.validate(&doc, index) {
        panic!("the document is not valid AsyncAPI 3.0:\n{error:#}");
    }
    assert_eq!(doc, haven_server::http::asyncapi::document());

    // The validator is not vacuous: each of these breaks it.
    let breakages = [
        ("another version", "/asyncapi", json!("2.6.0")),
        (
            "an operation neither sent nor received",
            "/operations/answerSend/action",
            json!("publish"),
        ),
        (
            "a message with a field AsyncAPI does not have",
            "/channels/ws/messages/ClientFrame.ping/direction",
            json!("up"),
        ),
        (
            "an example with a field AsyncAPI does not have",
            "/channels/ws/messages/ClientFrame.ping/examples/0/value",
            json!({}),
        ),
        (
            "a Schema Object of an unknown type",
            "/components/schemas/Id/type",
            json!("text"),
        ),
    ];
    for (what, pointer, value) in breakages {
        let mut broken = doc.clone();
        let (parent, name) = pointer.rsplit_once('/').unwrap();
        broken
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("no object at {parent}"))
            .insert(name.to_owned(), value);
        assert!(
            schemas.validate(&broken, index).is_err(),
            "the validator took a document with {what}"
        );
    }

    // What the JSON Schema cannot check: every reference names something in the
    // document, each payload a schema of its components.
    let mut all = Vec::new();
    references(&doc, &mut all);
    assert!(all.len() > 40, "{all:?}");
    for reference in &all {
        target(&doc, reference);
    }
    for (key, message) in doc["channels"]["ws"]["messages"].as_object().unwrap() {
        let payload = message["payload"]["$ref"].as_str().unwrap();
        assert_eq!(
            payload,
            format!("#/components/schemas/{key}"),
            "{key}: its payload is its own frame's schema"
        );
    }
    let channel = &doc["channels"]["ws"];
    assert_eq!(channel["address"], "/ws");
    assert_eq!(doc["servers"]["haven"]["protocol"], "wss");
    assert_eq!(
        channel["x-limits"]["deliveryWindowPerConversation"],
        haven_protocol::messaging::DELIVERY_WINDOW
    );
    assert_eq!(
        channel["x-limits"]["bytesInFlightPerConnection"],
        haven_server::delivery::socket::BYTES_IN_FLIGHT
    );
    assert_eq!(
        channel["x-limits"]["frameBytes"],
        haven_protocol::ws::MAX_FRAME_BYTES
    );
}

#[tokio::test]
async fn every_frame_has_a_message_whose_examples_its_schema_and_the_frame_types_take() {
    let doc = served_document().await;
    let mut examples = 0;
    for (operation, action, frame_schema, types) in [
        (
            "receiveClientFrame",
            "receive",
            "ClientFrame",
            &CLIENT_TYPES[..],
        ),
        ("sendServerFrame", "send", "ServerFrame", &SERVER_TYPES[..]),
    ] {
        assert_eq!(doc["operations"][operation]["action"], action);
        let expected: BTreeSet<&str> = types.iter().copied().collect();

        // The frame type's schema, as utoipa derived it from the enum, has exactly
        // these variants.
        let variants: BTreeSet<&str> = doc["components"]["schemas"][frame_schema]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                target(&doc, v["$ref"].as_str().unwrap())["properties"]["type"]["enum"][0]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(variants, expected, "{frame_schema}'s variants");

        let messages = operation_messages(&doc, operation);
        let names: BTreeSet<&str> = messages
            .iter()
            .map(|(_, m)| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{operation}: one message per frame");
        assert_eq!(messages.len(), expected.len());

        for (key, message) in messages {
            let name = message["name"].as_str().unwrap();
            assert_eq!(key, format!("{frame_schema}.{name}"));
            assert!(
                !message["summary"].as_str().unwrap_or_default().is_empty(),
                "{key} has no summary"
            );
            let payload = Payload::new(&doc, &message["payload"]);
            let shown = message["examples"].as_array().unwrap();
            assert!(!shown.is_empty(), "{key} has no example");
            for shown in shown {
                let value = &shown["payload"];
                let what = format!("{key} example {}", shown["name"]);
                payload.check(value, &what);
                assert_eq!(value["type"], name, "{what}");
                // The frame types take it as it is, and write it back the same.
                let typed = if frame_schema == "ClientFrame" {
                    let frame: ClientFrame = serde_json::from_value(value.clone())
                        .unwrap_or_else(|e| panic!("{what}: not a ClientFrame: {e}"));
                    assert_eq!(client_type(&frame), name, "{what}");
                    serde_json::to_value(&frame).unwrap()
                } else {
                    let frame: ServerFrame = serde_json::from_value(value.clone())
                        .unwrap_or_else(|e| panic!("{what}: not a ServerFrame: {e}"));
                    assert_eq!(server_type(&frame), name, "{what}");
                    serde_json::to_value(&frame).unwrap()
                };
                assert_eq!(&typed, value, "{what}: written back otherwise");

                // The schema and serde agree on the example changed at its edges.
                let parses = |v: &Value| {
                    if frame_schema == "ClientFrame" {
                        serde_json::from_value::<ClientFrame>(v.clone()).is_ok()
                    } else {
                        serde_json::from_value::<ServerFrame>(v.clone()).is_ok()
                    }
                };
                let mut probes = Vec::new();
                let mut other = value.clone();
                other["type"] = json!("no_such_frame");
                probes.push(("an unknown type".to_owned(), other));
                let mut extended = value.clone();
                extended["extra"] = json!(true);
                probes.push(("a field added".to_owned(), extended));
                for field in value.as_object().unwrap().keys().filter(|k| *k != "type") {
                    let mut without = value.clone();
                    without.as_object_mut().unwrap().remove(field);
                    probes.push((format!("without {field}"), without));
                }
                for (change, probe) in probes {
                    assert_eq!(
                        payload.allows(&probe),
                        parses(&probe),
                        "{what} with {change}: the schema and serde disagree on {probe}"
                    );
                }
                examples += 1;
            }
            // The answers to a send name its request, and say so.
            if message["payload"]["$ref"] == "#/components/schemas/ClientFrame.send"
                || name == "accepted"
                || name == "refused"
            {
                assert_eq!(
                    message["correlationId"]["location"], "$message.payload#/request",
                    "{key}"
                );
            }
        }
    }
    assert!(examples >= CLIENT_TYPES.len() + SERVER_TYPES.len());
    let reply: Vec<&str> = doc["operations"]["answerSend"]["reply"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        reply,
        [
            "#/channels/ws/messages/ServerFrame.accepted",
            "#/channels/ws/messages/ServerFrame.refused"
        ]
    );

    // A client frame with a field the server does not know is refused by both.
    let ping = example(&doc, "ClientFrame.ping", "ping");
    let mut extended = ping.clone();
    extended["extra"] = json!(true);
    assert!(!Payload::of(&doc, "ClientFrame.ping").allows(&extended));
    assert!(serde_json::from_value::<ClientFrame>(extended).is_err());
    // Another side's frame is neither side's.
    let pong = example(&doc, "ServerFrame.pong", "pong");
    assert!(!Payload::of(&doc, "ClientFrame").allows(pong));
    assert!(Payload::of(&doc, "ServerFrame").allows(pong));
}

/// The MLS bytes in frames: their schema spells base64 exactly as the parser reads it,
/// and the examples' messages carry real MLS framing for the conversation they name.
#[tokio::test]
async fn mls_bytes_are_described_as_parsed_and_the_examples_frame_real_mls() {
    let doc = served_document().await;
    let schema = Payload::of(&doc, "MlsBytes");
    for text in [
        "AAEAAg==", "AAE=", "AAF=", "AA==", "AB==", "AAAA", "+/+/", "AAA", "", "A===", "AA*A",
        "AAEAAg", "AAAA====", " AAAA",
    ] {
        assert_eq!(
            schema.allows(&json!(text)),
            serde_json::from_value::<MlsBytes>(json!(text)).is_ok(),
            "{text:?}"
        );
    }

    for (name, kind) in [
        ("application_message", haven_mls::MessageKind::Application),
        ("commit_adding_a_device", haven_mls::MessageKind::Commit),
    ] {
        let send = example(&doc, "ClientFrame.send", name);
        let ClientFrame::Send {
            conversation,
            message,
            commit,
            ..
        } = serde_json::from_value::<ClientFrame>(send.clone()).unwrap()
        else {
            panic!("{name} is not a send");
        };
        let seen = haven_mls::wire::inspect(message.as_bytes()).unwrap();
        assert_eq!(seen.kind, kind, "{name}");
        assert_eq!(
            seen.conversation.as_deref(),
            Some(conversation.as_str().as_bytes()),
            "{name}: the group id is the conversation id's text"
        );
        if let Some(welcome) = commit.and_then(|c| c.welcome) {
            let seen = haven_mls::wire::inspect(welcome.as_bytes()).unwrap();
            assert_eq!(seen.kind, haven_mls::MessageKind::Welcome);
        }
    }
}

/// The next text frame as JSON, skipping control frames.
async fn next_json(socket: &mut ws::Socket) -> Value {
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

/// Sends `sent` (if any) and reads the answer, which must be a frame the document
/// describes, of the schema `schema`.
async fn answer(socket: &mut ws::Socket, doc: &Value, sent: Option<&Value>, schema: &str) -> Value {
    if let Some(sent) = sent {
        socket.send(Message::text(sent.to_string())).await.unwrap();
    }
    let frame = next_json(socket).await;
    Payload::of(doc, "ServerFrame").check(&frame, "a live frame");
    Payload::of(doc, schema).check(&frame, schema);
    frame
}

/// A live server answers the document's own examples with frames its schemas describe,
/// each send answered with the example's request.
#[tokio::test]
async fn a_live_server_answers_the_examples_with_frames_the_document_describes() {
    let server = TestServer::start().await;
    let doc = document_of(&server).await;
    let mut socket = ws::open(&server, None).await;
    answer(&mut socket, &doc, None, "ServerFrame.hello").await;
    let ping = example(&doc, "ClientFrame.ping", "ping");
    let pong = answer(&mut socket, &doc, Some(ping), "ServerFrame.pong").await;
    assert_eq!(pong["seq"], ping["seq"]);

    // Before signing in, each send is refused by its request, the rest with an error.
    for name in ["application_message", "commit_adding_a_device"] {
        let send = example(&doc, "ClientFrame.send", name);
        let refused = answer(&mut socket, &doc, Some(send), "ServerFrame.refused").await;
        assert_eq!(refused["request"], send["request"], "{name}");
        assert_eq!(refused["code"], "unauthenticated", "{name}");
    }
    for (key, name) in [
        ("ClientFrame.subscribe", "subscribe"),
        ("ClientFrame.ack", "acknowledge"),
        ("ClientFrame.read", "read"),
    ] {
        let sent = example(&doc, key, name);
        let error = answer(&mut socket, &doc, Some(sent), "ServerFrame.error").await;
        assert_eq!(error["code"], "unauthenticated", "{key}");
    }
    // The example token has a token's shape and names no session.
    let auth = example(&doc, "ClientFrame.auth", "auth");
    let error = answer(&mut socket, &doc, Some(auth), "ServerFrame.error").await;
    assert_eq!(error["code"], "session_expired");
}
