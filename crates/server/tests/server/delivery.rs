//! The Delivery Service through the real TLS WebSocket, with real MLS clients: ordered,
//! exactly-once delivery with acknowledgements, catching up after being offline, the
//! first commit of an epoch winning, and hostile frames refused with nothing stored.

use haven_mls::{Device, Received, Trust};
use haven_protocol::messaging::Delivered;
use haven_protocol::ws::ServerFrame;
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::common::api::{get, post, sign_in};
use crate::common::store::user_id;
use crate::common::ws::{self, Socket};
use crate::common::{Client, TestServer, store};
use crate::directory::{enrol, trust_of, unhex, upload};

fn now() -> u64 {
    crate::common::api::now()
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub struct Person {
    pub token: String,
    pub device: Device,
    pub id: String,
    pub trust: Trust,
}

impl Person {
    pub async fn new(client: &Client, email: &str) -> Self {
        let token = sign_in(client, email, None).await;
        let (mut device, id) = enrol(client, &token).await;
        let packages = device.key_packages(5).unwrap();
        upload(client, &token, &id, &packages).await;
        let trust = trust_of(client, &token).await;
        Self {
            token,
            device,
            id,
            trust,
        }
    }

    /// A signed-in socket subscribed to this person's device; returns it and the
    /// frames delivered on subscribing.
    pub async fn connect(&self, server: &TestServer) -> (Socket, Vec<ServerFrame>) {
        self.connect_at(server.running.addr, server.running.leaf.clone())
            .await
    }

    /// As [`Person::connect`], to the server at `addr` with certificate `leaf`.
    pub async fn connect_at(
        &self,
        addr: std::net::SocketAddr,
        leaf: rustls::pki_types::CertificateDer<'static>,
    ) -> (Socket, Vec<ServerFrame>) {
        let mut socket = ws::open_at(addr, leaf).await;
        assert!(matches!(next(&mut socket).await, ServerFrame::Hello { .. }));
        send_frame(&mut socket, json!({"type": "auth", "token": self.token})).await;
        assert_eq!(next(&mut socket).await, ServerFrame::Authenticated);
        send_frame(&mut socket, json!({"type": "subscribe", "device": self.id})).await;
        match next(&mut socket).await {
            ServerFrame::Subscribed { device } => assert_eq!(device.as_str(), self.id),
            other => panic!("{other:?}"),
        }
        let backlog = drain(&mut socket).await;
        (socket, backlog)
    }
}

/// The demo clinician and patient, both connected, in a conversation the clinician
/// started and the patient joined (its Welcome applied and acknowledged). Keep `server`
/// bound while the test runs: dropping it stops the server and removes its data.
pub struct Joined {
    pub server: TestServer,
    pub client: Client,
    pub db: haven_server::store::Pool,
    pub clinician: Person,
    pub patient: Person,
    pub c_socket: Socket,
    pub p_socket: Socket,
    pub conversation: String,
}

pub async fn joined() -> Joined {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut p_socket, _) = patient.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    let welcome = next_delivery(&mut p_socket).await;
    apply(&mut patient, &conversation, &[welcome]);
    ack(&mut p_socket, &conversation, 1).await;
    acked(&client, &patient, 1).await;
    Joined {
        server,
        client,
        db,
        clinician,
        patient,
        c_socket,
        p_socket,
        conversation,
    }
}

/// The next frame, past receipts (which come whenever someone acknowledges).
pub async fn next(socket: &mut Socket) -> ServerFrame {
    loop {
        match ws::next(socket).await {
            ServerFrame::Receipts { .. } => continue,
            frame => return frame,
        }
    }
}

pub async fn send_frame(socket: &mut Socket, value: Value) {
    use futures_util::SinkExt;
    socket.send(ws::text(value)).await.unwrap();
}

/// Frames already on their way, without waiting for more than a moment after the last.
pub async fn drain(socket: &mut Socket) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    // A ping round trip marks the end of what the server had queued before it.
    send_frame(socket, json!({"type": "ping", "seq": 424242})).await;
    loop {
        match next(socket).await {
            ServerFrame::Pong { seq: 424242 } => return frames,
            frame => frames.push(frame),
        }
    }
}

