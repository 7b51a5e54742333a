//! Issue 22's burst, end to end: a native client made only from `crates/mls` (no app
//! code) writes 1,000 messages back to back to the real browser app, through the real
//! server, with a dropped connection and a server SIGKILL in the middle, and resends what
//! it cannot be sure of, as any client must. The browser shows every message exactly
//! once, in the order written, and nothing as unverifiable; its answer reaches the native
//! client and decrypts.

use std::collections::BTreeMap;

use haven_e2e::delivery_bench::{Client, Socket, b64, enrol, next, send, trust, unhex};
use haven_e2e::{Browser, ServerProcess, Session};
use haven_mls::{Content, Digest, Links, Received};
use haven_protocol::identity::Id;
use serde_json::json;

const MESSAGES: usize = 1000;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn text(i: usize) -> String {
    format!("burst {i:04}")
}

/// Writes `frames[range]` back to back, reading nothing.
async fn write(
    socket: &mut Socket,
    conversation: &str,
    frames: &[Vec<u8>],
    range: std::ops::Range<usize>,
) {
    for i in range {
        send(
            socket,
            json!({"type": "send", "request": i, "conversation": conversation, "message": b64(&frames[i])}),
        )
        .await
        .unwrap();
    }
}

/// Reads answers until every request in `wanted` is accepted; their places.
async fn accepted(socket: &mut Socket, wanted: std::ops::Range<usize>) -> BTreeMap<usize, u64> {
    let mut places = BTreeMap::new();
    while places.len() < wanted.len() {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(60), next(socket))
            .await
            .expect("no answer within 60 s")
            .unwrap();
        match frame["type"].as_str() {
            Some("accepted") => {
                let request = usize::try_from(frame["request"].as_u64().unwrap()).unwrap();
                places.insert(request, frame["seq"].as_u64().unwrap());
            }
            Some("refused") => panic!("refused: {frame}"),
            _ => {}
        }
    }
    places
}

