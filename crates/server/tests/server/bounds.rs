//! The Delivery Service bounded under abuse and unmoved by lost frames, each test written
//! as the attack or the failure an outside client found: answers it could not match to
//! its request, acknowledgements lost at close, its own messages filling its window, a
//! backlog read whole into memory, a revoked device still acknowledging, an
//! acknowledgement of messages never delivered, a gap that stalled a device for good,
//! and sockets without number.

use haven_protocol::ErrorCode;
use haven_protocol::audit::SessionEndReason;
use haven_protocol::ws::{GapReason, ServerFrame};
use serde_json::json;

use crate::common::api::{get, post, sign_in};
use crate::common::ws::{self, Socket};
use crate::common::{TestServer, store};
use crate::delivery::{
    Joined, Person, ack, acked, apply, drain, joined, next, next_delivery, send_frame, seq_of,
    start, submit,
};

fn deliveries(frames: &[ServerFrame]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Deliver { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

/// Sends `n` messages of `size` bytes from `person` on `socket`; returns their seqs.
async fn send_many(
    person: &mut Person,
    socket: &mut Socket,
    conversation: &str,
    n: usize,
    size: usize,
) -> Vec<u64> {
    let mut seqs = Vec::new();
    for i in 0..n {
        let mut text = format!("message {i} ").into_bytes();
        text.resize(size.max(text.len()), b'.');
        let m = person.device.send(conversation.as_bytes(), &text).unwrap();
        seqs.push(seq_of(
            &submit(socket, 1000 + i as u64, conversation, &m, None).await,
        ));
    }
    seqs
}

#[tokio::test]
async fn every_answer_to_a_send_names_its_request() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let patient = Person::new(&client, "patient@demo.haven").await;
    let conversation = "0".repeat(32);
    let mut socket = ws::open(&server, None).await;
    assert!(matches!(next(&mut socket).await, ServerFrame::Hello { .. }));
    let refused_request = |frame: ServerFrame| match frame {
        ServerFrame::Refused { request, .. } => request,
        other => panic!("not a refusal: {other:?}"),
    };
    // Before signing in.
    send_frame(
        &mut socket,
        json!({"type": "send", "request": 7, "conversation": conversation, "message": "AAAA"}),
    )
    .await;
    assert_eq!(refused_request(next(&mut socket).await), 7);
    send_frame(&mut socket, json!({"type": "auth", "token": patient.token})).await;
    assert_eq!(next(&mut socket).await, ServerFrame::Authenticated);
    // Before subscribing.
    send_frame(
        &mut socket,
        json!({"type": "send", "request": 8, "conversation": conversation, "message": "AAAA"}),
    )
    .await;
    assert_eq!(refused_request(next(&mut socket).await), 8);
    // Not base64, and a conversation id that is not one.
    send_frame(
        &mut socket,
        json!({"type": "send", "request": 9, "conversation": conversation, "message": "***"}),
    )
    .await;
    assert_eq!(refused_request(next(&mut socket).await), 9);
    send_frame(
        &mut socket,
        json!({"type": "send", "request": 10, "conversation": "x", "message": "AAAA"}),
    )
    .await;
    assert_eq!(refused_request(next(&mut socket).await), 10);
    // A frame that is no send at all still gets a plain error.
    send_frame(&mut socket, json!({"type": "nope", "request": 11})).await;
    assert!(matches!(
        next(&mut socket).await,
        ServerFrame::Error {
            code: ErrorCode::UnknownFrame,
            ..
        }
    ));
}

#[tokio::test]
async fn an_acknowledgement_sent_just_before_closing_counts_and_own_messages_never_fill_the_window()
{
    let Joined {
        server,
        mut clinician,
        mut patient,
        mut c_socket,
        mut p_socket,
        conversation,
        ..
    } = joined().await;

    // The patient writes 400 messages (more than one read of the store's rows) and,
    // like a client that learns its own messages' places from `accepted`, never
    // acknowledges them.
    let own = send_many(&mut patient, &mut p_socket, &conversation, 400, 10).await;
    assert_eq!(own.last(), Some(&401));
    drop(p_socket);
    // The clinician answers; the patient, back online, acknowledges nothing and still
    // gets it: its own messages neither come back nor count against its window.
    let reply = clinician
        .device
        .send(conversation.as_bytes(), b"answer")
        .unwrap();
    let seq = seq_of(&submit(&mut c_socket, 2, &conversation, &reply, None).await);
    assert_eq!(seq, 402);
    let (mut p_socket, backlog) = patient.connect(&server).await;
    assert_eq!(deliveries(&backlog), vec![402], "{backlog:?}");
    let (shown, _) = apply(&mut patient, &conversation, &backlog);
    assert_eq!(shown, vec!["answer"]);
    ack(&mut p_socket, &conversation, 402).await;

    // 300 from the clinician; the patient takes the first window, acknowledges it and
    // closes at once. Back again, without acknowledging anything more, the rest comes.
    let more = send_many(&mut clinician, &mut c_socket, &conversation, 300, 10).await;
    let mut got = Vec::new();
    while got.len() < 256 {
        if let frame @ ServerFrame::Deliver { .. } = next(&mut p_socket).await {
            got.push(frame);
        }
    }
    let (_, last) = apply(&mut patient, &conversation, &got);
    assert_eq!(last, more[255]);
    ack(&mut p_socket, &conversation, last).await;
    drop(p_socket);
    let (mut p_socket, mut backlog) = patient.connect(&server).await;
    while deliveries(&backlog).last() != more.last() {
        backlog.push(next(&mut p_socket).await);
    }
    let seqs = deliveries(&backlog);
    assert_eq!(
        seqs.first(),
        Some(&more[256]),
        "redelivered from the acknowledgement"
    );
    assert_eq!(seqs.len(), 44);
}

#[tokio::test]
async fn a_backlog_streams_within_a_byte_budget_not_whole() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    // Twenty messages of 900 KB: 18 MB of backlog.
    let sent = send_many(&mut clinician, &mut c_socket, &conversation, 20, 900_000).await;
    let (mut p_socket, backlog) = patient.connect(&server).await;
    let first = deliveries(&backlog);
    // The Welcome and at most 2 MiB of messages (one more when it straddles).
    assert!(
        (2..=6).contains(&first.len()),
        "{} deliveries before any acknowledgement",
        first.len()
    );
    let (_, mut last) = apply(&mut patient, &conversation, &backlog);
    let mut rounds = 1;
    while last < *sent.last().unwrap() {
        ack(&mut p_socket, &conversation, last).await;
        let frames = loop {
            let frames = drain(&mut p_socket).await;
            if !deliveries(&frames).is_empty() {
                break frames;
            }
        };
        assert!(deliveries(&frames).len() <= 5, "{:?}", deliveries(&frames));
        last = apply(&mut patient, &conversation, &frames).1;
        rounds += 1;
    }
    assert!(rounds >= 4, "the backlog came in {rounds} rounds");
}