/// Sends an MLS message and returns the server's answer (accepted or refused).
pub async fn submit(
    socket: &mut Socket,
    request: u64,
    conversation: &str,
    message: &[u8],
    commit: Option<Value>,
) -> ServerFrame {
    let mut frame = json!({
        "type": "send", "request": request, "conversation": conversation, "message": b64(message)
    });
    if let Some(commit) = commit {
        frame["commit"] = commit;
    }
    send_frame(socket, frame).await;
    loop {
        match next(socket).await {
            f @ (ServerFrame::Accepted { .. } | ServerFrame::Refused { .. }) => return f,
            ServerFrame::Deliver { .. } | ServerFrame::Changed { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
}

/// The next delivery, past notices of changed devices.
pub async fn next_delivery(socket: &mut Socket) -> ServerFrame {
    loop {
        match next(socket).await {
            ServerFrame::Changed { .. } => continue,
            frame => return frame,
        }
    }
}

pub fn seq_of(frame: &ServerFrame) -> u64 {
    match frame {
        ServerFrame::Accepted { seq, .. } => *seq,
        other => panic!("not accepted: {other:?}"),
    }
}

pub async fn ack(socket: &mut Socket, conversation: &str, seq: u64) {
    send_frame(
        socket,
        json!({"type": "ack", "conversation": conversation, "seq": seq}),
    )
    .await;
}

/// Waits until the store has the device's acknowledgement (acks are answered only when
/// refused).
pub async fn acked(client: &Client, person: &Person, seq: u64) {
    for _ in 0..500 {
        let list = get(
            client,
            &format!("/api/mls/devices/{}/conversations", person.id),
            &person.token,
        )
        .await;
        if list.json()[0]["acked_seq"].as_u64() >= Some(seq) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("acknowledgement of {seq} never stored");
}

/// Processes deliveries in order; returns the plaintexts shown and the last seq.
pub fn apply(
    person: &mut Person,
    conversation: &str,
    frames: &[ServerFrame],
) -> (Vec<String>, u64) {
    let mut shown = Vec::new();
    let mut last = 0;
    for frame in frames {
        let ServerFrame::Deliver {
            conversation: c,
            seq,
            kind,
            message,
            ..
        } = frame
        else {
            continue;
        };
        assert_eq!(c.as_str(), conversation);
        assert!(*seq > last, "out of order: {seq} after {last}");
        last = *seq;
        match kind {
            Delivered::Welcome => {
                person
                    .device
                    .join(message.as_bytes(), &person.trust, now())
                    .unwrap();
            }
            _ => {
                let received = person
                    .device
                    .receive(
                        conversation.as_bytes(),
                        message.as_bytes(),
                        &person.trust,
                        now(),
                    )
                    .unwrap();
                if let Received::Message { body, .. } = received {
                    shown.push(String::from_utf8(body).unwrap());
                }
            }
        }
    }
    (shown, last)
}

/// A clinician starts a conversation about the demo patient and adds the patient's
/// device; returns the conversation id.
pub async fn start(
    client: &Client,
    db: &haven_server::store::Pool,
    clinician: &mut Person,
    patient: &Person,
    socket: &mut Socket,
) -> String {
    start_with_commit(client, db, clinician, patient, socket)
        .await
        .0
}

/// As [`start`], with the bytes of the commit that added the patient.
pub async fn start_with_commit(
    client: &Client,
    db: &haven_server::store::Pool,
    clinician: &mut Person,
    patient: &Person,
    socket: &mut Socket,
) -> (String, Vec<u8>) {
    open_conversation(client, db, clinician, patient, socket, false).await
}

/// As [`start_with_commit`]; a care-team conversation if `care_team`.
pub async fn open_conversation(
    client: &Client,
    db: &haven_server::store::Pool,
    clinician: &mut Person,
    patient: &Person,
    socket: &mut Socket,
    care_team: bool,
) -> (String, Vec<u8>) {
    let patient_user = user_id(db, "patient@demo.haven").await;
    let reply = post(
        client,
        "/api/conversations",
        Some(&clinician.token),
        json!({"patient": patient_user, "device": clinician.id, "care_team": care_team}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let conversation = reply.json()["id"].as_str().unwrap().to_owned();
    clinician.device.create(conversation.as_bytes()).unwrap();
    let claimed = post(
        client,
        "/api/mls/key-packages/claim",
        Some(&clinician.token),
        json!({"users": [patient_user]}),
    )
    .await
    .json();
    let packages: Vec<Vec<u8>> = claimed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| unhex(c["key_package"].as_str().unwrap()))
        .collect();
    assert_eq!(packages.len(), 1);
    let commit = clinician
        .device
        .add(conversation.as_bytes(), &packages, &clinician.trust, now())
        .unwrap();
    let info = json!({
        "welcome": b64(commit.welcome.as_ref().unwrap()),
        "group_info": commit.group_info.as_deref().map(b64),
    });
    let answer = submit(socket, 1, &conversation, &commit.commit, Some(info)).await;
    assert_eq!(seq_of(&answer), 1);
    clinician.device.confirm(conversation.as_bytes()).unwrap();
    // Who joined was read from the commit itself.
    let (joined,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM conversation_devices WHERE conversation_id = ? AND device_id = ?",
    )
    .bind(&conversation)
    .bind(&patient.id)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(joined, 1);
    (conversation, commit.commit)
}

#[tokio::test]
async fn messages_arrive_in_order_exactly_once_and_catch_up_after_being_offline() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut p_socket, _) = patient.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;

    // Online: the Welcome, then a message, as they happen.
    let hello = clinician
        .device
        .send(conversation.as_bytes(), b"How are you feeling today?")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut c_socket, 2, &conversation, &hello, None).await),
        2
    );
    let mut frames = Vec::new();
    while frames.len() < 2 {
        frames.push(next(&mut p_socket).await);
    }
    let (shown, last) = apply(&mut patient, &conversation, &frames);
    assert_eq!(shown, vec!["How are you feeling today?"]);
    assert_eq!(last, 2);
    ack(&mut p_socket, &conversation, 2).await;
    let reply = patient
        .device
        .send(conversation.as_bytes(), b"Better, thanks")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut p_socket, 1, &conversation, &reply, None).await),
        3
    );
    // Its own message needs no delivery back: the client acknowledges it as accepted.
    ack(&mut p_socket, &conversation, 3).await;
    acked(&client, &patient, 3).await;
    let got = next(&mut c_socket).await;
    let (shown, _) = apply(&mut clinician, &conversation, &[got]);
    assert_eq!(shown, vec!["Better, thanks"]);
    ack(&mut c_socket, &conversation, 3).await;

    // Offline: the patient's socket goes; three messages are sent meanwhile.
    drop(p_socket);
    let mut sent = Vec::new();
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        let m = clinician
            .device
            .send(conversation.as_bytes(), text.as_bytes())
            .unwrap();
        sent.push(seq_of(
            &submit(&mut c_socket, 10 + i as u64, &conversation, &m, None).await,
        ));
    }
    assert_eq!(sent, vec![4, 5, 6]);
    // Reconnecting without acknowledging: the same three again, from the first
    // unacknowledged one, in order.
    let (socket, backlog) = patient.connect(&server).await;
    let seqs = |frames: &[ServerFrame]| -> Vec<u64> {
        frames
            .iter()
            .filter_map(|f| match f {
                ServerFrame::Deliver { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect()
    };
    assert_eq!(seqs(&backlog), vec![4, 5, 6]);
    drop(socket);
    let (mut p_socket, backlog) = patient.connect(&server).await;
    assert_eq!(seqs(&backlog), vec![4, 5, 6]);
    let (shown, last) = apply(&mut patient, &conversation, &backlog);
    assert_eq!(shown, vec!["one", "two", "three"]);
    ack(&mut p_socket, &conversation, last).await;
    // Acknowledged: a new connection gets nothing more.
    acked(&client, &patient, last).await;
    let (_again, backlog) = patient.connect(&server).await;
    assert!(seqs(&backlog).is_empty(), "{backlog:?}");

    // The list shows the position; the audit log has ids and sizes, never content.
    let list = get(
        &client,
        &format!("/api/mls/devices/{}/conversations", patient.id),
        &patient.token,
    )
    .await;
    assert_eq!(list.json()[0]["last_seq"], 6);
    assert_eq!(list.json()[0]["acked_seq"], 6);
    assert_eq!(store::count(&db, "message_sent").await, 6);
    assert_eq!(store::count(&db, "member_added").await, 1);
    assert!(store::count(&db, "message_delivered").await >= 3);
    for action in ["message_sent", "message_delivered", "member_added"] {
        for entry in store::entries(&db, action).await {
            let text = entry.to_string();
            for secret in ["feeling", "Better", "three"] {
                assert!(!text.contains(secret), "{action}: {text}");
            }
            assert_eq!(entry["target"], format!("conversation:{conversation}"));
        }
    }
}

#[tokio::test]
async fn the_first_commit_of_an_epoch_wins_and_the_loser_learns_the_winner() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut p_socket, _) = patient.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    let welcome = next(&mut p_socket).await;
    apply(&mut patient, &conversation, &[welcome]);

    // Both add a second device of the patient at epoch 1; the clinician's comes first.
    let (mut phone, _) = enrol(&client, &patient.token).await;
    let packages = phone.key_packages(2).unwrap();
    let first = clinician
        .device
        .add(
            conversation.as_bytes(),
            &packages[..1],
            &clinician.trust,
            now(),
        )
        .unwrap();
    let second = patient
        .device
        .add(
            conversation.as_bytes(),
            &packages[1..],
            &patient.trust,
            now(),
        )
        .unwrap();
    let info = |c: &haven_mls::Commit| {
        json!({
            "welcome": b64(c.welcome.as_ref().unwrap()),
            "group_info": c.group_info.as_deref().map(b64),
        })
    };
    assert_eq!(
        seq_of(
            &submit(
                &mut c_socket,
                5,
                &conversation,
                &first.commit,
                Some(info(&first))
            )
            .await
        ),
        2
    );
    let lost = submit(
        &mut p_socket,
        6,
        &conversation,
        &second.commit,
        Some(info(&second)),
    )
    .await;
    match lost {
        ServerFrame::Refused {
            code,
            winner,
            request,
            ..
        } => {
            assert_eq!(code, haven_protocol::ErrorCode::StaleEpoch);
            assert_eq!(winner, Some(2));
            assert_eq!(request, 6);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store::count(&db, "member_added").await,
        2,
        "the loser stored nothing"
    );
}

#[tokio::test]
async fn hostile_frames_are_refused_and_nothing_stored_changes() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (conversation, first_commit) =
        start_with_commit(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    let stored = |db: &haven_server::store::Pool| {
        let db = db.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mls_messages")
                .fetch_one(&db)
                .await
                .unwrap();
            n
        }
    };
    let before = stored(&db).await;

    // Another patient with a device of their own, not in the conversation.
    let stranger = Person::new(&client, "patient2@demo.haven").await;
    let (mut s_socket, _) = stranger.connect(&server).await;
    let forged = clinician
        .device
        .send(conversation.as_bytes(), b"x")
        .unwrap();
    match submit(&mut s_socket, 1, &conversation, &forged, None).await {
        ServerFrame::Refused { code, .. } => {
            assert_eq!(code, haven_protocol::ErrorCode::NotAMember)
        }
        other => panic!("{other:?}"),
    }
    // Subscribing as someone else's device, acking their conversation.
    send_frame(
        &mut s_socket,
        json!({"type": "subscribe", "device": clinician.id}),
    )
    .await;
    assert!(matches!(
        next(&mut s_socket).await,
        ServerFrame::Error { .. }
    ));

    let m = clinician
        .device
        .send(conversation.as_bytes(), b"ok")
        .unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "send", "request": 1, "conversation": conversation, "message": "***"}),
            "not base64",
        ),
        (
            json!({"type": "send", "request": 1, "conversation": conversation, "message": b64(b"garbage")}),
            "not MLS",
        ),
        (
            json!({"type": "send", "request": 1, "conversation": "0".repeat(32), "message": b64(&m)}),
            "another conversation",
        ),
        (
            json!({"type": "send", "request": 1, "conversation": conversation, "message": b64(&m), "commit": {}}),
            "application with commit info",
        ),
        (
            // (An acknowledgement ahead counts only as far as what was delivered: see
            // `bounds::acknowledgements_are_bounded_by_what_was_delivered…`.)
            json!({"type": "read", "conversation": conversation, "seq": 99}),
            "read ahead",
        ),
        (
            json!({"type": "send", "request": 1, "conversation": conversation, "message": b64(&vec![0u8; 1024 * 1024 + 1])}),
            "oversized",
        ),
    ];
    for (frame, what) in cases {
        send_frame(&mut c_socket, frame).await;
        let answer = next(&mut c_socket).await;
        assert!(
            matches!(
                answer,
                ServerFrame::Refused { .. } | ServerFrame::Error { .. }
            ),
            "{what}: {answer:?}"
        );
    }
    // The first commit again from the device that sent it (as after a reconnect that
    // lost the answer): the server says where it already is and stores nothing; it is
    // not mistaken for a commit that lost its epoch.
    let again = submit(
        &mut c_socket,
        3,
        &conversation,
        &first_commit,
        Some(json!({"welcome": b64(b"x")})),
    )
    .await;
    assert_eq!(seq_of(&again), 1);
    // The connection still works, and nothing was stored by any of the above.
    assert_eq!(stored(&db).await, before);
    assert_eq!(
        seq_of(&submit(&mut c_socket, 9, &conversation, &m, None).await),
        2
    );
    // Sent twice by its device: stored once. Replayed by another member's device:
    // refused as a replay.
    assert_eq!(
        seq_of(&submit(&mut c_socket, 10, &conversation, &m, None).await),
        2
    );
    let (mut p_socket, _) = patient.connect(&server).await;
    match submit(&mut p_socket, 1, &conversation, &m, None).await {
        ServerFrame::Refused { code, .. } => {
            assert_eq!(code, haven_protocol::ErrorCode::Replayed)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stored(&db).await, before + 1);
    let fresh = clinician
        .device
        .send(conversation.as_bytes(), b"still working")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut c_socket, 11, &conversation, &fresh, None).await),
        3
    );
    // Staff never start one.
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let reply = post(
        &client,
        "/api/conversations",
        Some(&staff),
        json!({"patient": user_id(&db, "patient@demo.haven").await, "device": clinician.id}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

pub async fn upload_attachment(
    client: &Client,
    token: &str,
    conversation: &str,
    bytes: Vec<u8>,
) -> crate::common::Reply {
    let auth = format!("Bearer {token}");
    client
        .send(
            hyper::Method::POST,
            &format!("/api/conversations/{conversation}/attachments"),
            &[
                ("authorization", &auth),
                ("content-type", "application/octet-stream"),
            ],
            bytes,
        )
        .await
}

pub fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn attachments_reach_members_only_and_are_recorded() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;

    // Stand-in ciphertext: what the browser would upload after encrypting.
    let blob: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let reply = upload_attachment(&client, &clinician.token, &conversation, blob.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.json()["size"], blob.len());

    let fetched = get(&client, &format!("/api/attachments/{id}"), &patient.token).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body.as_ref(), blob.as_slice());
    // Not in the conversation, another role, an unknown id: nothing.
    let stranger = sign_in(&client, "patient2@demo.haven", None).await;
    assert_eq!(
        get(&client, &format!("/api/attachments/{id}"), &stranger)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    assert_eq!(
        get(&client, &format!("/api/attachments/{id}"), &staff)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let unknown = "0".repeat(32);
    assert_eq!(
        get(
            &client,
            &format!("/api/attachments/{unknown}"),
            &patient.token
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let outsider = upload_attachment(&client, &stranger, &conversation, vec![1, 2, 3]).await;
    assert_eq!(outsider.status, StatusCode::NOT_FOUND);

    // Too large: refused, and nothing is left behind.
    let limit = haven_server::delivery::attachments::MAX_UPLOAD_BYTES;
    let huge =
        upload_attachment(&client, &clinician.token, &conversation, vec![0; limit + 1]).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    let empty = upload_attachment(&client, &clinician.token, &conversation, Vec::new()).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        files_in(&server.data.path().join("attachments")),
        vec![id.clone()]
    );

    assert_eq!(store::count(&db, "attachment_uploaded").await, 1);
    let downloads = store::entries(&db, "attachment_downloaded").await;
    assert_eq!(downloads.len(), 1);
    assert!(
        downloads[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&blob.len().to_string())
    );
}

#[tokio::test]
async fn the_local_store_key_is_released_only_to_its_owners_session() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let patient = Person::new(&client, "patient@demo.haven").await;
    let path = format!("/api/mls/devices/{}/state-key", patient.id);
    let reply = get(&client, &path, &patient.token).await;
    assert_eq!(reply.status, StatusCode::OK);
    let key = reply.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64);
    assert_eq!(
        get(&client, &path, &patient.token).await.json()["key"],
        key,
        "stable"
    );
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    assert_eq!(
        get(&client, &path, &clinician).await.status,
        StatusCode::CONFLICT
    );
    let out = post(&client, "/api/auth/logout", Some(&patient.token), json!({})).await;
    assert!(out.status.is_success());
    assert_eq!(
        get(&client, &path, &patient.token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Issue 22, item 18: a browser that put back an older sealed state would use its MLS
/// keys again. The server keeps the highest state version a device sent from, with its
/// state key, so the browser can refuse an older state; it never goes down.
#[tokio::test]
async fn the_highest_state_version_a_device_sent_from_is_kept_with_its_state_key() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient = Person::new(&client, "patient@demo.haven").await;
    let (mut socket, _) = clinician.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut socket).await;
    let path = format!("/api/mls/devices/{}/state-key", clinician.id);
    let version =
        || async { get(&client, &path, &clinician.token).await.json()["version"].clone() };
    assert_eq!(version().await, json!(0));
    // Sent from version 7, then (a stale copy, or a hostile client) from 3: 7 is kept.
    for (request, state) in [(20, 7), (21, 3)] {
        let m = clinician
            .device
            .send(conversation.as_bytes(), b"hello")
            .unwrap();
        send_frame(
            &mut socket,
            json!({"type": "send", "request": request, "conversation": conversation,
                   "message": b64(&m), "state": state}),
        )
        .await;
        loop {
            match next(&mut socket).await {
                ServerFrame::Accepted { request: r, .. } if r == request => break,
                ServerFrame::Refused { .. } => panic!("refused"),
                _ => continue,
            }
        }
        assert_eq!(version().await, json!(7));
    }
    // Not a version: refused whole, like any send that does not parse.
    let m = clinician
        .device
        .send(conversation.as_bytes(), b"hello")
        .unwrap();
    send_frame(
        &mut socket,
        json!({"type": "send", "request": 22, "conversation": conversation,
               "message": b64(&m), "state": -1}),
    )
    .await;
    assert!(matches!(
        next(&mut socket).await,
        ServerFrame::Refused { request: 22, .. }
    ));
    assert_eq!(version().await, json!(7));
}

#[tokio::test]
async fn messages_are_deleted_once_every_device_acknowledged_or_they_expire() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut p_socket, _) = patient.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    for i in 0..3 {
        let m = clinician
            .device
            .send(conversation.as_bytes(), b"hello")
            .unwrap();
        submit(&mut c_socket, 20 + i, &conversation, &m, None).await;
    }
    // The messages whose ciphertext the server still holds.
    let seqs = || async {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT seq FROM mls_messages WHERE length(body) > 0 ORDER BY seq")
                .fetch_all(&db)
                .await
                .unwrap();
        rows.into_iter().map(|(s,)| s).collect::<Vec<_>>()
    };
    let sent: Vec<Vec<u8>> = {
        let rows: Vec<(Vec<u8>,)> =
            sqlx::query_as("SELECT body FROM mls_messages WHERE seq > 1 ORDER BY seq")
                .fetch_all(&db)
                .await
                .unwrap();
        rows.into_iter().map(|(b,)| b).collect()
    };
    let now = crate::common::api::now() as i64;
    haven_server::delivery::duties::collect(&db, now)
        .await
        .unwrap();
    assert_eq!(
        seqs().await,
        vec![1, 2, 3, 4],
        "nobody acknowledged anything yet"
    );
    ack(&mut c_socket, &conversation, 4).await;
    ack(&mut p_socket, &conversation, 2).await;
    acked(&client, &patient, 2).await;
    acked(&client, &clinician, 4).await;
    haven_server::delivery::duties::collect(&db, now)
        .await
        .unwrap();
    assert_eq!(seqs().await, vec![3, 4], "the patient still needs 3 and 4");
    // Emptied, not forgotten: the same message sent again (a replay, or its sender after
    // a reconnect) is recognised and nothing is stored.
    let rows = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mls_messages")
            .fetch_one(&db)
            .await
            .unwrap();
        n
    };
    assert_eq!(rows().await, 4);
    assert_eq!(
        seq_of(&submit(&mut c_socket, 30, &conversation, &sent[0], None).await),
        2
    );
    match submit(&mut p_socket, 31, &conversation, &sent[0], None).await {
        ServerFrame::Refused { code, .. } => {
            assert_eq!(code, haven_protocol::ErrorCode::Replayed)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rows().await, 4);
    assert_eq!(seqs().await, vec![3, 4]);
    // A reconnect still delivers them, in order.
    drop(p_socket);
    let (_p, backlog) = patient.connect(&server).await;
    let delivered: Vec<u64> = backlog
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Deliver { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, vec![3, 4]);
    // After the retention time, even unacknowledged messages go.
    let later = now + haven_protocol::messaging::MESSAGE_RETENTION_SECS + 1;
    haven_server::delivery::duties::collect(&db, later)
        .await
        .unwrap();
    assert!(seqs().await.is_empty());
    assert_eq!(rows().await, 0, "expired messages go whole");
}