#[tokio::test]
async fn a_burst_from_a_native_client_reaches_the_browser_in_order_across_a_drop_and_a_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let port = haven_e2e::free_port().unwrap();
    let mut server = ServerProcess::start(data.path(), port, &["--demo"]).unwrap();

    // The patient, in the browser app: its device registered and its KeyPackages
    // published.
    let patient = Session::start(Browser::Chromium).await.unwrap();
    patient.goto(&server.url("/")).await.unwrap();
    patient.sign_in("patient@demo.haven").await.unwrap();
    patient
        .click("#nav a[data-view='/messages']")
        .await
        .unwrap();
    patient
        .wait_for("#messages[data-e2ee='ready']")
        .await
        .unwrap();

    // The clinician, a native client: registers a device, starts a conversation and
    // adds the patient's browser.
    let client = Client::of(&server).unwrap();
    let token = client.sign_in("clinician@demo.haven").await.unwrap();
    let trust = trust(&client, &token).await.unwrap();
    let (mut device, device_id) = enrol(&client, &token, &trust).await.unwrap();
    let db = haven_server::store::open(data.path()).await.unwrap();
    let (patient_user,): (String,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'patient@demo.haven'")
            .fetch_one(&db)
            .await
            .unwrap();
    let claimed = client
        .call(
            "POST",
            "/api/mls/key-packages/claim",
            Some(&token),
            json!({"users": [patient_user]}),
        )
        .await
        .unwrap();
    let packages: Vec<Vec<u8>> = claimed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| unhex(c["key_package"].as_str().unwrap()))
        .collect();
    assert!(!packages.is_empty(), "the browser published no KeyPackage");
    let created = client
        .call(
            "POST",
            "/api/conversations",
            Some(&token),
            json!({"patient": patient_user, "device": device_id}),
        )
        .await
        .unwrap();
    let conversation = created["id"].as_str().unwrap().to_owned();
    let id = conversation.as_bytes();
    device.create(id).unwrap();
    let commit = device.add(id, &packages, &trust, now()).unwrap();
    let mut socket = client.socket(&token, &device_id).await.unwrap();
    send(
        &mut socket,
        json!({
            "type": "send", "request": 5000, "conversation": conversation,
            "message": b64(&commit.commit),
            "commit": {
                "welcome": commit.welcome.as_deref().map(b64),
                "group_info": commit.group_info.as_deref().map(b64),
            },
        }),
    )
    .await
    .unwrap();
    loop {
        let frame = next(&mut socket).await.unwrap();
        match frame["type"].as_str() {
            Some("accepted") => break,
            Some("refused") => panic!("the commit was refused: {frame}"),
            _ => {}
        }
    }
    device.confirm(id).unwrap();
    patient
        .wait_for(".conversation[data-joined='true']")
        .await
        .unwrap();

    // 1,000 messages, encrypted in order, each linked to the one before (§10.4).
    let mut links = Links::from(1);
    let mut digests = Vec::new();
    let frames: Vec<Vec<u8>> = (0..MESSAGES)
        .map(|i| {
            let mut message_id = [0x5a; 16];
            message_id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let content = Content::Text {
                id: Id::from_bytes(message_id),
                body: text(i),
            };
            let plaintext = content.encode_linked(&links.next()).unwrap();
            links.sent(Digest::of(&plaintext));
            digests.push(Digest::of(&plaintext));
            device.send(id, &plaintext).unwrap()
        })
        .collect();

    // Written back to back; the connection drops after 400 frames, answers unread.
    write(&mut socket, &conversation, &frames, 0..400).await;
    drop(socket);
    // A new connection sends again everything it cannot be sure of, and on to 700; the
    // server is killed (SIGKILL) right after, with some of it in flight.
    let mut socket = client.socket(&token, &device_id).await.unwrap();
    write(&mut socket, &conversation, &frames, 0..700).await;
    server.kill();
    drop(socket);
    let server = ServerProcess::start(data.path(), port, &["--demo"]).unwrap();
    // Back: everything again, and the rest.
    let client = Client::of(&server).unwrap();
    let mut socket = client.socket(&token, &device_id).await.unwrap();
    write(&mut socket, &conversation, &frames, 0..MESSAGES).await;
    let places = accepted(&mut socket, 0..MESSAGES).await;
    // Stored once each, in the order written (the browser's read marks, sent as it
    // reads, may take places in between).
    let seqs: Vec<u64> = places.values().copied().collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "not stored in frame order: {seqs:?}"
    );

    // The browser (which reconnected by itself) shows all of them, once, in order.
    let mut last = 0;
    let mut still = std::time::Instant::now();
    loop {
        let count = crate::messaging::texts(&patient)
            .await
            .iter()
            .filter(|t| t.starts_with("burst "))
            .count();
        if count >= MESSAGES {
            break;
        }
        if count > last {
            last = count;
            still = std::time::Instant::now();
        }
        assert!(
            still.elapsed() < haven_e2e::WAIT,
            "the browser stopped at {count} of {MESSAGES}:\n{}",
            server.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let texts: Vec<String> = crate::messaging::texts(&patient)
        .await
        .into_iter()
        .filter(|t| t.starts_with("burst "))
        .collect();
    let expected: Vec<String> = (0..MESSAGES).map(text).collect();
    assert_eq!(texts, expected);
    let notices = patient
        .eval(
            "return [...document.querySelectorAll('.notice')].map(n => n.textContent).join(' | ');",
        )
        .await
        .unwrap();
    // Nothing unverifiable, and the links found nothing missing or out of order.
    let notices = notices.as_str().unwrap_or_default();
    for wrong in ["could not be verified", "never reached", "different order"] {
        assert!(!notices.contains(wrong), "{notices}");
    }

    // The patient answers; the native client receives it and decrypts it.
    let reply = "All 1,000 arrived, in order. (marker-plover-58)";
    patient.fill("#message-text", reply).await.unwrap();
    patient.click(".send-message").await.unwrap();
    let (body, link) = loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(60), next(&mut socket))
            .await
            .expect("the answer never came")
            .unwrap();
        if frame["type"] != "deliver" {
            continue;
        }
        let bytes = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(frame["message"].as_str().unwrap())
                .unwrap()
        };
        match device.receive(id, &bytes, &trust, now()).unwrap() {
            Received::Message { body, .. } => match Content::decode_linked(&body).unwrap() {
                (Content::Text { body, .. }, link) => break (body, link),
                _ => continue, // a read mark
            },
            _ => continue,
        }
    };
    assert_eq!(body, reply);
    // Its link names what the browser held when it wrote it: the last of the burst, or a
    // read mark of its own after it.
    let seen = link
        .and_then(|l| l.seen)
        .expect("the answer names what it had seen");
    let last = places[&(MESSAGES - 1)];
    assert!(seen.seq >= last, "{seen:?} is before {last}");
    if seen.seq == last {
        assert_eq!(seen.digest, digests[MESSAGES - 1]);
    }
    patient.close().await.unwrap();
}