#[tokio::test]
async fn acknowledgements_are_bounded_by_what_was_delivered_and_a_revoked_device_is_cut_off() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let conversation = start(&client, &db, &mut clinician, &patient, &mut c_socket).await;
    send_many(&mut clinician, &mut c_socket, &conversation, 300, 10).await;
    let (mut p_socket, backlog) = patient.connect(&server).await;
    assert_eq!(deliveries(&backlog).len(), 256);
    let delivered = |db: haven_server::store::Pool| async move {
        store::entries(&db, "message_delivered")
            .await
            .iter()
            .map(|e| e["detail"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    // Acknowledging 301 when 256 were sent counts as far as what was sent: a client that
    // got further on an earlier connection (and says so) frees its window all the same,
    // and nothing beyond what was delivered is recorded.
    let (_, last) = apply(&mut patient, &conversation, &backlog);
    assert!(last < 301);
    ack(&mut p_socket, &conversation, 301).await;
    acked(&client, &patient, last).await;
    let recorded = delivered(db.clone()).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(
        recorded[0].starts_with(&format!("seq 1-{last} ")),
        "{recorded:?}"
    );
    let mut rest = Vec::new();
    while deliveries(&rest).last() != Some(&301) {
        rest.push(next(&mut p_socket).await);
    }
    assert_eq!(deliveries(&rest).first(), Some(&(last + 1)));
    let (_, last) = apply(&mut patient, &conversation, &rest);
    ack(&mut p_socket, &conversation, last).await;
    acked(&client, &patient, last).await;

    // The same device on a socket of another session of the patient's (one that neither
    // registered nor unlocked it).
    let registering = std::mem::replace(
        &mut patient.token,
        sign_in(&client, "patient@demo.haven", None).await,
    );
    let (other_socket, _) = patient.connect(&server).await;
    // A session that unlocked the device (received its state key, as a browser reopening
    // it does).
    let unlocking = sign_in(&client, "patient@demo.haven", None).await;
    let key = get(
        &client,
        &format!("/api/mls/devices/{}/state-key", patient.id),
        &unlocking,
    )
    .await;
    assert_eq!(key.status, hyper::StatusCode::OK);
    // The patient revokes the device from elsewhere. The sessions that registered or
    // unlocked it end (the browser that held it cannot go on, or register a new device,
    // with them); the registering one's socket is told so and closed at once.
    let elsewhere = sign_in(&client, "patient@demo.haven", None).await;
    let reply = post(
        &client,
        &format!("/api/mls/devices/{}/revoke", patient.id),
        Some(&elsewhere),
        json!({}),
    )
    .await;
    assert_eq!(reply.status, hyper::StatusCode::NO_CONTENT);
    loop {
        match next(&mut p_socket).await {
            ServerFrame::SessionEnded { reason } => {
                assert_eq!(reason, SessionEndReason::DeviceRevoked);
                break;
            }
            ServerFrame::Error {
                code: ErrorCode::DeviceUnavailable,
                ..
            }
            | ServerFrame::Deliver { .. }
            | ServerFrame::Changed { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    ws::closed(&mut p_socket).await;
    for ended in [&registering, &unlocking] {
        let gone = get(&client, "/api/session", ended).await;
        assert_eq!(gone.status, hyper::StatusCode::UNAUTHORIZED);
        let challenge = post(
            &client,
            "/api/mls/devices/challenge",
            Some(ended),
            json!({}),
        )
        .await;
        assert_eq!(challenge.status, hyper::StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        get(&client, "/api/session", &elsewhere).await.status,
        hyper::StatusCode::OK
    );
    let revoked = store::entries(&db, "device_revoked").await;
    assert!(
        revoked[0]["detail"]
            .as_str()
            .unwrap()
            .contains("2 session(s) that held it ended"),
        "{revoked:?}"
    );
    // The other session goes on, but the device's stream on it ends at once, and its
    // acknowledgements and reads count no more.
    let mut p_socket = other_socket;
    loop {
        match next(&mut p_socket).await {
            ServerFrame::Error { code, .. } => {
                assert_eq!(code, ErrorCode::DeviceUnavailable);
                break;
            }
            ServerFrame::Deliver { .. } | ServerFrame::Changed { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    let before = delivered(db.clone()).await;
    send_frame(
        &mut p_socket,
        json!({"type": "ack", "conversation": conversation, "seq": last + 10}),
    )
    .await;
    send_frame(
        &mut p_socket,
        json!({"type": "read", "conversation": conversation, "seq": last}),
    )
    .await;
    for frame in drain(&mut p_socket).await {
        assert!(
            matches!(
                frame,
                ServerFrame::Error { .. } | ServerFrame::Changed { .. }
            ),
            "a revoked device's frame was answered with {frame:?}"
        );
    }
    assert_eq!(delivered(db.clone()).await, before);
    assert_eq!(store::count(&db, "message_read").await, 0);
}

#[tokio::test]
async fn a_device_offline_past_retention_is_told_what_expired_and_delivery_goes_on() {
    let Joined {
        server,
        client,
        db,
        mut clinician,
        mut patient,
        mut c_socket,
        p_socket,
        conversation,
    } = joined().await;
    drop(p_socket);
    // Three messages while the patient is away, and they expire before it returns.
    send_many(&mut clinician, &mut c_socket, &conversation, 3, 10).await;
    sqlx::query("UPDATE mls_messages SET expires_at = 0 WHERE seq BETWEEN 2 AND 4")
        .execute(&db)
        .await
        .unwrap();
    haven_server::delivery::duties::collect(&db, crate::common::api::now() as i64)
        .await
        .unwrap();
    let later = clinician
        .device
        .send(conversation.as_bytes(), b"after the gap")
        .unwrap();
    assert_eq!(
        seq_of(&submit(&mut c_socket, 9, &conversation, &later, None).await),
        5
    );
    let (mut p_socket, backlog) = patient.connect(&server).await;
    let gaps: Vec<_> = backlog
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Gap {
                from, to, reason, ..
            } => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, vec![(2, 4, GapReason::Expired)]);
    let (shown, last) = apply(&mut patient, &conversation, &backlog);
    assert_eq!(shown, vec!["after the gap"]);
    ack(&mut p_socket, &conversation, last).await;
    acked(&client, &patient, 5).await;
    // And new messages keep coming.
    let newer = clinician
        .device
        .send(conversation.as_bytes(), b"still coming")
        .unwrap();
    submit(&mut c_socket, 10, &conversation, &newer, None).await;
    let got = next_delivery(&mut p_socket).await;
    assert_eq!(
        apply(&mut patient, &conversation, &[got]).0,
        vec!["still coming"]
    );
}

/// A commit among what expired is still delivered (a commit some device lacks is kept
/// three retention periods): a device away past retention learns every change of keys
/// and reads what came after, instead of being left on an old epoch for good.
#[tokio::test]
async fn a_commit_outlives_retention_for_a_device_that_has_not_received_it() {
    let Joined {
        server,
        db,
        mut clinician,
        mut patient,
        mut c_socket,
        p_socket,
        conversation,
        ..
    } = joined().await;
    let key = conversation.as_bytes();
    drop(p_socket);
    // While the patient is away: a message, a key update, a message; all of it passes
    // the retention period.
    send_many(&mut clinician, &mut c_socket, &conversation, 1, 10).await;
    let trust = clinician.trust.clone();
    let update = clinician.device.update(key, &trust).unwrap();
    assert_eq!(
        seq_of(
            &submit(
                &mut c_socket,
                20,
                &conversation,
                &update.commit,
                Some(json!({}))
            )
            .await
        ),
        3
    );
    clinician.device.confirm(key).unwrap();
    send_many(&mut clinician, &mut c_socket, &conversation, 1, 10).await;
    let now = crate::common::api::now() as i64;
    sqlx::query("UPDATE mls_messages SET expires_at = ? WHERE seq BETWEEN 2 AND 4")
        .bind(now - 1)
        .execute(&db)
        .await
        .unwrap();
    haven_server::delivery::duties::collect(&db, now)
        .await
        .unwrap();
    let later = clinician.device.send(key, b"in the new epoch").unwrap();
    assert_eq!(
        seq_of(&submit(&mut c_socket, 21, &conversation, &later, None).await),
        5
    );
    let (_p_socket, backlog) = patient.connect(&server).await;
    let gaps: Vec<_> = backlog
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Gap { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, vec![(2, 2), (4, 4)]);
    assert_eq!(deliveries(&backlog), vec![3, 5]);
    let (shown, _) = apply(&mut patient, &conversation, &backlog);
    assert_eq!(shown, vec!["in the new epoch"]);
    // Not for good: past three retention periods a commit goes all the same (a device
    // away that long is added again), so a device that never returns pins nothing.
    let much_later = now + haven_server::delivery::duties::COMMIT_KEPT_SECS;
    sqlx::query("UPDATE conversation_devices SET acked_seq = 0 WHERE device_id = ?")
        .bind(&patient.id)
        .execute(&db)
        .await
        .unwrap();
    haven_server::delivery::duties::collect(&db, much_later)
        .await
        .unwrap();
    let (commits,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM mls_messages WHERE kind = 'commit' AND seq = 3")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(commits, 0);
}

#[tokio::test]
async fn one_person_holds_a_bounded_number_of_sockets_and_resubscribing_is_throttled() {
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.guards.ws_per_person = 3;
    })
    .await;
    let client = server.client();
    let patient = Person::new(&client, "patient@demo.haven").await;
    let mut open = Vec::new();
    for i in 0..4 {
        let mut socket = ws::open(&server, None).await;
        next(&mut socket).await;
        send_frame(&mut socket, json!({"type": "auth", "token": patient.token})).await;
        let answer = next(&mut socket).await;
        if i < 3 {
            assert_eq!(answer, ServerFrame::Authenticated);
        } else {
            match answer {
                ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::TooManyRequests),
                other => panic!("the fourth socket: {other:?}"),
            }
        }
        open.push(socket);
    }
    // Closing one makes room.
    drop(open.remove(0));
    let mut again = loop {
        let mut socket = ws::open(&server, None).await;
        next(&mut socket).await;
        send_frame(&mut socket, json!({"type": "auth", "token": patient.token})).await;
        if next(&mut socket).await == ServerFrame::Authenticated {
            break socket;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // Subscribing again at once is refused whichever device it names.
    let (_other, other_id) = crate::directory::enrol(&client, &patient.token).await;
    send_frame(
        &mut again,
        json!({"type": "subscribe", "device": patient.id}),
    )
    .await;
    assert!(matches!(
        next(&mut again).await,
        ServerFrame::Subscribed { .. }
    ));
    send_frame(&mut again, json!({"type": "subscribe", "device": other_id})).await;
    match next(&mut again).await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::TooManyRequests),
        other => panic!("{other:?}"),
    }
}

/// Item 3, written as the attack: a patient relabels an application message as a
/// commit, sends a commit tampered with, a commit with a declaration of who it removes
/// (no longer part of the protocol), and another device's commit. Each is refused before it is sequenced (the server checks every
/// commit against the conversation's public group state), the conversation's epoch does
/// not move, and the honest commit after them is taken.
#[tokio::test]
async fn a_commit_members_could_not_process_is_refused_before_it_is_sequenced() {
    let Joined {
        server: _running,
        db,
        mut clinician,
        mut patient,
        mut c_socket,
        mut p_socket,
        conversation,
        ..
    } = joined().await;
    let key = conversation.as_bytes();
    let epoch = || async {
        let (epoch, last): (i64, i64) =
            sqlx::query_as("SELECT epoch, last_seq FROM conversations WHERE id = ?")
                .bind(&conversation)
                .fetch_one(&db)
                .await
                .unwrap();
        (epoch, last)
    };
    let before = epoch().await;
    let refused = |frame: ServerFrame| match frame {
        ServerFrame::Refused { code, .. } => {
            assert!(
                [ErrorCode::InvalidMessage, ErrorCode::Forbidden].contains(&code),
                "{code:?}"
            )
        }
        other => panic!("not refused: {other:?}"),
    };
    // An application message, declared a commit.
    let message = patient.device.send(key, b"not a commit").unwrap();
    refused(submit(&mut p_socket, 1, &conversation, &message, Some(json!({}))).await);
    // A key update tampered with in its signed content.
    let trust = patient.trust.clone();
    let update = patient.device.update(key, &trust).unwrap();
    let mut tampered = update.commit.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    refused(submit(&mut p_socket, 2, &conversation, &tampered, Some(json!({}))).await);
    // A declaration of who a commit adds or removes is no longer taken: a send with one
    // does not parse.
    let lie = json!({"removed": [clinician.id]});
    refused(submit(&mut p_socket, 3, &conversation, &update.commit, Some(lie)).await);
    patient.device.abandon(key).unwrap();
    // The clinician's commit, sent by the patient's device.
    let trust = clinician.trust.clone();
    let theirs = clinician.device.update(key, &trust).unwrap();
    refused(
        submit(
            &mut p_socket,
            4,
            &conversation,
            &theirs.commit,
            Some(json!({})),
        )
        .await,
    );
    // The clinician's update with a declaration of a removal: refused whole.
    let lie = json!({"removed": [patient.id]});
    refused(submit(&mut c_socket, 6, &conversation, &theirs.commit, Some(lie)).await);
    assert_eq!(epoch().await, before, "nothing was sequenced");
    // The clinician's own sending of it is taken.
    seq_of(
        &submit(
            &mut c_socket,
            5,
            &conversation,
            &theirs.commit,
            Some(json!({})),
        )
        .await,
    );
    clinician.device.confirm(key).unwrap();
    assert_eq!(epoch().await.0, before.0 + 1);
    // A removal with nothing said beside it: the server reads it from the commit.
    let patient_device = haven_protocol::identity::Id::parse(&patient.id).unwrap();
    let removal = clinician
        .device
        .remove(key, &[patient_device], &trust)
        .unwrap();
    seq_of(&submit(&mut c_socket, 8, &conversation, &removal.commit, None).await);
    let (left,): (Option<i64>,) = sqlx::query_as(
        "SELECT left_seq FROM conversation_devices WHERE conversation_id = ? AND device_id = ?",
    )
    .bind(&conversation)
    .bind(&patient.id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(left.is_some(), "the patient's device left");
}