#[tokio::test]
async fn a_deactivated_clinicians_device_gets_nothing_more_and_members_are_told_at_once() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut p_socket, _) = patient.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    let welcome = next(&mut p_socket).await;
    apply(&mut patient, &conversation, &[welcome]);
    ack(&mut p_socket, &conversation, 1).await;

    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let reply = post(
        &client,
        &format!("/api/users/{clinician_id}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert!(reply.status.is_success());
    // The patient is told at once; the clinician's socket ends.
    assert_eq!(
        next(&mut p_socket).await,
        ServerFrame::Changed {
            topic: haven_protocol::ws::Topic::Devices
        }
    );
    let frames = ws::closed(&mut c_socket).await;
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, ServerFrame::SessionEnded { .. })),
        "{frames:?}"
    );
    // The patient's client sees the removal pending, and commits it.
    patient.trust = trust_of(&client, &patient.token).await;
    let members = patient
        .device
        .members(conversation.as_bytes(), &patient.trust)
        .unwrap();
    assert!(members.iter().any(|(_, status)| status.is_err()));
    let removal = patient
        .device
        .remove(
            conversation.as_bytes(),
            &[haven_protocol::identity::Id::parse(&clinician.id).unwrap()],
            &patient.trust,
        )
        .unwrap();
    let info = json!({});
    assert_eq!(
        seq_of(&submit(&mut p_socket, 7, &conversation, &removal.commit, Some(info)).await),
        2
    );
    patient.device.confirm(conversation.as_bytes()).unwrap();
    let message = patient
        .device
        .send(conversation.as_bytes(), b"after")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut p_socket, 8, &conversation, &message, None).await),
        3
    );
    // Its membership ended at the removal: the message after it is not for that device,
    // and the revoked device can no longer subscribe anywhere.
    let (left,): (Option<i64>,) =
        sqlx::query_as("SELECT left_seq FROM conversation_devices WHERE device_id = ?")
            .bind(&clinician.id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(left, Some(2));
    assert_eq!(store::count(&db, "member_removed").await, 1);
}

#[tokio::test]
async fn a_revoked_device_receives_nothing_more_while_its_owners_other_device_does() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut phone = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut phone_socket, _) = phone.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &phone, &mut c_socket).await;
    let welcome = next(&mut phone_socket).await;
    apply(&mut phone, &conversation, &[welcome]);
    ack(&mut phone_socket, &conversation, 1).await;

    // The patient's laptop (signed in there) joins through the phone (their own new
    // device).
    let laptop_token = sign_in(&client, "patient@demo.haven", None).await;
    let (mut laptop_device, laptop_id) = enrol(&client, &laptop_token).await;
    let package = laptop_device.key_packages(1).unwrap();
    let add = phone
        .device
        .add(conversation.as_bytes(), &package, &phone.trust, now())
        .unwrap();
    let info = json!({"welcome": b64(add.welcome.as_ref().unwrap())});
    assert_eq!(
        seq_of(&submit(&mut phone_socket, 1, &conversation, &add.commit, Some(info)).await),
        2
    );
    phone.device.confirm(conversation.as_bytes()).unwrap();
    ack(&mut phone_socket, &conversation, 2).await;
    let mut laptop = Person {
        token: laptop_token,
        device: laptop_device,
        id: laptop_id,
        trust: phone.trust.clone(),
    };
    let (mut laptop_socket, backlog) = laptop.connect(&server).await;
    apply(&mut laptop, &conversation, &backlog);

    // The phone is lost: the patient revokes it from the laptop.
    let reply = post(
        &client,
        &format!("/api/mls/devices/{}/revoke", phone.id),
        Some(&laptop.token),
        json!({}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    // The clinician (still in epoch 2) writes; the laptop gets it, the phone does not.
    let incoming = next_delivery(&mut c_socket).await; // the laptop's add, seq 2
    apply(&mut clinician, &conversation, &[incoming]);
    let message = clinician
        .device
        .send(conversation.as_bytes(), b"for current devices")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut c_socket, 2, &conversation, &message, None).await),
        3
    );
    loop {
        match next(&mut laptop_socket).await {
            ServerFrame::Deliver { seq: 3, .. } => break,
            ServerFrame::Changed { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    // The phone's connection is told its session ended with the device, and closed.
    let last = ws::closed(&mut phone_socket).await;
    assert!(
        last.iter()
            .all(|f| !matches!(f, ServerFrame::Deliver { .. })),
        "{last:?}"
    );
    assert!(
        last.contains(&ServerFrame::SessionEnded {
            reason: haven_protocol::audit::SessionEndReason::DeviceRevoked
        }),
        "{last:?}"
    );
    // The phone's session ended with it; and no session subscribes the phone again.
    assert_eq!(
        get(&client, "/api/session", &phone.token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut again = ws::open(&server, None).await;
    next(&mut again).await;
    send_frame(&mut again, json!({"type": "auth", "token": laptop.token})).await;
    next(&mut again).await;
    send_frame(&mut again, json!({"type": "subscribe", "device": phone.id})).await;
    match next(&mut again).await {
        ServerFrame::Error { code, .. } => {
            assert_eq!(code, haven_protocol::ErrorCode::DeviceUnavailable)
        }
        other => panic!("{other:?}"),
    }
}

async fn summaries(client: &Client, token: &str, device: &str) -> Value {
    let reply = get(
        client,
        &format!("/api/mls/devices/{device}/conversations"),
        token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()
}

async fn pool_size(db: &haven_server::store::Pool, device: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM key_packages WHERE device_id = ?")
        .bind(device)
        .fetch_one(db)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_members_new_device_waits_to_be_added_and_is_claimed_on_its_own() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let phone = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &phone, &mut c_socket).await;
    let listed = summaries(&client, &clinician.token, &clinician.id).await;
    assert_eq!(listed[0]["waiting"], json!([]));

    // The patient sets up a second browser; the clinician is told to look again, and
    // sees it waiting in the conversation. The patient's phone sees it too (their own).
    let (mut laptop, laptop_id) = enrol(&client, &phone.token).await;
    let packages = laptop.key_packages(3).unwrap();
    upload(&client, &phone.token, &laptop_id, &packages).await;
    loop {
        match next(&mut c_socket).await {
            ServerFrame::Changed {
                topic: haven_protocol::ws::Topic::Conversations,
            } => break,
            ServerFrame::Changed { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let waiting = json!([{"device": laptop_id, "user": patient_user}]);
    let listed = summaries(&client, &clinician.token, &clinician.id).await;
    assert_eq!(listed[0]["id"], json!(conversation));
    assert_eq!(listed[0]["waiting"], waiting);
    let listed = summaries(&client, &phone.token, &phone.id).await;
    assert_eq!(listed[0]["waiting"], waiting);

    // Claiming just that device takes one of its packages and none of the phone's.
    let before = pool_size(&db, &phone.id).await;
    let claimed = post(
        &client,
        "/api/mls/key-packages/claim",
        Some(&clinician.token),
        json!({"users": [patient_user], "devices": [laptop_id]}),
    )
    .await
    .json();
    let claimed = claimed.as_array().unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["device"], json!(laptop_id));
    assert_eq!(pool_size(&db, &phone.id).await, before);

    // Once added, it is no longer waiting.
    let package = unhex(claimed[0]["key_package"].as_str().unwrap());
    let add = clinician
        .device
        .add(conversation.as_bytes(), &[package], &clinician.trust, now())
        .unwrap();
    let info = json!({"welcome": b64(add.welcome.as_ref().unwrap())});
    assert_eq!(
        seq_of(&submit(&mut c_socket, 2, &conversation, &add.commit, Some(info)).await),
        2
    );
    let listed = summaries(&client, &clinician.token, &clinician.id).await;
    assert_eq!(listed[0]["waiting"], json!([]));

    // The auditor finds exactly this conversation's entries: created, the two devices
    // added, the two commits stored.
    let auditor = sign_in(&client, "auditor@demo.haven", None).await;
    let page = get(
        &client,
        &format!("/api/audit/entries?limit=200&conversation={conversation}"),
        &auditor,
    )
    .await
    .json();
    let entries = page["entries"].as_array().unwrap();
    let target = format!("conversation:{conversation}");
    assert!(
        entries.iter().all(|e| e["target"] == json!(target)),
        "{entries:?}"
    );
    let count = |action: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == json!(action))
            .count()
    };
    assert_eq!(count("conversation_created"), 1);
    assert_eq!(count("member_added"), 2);
    assert_eq!(count("message_sent"), 2);
    let bad = get(&client, "/api/audit/entries?conversation=nope", &auditor).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// The next receipts frame, past everything else.
async fn next_receipts(socket: &mut Socket) -> (String, Vec<(String, u64)>) {
    loop {
        if let ServerFrame::Receipts {
            conversation,
            delivered,
        } = ws::next(socket).await
        {
            let positions = delivered
                .into_iter()
                .map(|r| (r.user.to_string(), r.seq))
                .collect();
            return (conversation.to_string(), positions);
        }
    }
}

#[tokio::test]
async fn the_sender_learns_what_was_delivered_and_reads_are_recorded_once() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;

    // Nothing reached the patient yet. When their device acknowledges the Welcome, the
    // clinician hears it at once.
    let (mut p_socket, backlog) = patient.connect(&server).await;
    let (_, last) = apply(&mut patient, &conversation, &backlog);
    assert_eq!(last, 1);
    ack(&mut p_socket, &conversation, 1).await;
    assert_eq!(
        next_receipts(&mut c_socket).await,
        (conversation.clone(), vec![(patient_user.clone(), 1)])
    );

    let hello = clinician
        .device
        .send(conversation.as_bytes(), b"Your results are in")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut c_socket, 2, &conversation, &hello, None).await),
        2
    );
    let got = next(&mut p_socket).await;
    apply(&mut patient, &conversation, &[got]);
    // The same acknowledgement twice moves nothing and tells nobody twice: the next
    // receipts the clinician gets are for message 3.
    ack(&mut p_socket, &conversation, 2).await;
    assert_eq!(
        next_receipts(&mut c_socket).await,
        (conversation.clone(), vec![(patient_user.clone(), 2)])
    );
    ack(&mut p_socket, &conversation, 2).await;
    let more = clinician
        .device
        .send(conversation.as_bytes(), b"Call us to book")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut c_socket, 3, &conversation, &more, None).await),
        3
    );
    let got = next(&mut p_socket).await;
    apply(&mut patient, &conversation, &[got]);
    ack(&mut p_socket, &conversation, 3).await;
    assert_eq!(
        next_receipts(&mut c_socket).await,
        (conversation.clone(), vec![(patient_user.clone(), 3)])
    );
    // A connection made later hears where everyone is as soon as it subscribes.
    let mut again = ws::open(&server, None).await;
    send_frame(
        &mut again,
        json!({"type": "auth", "token": clinician.token}),
    )
    .await;
    send_frame(
        &mut again,
        json!({"type": "subscribe", "device": clinician.id}),
    )
    .await;
    assert_eq!(
        next_receipts(&mut again).await,
        (conversation.clone(), vec![(patient_user.clone(), 3)])
    );

    // Reading is recorded once per step forward, never beyond what was sent, and only
    // for a member.
    let read = |seq: u64| json!({"type": "read", "conversation": conversation, "seq": seq});
    send_frame(&mut p_socket, read(2)).await;
    send_frame(&mut p_socket, read(2)).await;
    send_frame(&mut p_socket, read(1)).await;
    send_frame(&mut p_socket, read(99)).await;
    match next(&mut p_socket).await {
        ServerFrame::Error { code, .. } => {
            assert_eq!(code, haven_protocol::ErrorCode::InvalidMessage)
        }
        other => panic!("{other:?}"),
    }
    let elsewhere = haven_protocol::identity::Id::from_bytes([7; 16]).to_string();
    send_frame(
        &mut p_socket,
        json!({"type": "read", "conversation": elsewhere, "seq": 1}),
    )
    .await;
    assert!(matches!(
        next(&mut p_socket).await,
        ServerFrame::Error { .. }
    ));
    send_frame(&mut p_socket, read(3)).await;
    send_frame(&mut p_socket, read(3)).await;
    // The connection still works after the refusals, and its message, sent after the
    // reads, is written after them.
    let reply = patient
        .device
        .send(conversation.as_bytes(), b"Will do")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut p_socket, 1, &conversation, &reply, None).await),
        4
    );
    let reads = store::entries(&db, "message_read").await;
    let details: Vec<String> = reads
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        details,
        vec![
            format!("seq 1-2 on device {}", patient.id),
            format!("seq 3 on device {}", patient.id),
        ]
    );
    for entry in &reads {
        assert_eq!(entry["target"], format!("conversation:{conversation}"));
        assert_eq!(entry["actor"]["user"], json!(patient_user));
    }
}

#[tokio::test]
async fn a_clinician_brought_into_the_care_team_waits_to_join_its_care_team_conversations_only() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient = Person::new(&client, "patient@demo.haven").await;
    let colleague = Person::new(&client, "clinician2@demo.haven").await;
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let colleague_user = user_id(&db, "clinician2@demo.haven").await;
    let staff_user = user_id(&db, "staff@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (one_to_one, _) =
        open_conversation(&client, &db, &mut clinician, &patient, &mut c_socket, false).await;
    let (team, _) =
        open_conversation(&client, &db, &mut clinician, &patient, &mut c_socket, true).await;
    // A patient cannot start a care-team conversation.
    let refused = post(
        &client,
        "/api/conversations",
        Some(&patient.token),
        json!({"patient": patient_user, "device": patient.id, "care_team": true}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let path = format!("/api/patients/{patient_user}/care-team");
    let join = |who: &str| json!({ "clinician": who });
    // Only a clinician of the care team brings someone in, and only an active
    // clinician of the organisation; nothing is recorded for a refusal.
    for (token, body, status, code) in [
        (
            &patient.token,
            join(&colleague_user),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &colleague.token,
            join(&colleague_user),
            StatusCode::FORBIDDEN,
            "not_in_care_team",
        ),
        (
            &clinician.token,
            join(&staff_user),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &clinician.token,
            join(&haven_protocol::identity::Id::from_bytes([9; 16]).to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &clinician.token,
            json!({"clinician": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
    ] {
        let reply = post(&client, &path, Some(token), body.clone()).await;
        assert_eq!(reply.status, status, "{body} {:?}", reply.json());
        assert_eq!(reply.json()["error"]["code"], code, "{body}");
    }
    assert_eq!(store::count(&db, "care_team_joined").await, 0);
    let reply = post(
        &client,
        &path,
        Some(&clinician.token),
        join(&colleague_user),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let team_now = reply.json();
    let names: Vec<&str> = team_now
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Dr. Cleo Ruiz", "Dr. Noor Haddad"]);
    let again = post(
        &client,
        &path,
        Some(&clinician.token),
        join(&colleague_user),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let entries = store::entries(&db, "care_team_joined").await;
    assert_eq!(entries.len(), 1);
    // The patient sees who joined and who brought them in.
    let activity = get(&client, "/api/my-activity", &patient.token)
        .await
        .json();
    assert_eq!(activity.as_array().unwrap().len(), 1, "{activity}");
    assert_eq!(activity[0]["who"], "Dr. Noor Haddad");
    assert_eq!(
        activity[0]["what"],
        "Joined your care team (brought in by Dr. Cleo Ruiz)"
    );
    assert_eq!(activity[0]["reason"], Value::Null);
    assert_eq!(entries[0]["target"], format!("patient:{patient_user}"));
    assert_eq!(entries[0]["detail"], format!("clinician {colleague_user}"));

    // The members are told at once; the colleague's device waits in the care-team
    // conversation only, for a clinician to add (not for the patient, who adds only
    // their own devices).
    loop {
        match next(&mut c_socket).await {
            ServerFrame::Changed {
                topic: haven_protocol::ws::Topic::Conversations,
            } => break,
            ServerFrame::Changed { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    let listed = summaries(&client, &clinician.token, &clinician.id).await;
    let waiting_in = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["waiting"]
            .clone()
    };
    assert_eq!(
        waiting_in(&team),
        json!([{"device": colleague.id, "user": colleague_user}])
    );
    assert_eq!(waiting_in(&one_to_one), json!([]));
    let listed = summaries(&client, &patient.token, &patient.id).await;
    for c in listed.as_array().unwrap() {
        assert_eq!(c["waiting"], json!([]), "{c}");
    }
}

#[tokio::test]
async fn a_message_for_an_epoch_the_members_no_longer_read_is_refused() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    let key = conversation.as_bytes();
    // Encrypted now, held back while the group moves on by more epochs than members
    // keep keys for.
    let old = clinician.device.send(key, b"kept back").unwrap();
    let mut request = 10;
    for _ in 0..=haven_mls::MAX_PAST_EPOCHS {
        let trust = clinician.trust.clone();
        let commit = clinician.device.update(key, &trust).unwrap();
        request += 1;
        seq_of(
            &submit(
                &mut c_socket,
                request,
                &conversation,
                &commit.commit,
                Some(json!({})),
            )
            .await,
        );
        clinician.device.confirm(key).unwrap();
    }
    let count = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mls_messages")
            .fetch_one(&db)
            .await
            .unwrap();
        n
    };
    let before = count().await;
    match submit(&mut c_socket, 99, &conversation, &old, None).await {
        ServerFrame::Refused { code, message, .. } => {
            assert_eq!(code, haven_protocol::ErrorCode::InvalidMessage);
            assert!(message.contains("too old"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count().await, before);
    // The conversation goes on.
    let fresh = clinician.device.send(key, b"current").unwrap();
    seq_of(&submit(&mut c_socket, 100, &conversation, &fresh, None).await);
}

#[tokio::test]
async fn subscribing_the_same_device_again_at_once_is_refused_and_the_stream_goes_on() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut p_socket, backlog) = patient.connect(&server).await;
    assert!(backlog.is_empty());
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    // Each subscribe reads the whole backlog: again at once on the same connection is
    // refused, and delivery carries on.
    for _ in 0..3 {
        send_frame(
            &mut p_socket,
            json!({"type": "subscribe", "device": patient.id}),
        )
        .await;
    }
    let mut refusals = 0;
    let mut welcome = None;
    while refusals < 3 || welcome.is_none() {
        match next(&mut p_socket).await {
            ServerFrame::Error { code, .. } => {
                assert_eq!(code, haven_protocol::ErrorCode::TooManyRequests);
                refusals += 1;
            }
            frame @ ServerFrame::Deliver { .. } => welcome = Some(frame),
            other => panic!("{other:?}"),
        }
    }
    let (_, last) = apply(&mut patient, &conversation, &[welcome.unwrap()]);
    assert_eq!(last, 1);
    let hello = clinician
        .device
        .send(conversation.as_bytes(), b"still here")
        .unwrap();
    seq_of(&submit(&mut c_socket, 2, &conversation, &hello, None).await);
    let got = next(&mut p_socket).await;
    let (shown, _) = apply(&mut patient, &conversation, &[got]);
    assert_eq!(shown, vec!["still here"]);
}

/// The attack: `POST /api/conversations/{id}/opened` wrote an entry kept for six years
/// per call (200 in one second). Fifty calls at once from one session are recorded
/// once; another session's open is recorded on its own; a non-member is refused.
#[tokio::test]
async fn opening_a_conversation_fifty_times_at_once_is_recorded_once() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let created = post(
        &client,
        "/api/conversations",
        Some(&clinician.token),
        json!({ "patient": patient_id, "device": clinician.id, "care_team": false }),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json());
    let conversation = created.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/conversations/{conversation}/opened");

    let calls = (0..50).map(|_| post(&client, &path, Some(&clinician.token), json!({})));
    for reply in futures_util::future::join_all(calls).await {
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
    let entries = store::entries(&db, "conversation_opened").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0]["target"],
        json!(format!("conversation:{conversation}"))
    );
    assert_eq!(entries[0]["patient"], json!(patient_id));

    // Another session of the same person is recorded on its own, once.
    let again = sign_in(&client, "clinician@demo.haven", None).await;
    for _ in 0..3 {
        let reply = post(&client, &path, Some(&again), json!({})).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(store::count(&db, "conversation_opened").await, 2);
    // Someone who is not a member is refused, and nothing is recorded.
    let other = sign_in(&client, "patient2@demo.haven", None).await;
    let reply = post(&client, &path, Some(&other), json!({})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(store::count(&db, "conversation_opened").await, 2);
}
