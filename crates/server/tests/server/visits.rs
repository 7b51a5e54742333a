//! Scheduling video visits (issue 23) as the people who use them and as those who should
//! not: staff and clinicians schedule, patients see their own, and every bad request is
//! refused with a clear error and nothing stored.

use haven_protocol::ErrorCode;
use haven_protocol::ws::ServerFrame;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::api::{get, now, post, send, sign_in};
use crate::common::store::user_id;
use crate::common::{Client, TestServer, store};

fn visit(patient: &str, clinician: &str, starts_at: i64, minutes: i64) -> Value {
    json!({"patient": patient, "clinician": clinician, "starts_at": starts_at, "minutes": minutes})
}

#[tokio::test]
async fn staff_and_clinicians_schedule_visits_and_each_role_sees_its_own() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let patient2 = sign_in(&client, "patient2@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let at = now() as i64;

    // Staff schedule one in two hours; the clinician one now, on demand.
    let later = post(
        &client,
        "/api/visits",
        Some(&staff),
        visit(&patient_id, &clinician_id, at + 7200, 30),
    )
    .await;
    assert_eq!(later.status, StatusCode::OK, "{:?}", later.json());
    assert_eq!(later.json()["joinable"], false);
    assert_eq!(later.json()["clinician"]["display_name"], "Dr. Cleo Ruiz");
    let now_visit = post(
        &client,
        "/api/visits",
        Some(&clinician),
        visit(&patient_id, &clinician_id, at, 15),
    )
    .await;
    assert_eq!(now_visit.status, StatusCode::OK, "{:?}", now_visit.json());
    assert_eq!(now_visit.json()["joinable"], true);

    // The patient sees both, soonest first; the other patient none; staff and the
    // clinician the schedule, their reads recorded.
    let mine = get(&client, "/api/visits", &patient).await;
    assert_eq!(mine.status, StatusCode::OK);
    let listed = mine.json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["id"], now_visit.json()["id"]);
    assert_eq!(listed[1]["id"], later.json()["id"]);
    assert_eq!(listed[1]["minutes"], 30);
    let theirs = get(&client, "/api/visits", &patient2).await;
    assert_eq!(theirs.json().as_array().unwrap().len(), 0);
    for token in [&staff, &clinician] {
        let schedule = get(&client, "/api/visits", token).await;
        assert_eq!(schedule.json().as_array().unwrap().len(), 2);
    }
    assert_eq!(store::count(&db, "visit_scheduled").await, 2);
    let reads = store::entries(&db, "patient_list_read").await;
    assert!(reads.iter().any(|e| e["target"] == "list:visit schedule"));
    assert!(reads.iter().any(|e| e["target"] == "list:own visits"));
}

#[tokio::test]
async fn a_visit_that_breaks_a_rule_is_refused_and_nothing_is_stored() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let patient2_id = user_id(&db, "patient2@demo.haven").await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let clinician2_id = user_id(&db, "clinician2@demo.haven").await;
    let at = now() as i64;
    let cases = [
        (
            &staff,
            visit(&patient_id, &clinician_id, at - 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&patient_id, &clinician_id, at + 400 * 24 * 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&patient_id, &clinician_id, at + 3600, 0),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&patient_id, &clinician_id, at + 3600, 241),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        // Not in the patient's care team (the second clinician is in none).
        (
            &staff,
            visit(&patient_id, &clinician2_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_in_care_team",
        ),
        // Not a patient; an id of no one in this organisation.
        (
            &staff,
            visit(&clinician_id, &clinician_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&"ab".repeat(16), &clinician_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        // The patient is not in this clinician's care team.
        (
            &staff,
            visit(&patient2_id, &clinician_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_in_care_team",
        ),
        // A clinician schedules only their own visits.
        (
            &clinician,
            visit(&patient_id, &clinician2_id, at + 3600, 30),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        // Patients and admins schedule none.
        (
            &patient,
            visit(&patient_id, &clinician_id, at + 3600, 30),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &admin,
            visit(&patient_id, &clinician_id, at + 3600, 30),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        // Not the shape of a visit.
        (
            &staff,
            json!({"patient": patient_id, "clinician": clinician_id, "starts_at": "soon", "minutes": 30}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            &staff,
            json!({"patient": patient_id, "clinician": clinician_id, "starts_at": at, "minutes": 30, "room": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (token, body, status, code) in cases {
        let reply = post(&client, "/api/visits", Some(token), body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {:?}", reply.json());
        assert_eq!(reply.json()["error"]["code"], code, "{body}");
    }
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM visits")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(store::count(&db, "visit_scheduled").await, 0);
    // An admin has no visit list either.
    assert_eq!(
        get(&client, "/api/visits", &admin).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn cancel(client: &Client, id: &str, token: &str) -> StatusCode {
    let path = format!("/api/visits/{id}");
    send(client, Method::DELETE, &path, Some(token), None, None)
        .await
        .status
}

#[tokio::test]
async fn a_visit_is_cancelled_by_its_clinician_or_staff_before_it_ends_and_leaves_the_lists() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let clinician2 = sign_in(&client, "clinician2@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let at = now() as i64;
    let schedule = || async {
        let reply = post(
            &client,
            "/api/visits",
            Some(&staff),
            visit(&patient_id, &clinician_id, at + 3600, 30),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
        reply.json()["id"].as_str().unwrap().to_owned()
    };
    let (first, second, third) = (schedule().await, schedule().await, schedule().await);
    assert_eq!(
        get(&client, "/api/visits", &patient)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Not theirs to cancel: another clinician, the patient; no such visit; not an id.
    let refused = [
        (first.clone(), clinician2.clone(), StatusCode::FORBIDDEN),
        (first.clone(), patient.clone(), StatusCode::FORBIDDEN),
        ("ab".repeat(16), staff.clone(), StatusCode::NOT_FOUND),
        ("not-an-id".to_owned(), staff.clone(), StatusCode::NOT_FOUND),
    ];
    for (id, token, status) in refused {
        assert_eq!(cancel(&client, &id, &token).await, status, "{id}");
    }
    // Its clinician cancels one, staff another; again is no change.
    assert_eq!(
        cancel(&client, &first, &clinician).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        cancel(&client, &second, &staff).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(cancel(&client, &first, &staff).await, StatusCode::CONFLICT);
    // One that is over cannot be.
    sqlx::query("UPDATE visits SET starts_at = ?, ends_at = ? WHERE id = ?")
        .bind(at - 7200)
        .bind(at - 60)
        .bind(&third)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(cancel(&client, &third, &staff).await, StatusCode::CONFLICT);

    // The cancelled ones left the lists (and the one that is over too); each cancellation
    // is recorded once.
    for token in [&patient, &clinician, &staff] {
        let listed = get(&client, "/api/visits", token).await.json();
        assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    }
    assert_eq!(store::count(&db, "visit_cancelled").await, 2);
}

async fn claim(client: &Client, token: &str, user: &str) -> Value {
    post(
        client,
        "/api/mls/key-packages/claim",
        Some(token),
        json!({"users": [user]}),
    )
    .await
    .json()
}

/// A visit of the demo patient with the demo clinician, starting now.
async fn visit_now(client: &Client, db: &haven_server::store::Pool, clinician: &str) -> String {
    let patient_id = user_id(db, "patient@demo.haven").await;
    let clinician_id = user_id(db, "clinician@demo.haven").await;
    let reply = post(
        client,
        "/api/visits",
        Some(clinician),
        visit(&patient_id, &clinician_id, now() as i64, 30),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// The whole room as the people in it live it: the patient waits with one device and the
/// clinician sees them; the clinician opens the visit's group; a commit adding the
/// patient's device before admission is refused, so a waiting patient holds no keys;
/// once admitted, the clinician's device is told to add exactly that device (not the
/// patient's other browser, whose addition is refused), the patient's device gets the
/// Welcome and the group's messages; ended, the group takes nothing more. Every step is
/// recorded.
#[tokio::test]
async fn a_waiting_patient_gets_keys_only_once_admitted_and_an_ended_visit_takes_nothing() {
    use crate::delivery::{Person, ack, apply, b64, next_delivery, seq_of, submit};
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let other_browser = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect(&server).await;
    let (mut p_socket, _) = patient.connect(&server).await;
    let id = visit_now(&client, &db, &clinician.token).await;
    let room_path = format!("/api/visits/{id}");

    // The patient waits; the clinician sees them waiting, the patient sees no group.
    let waited = post(
        &client,
        &format!("{room_path}/wait"),
        Some(&patient.token),
        json!({"device": patient.id}),
    )
    .await;
    assert_eq!(waited.status, StatusCode::OK, "{:?}", waited.json());
    assert_eq!(waited.json()["participants"][0]["state"], "waiting");
    assert_eq!(waited.json()["conversation"], Value::Null);
    let seen = get(&client, &room_path, &clinician.token).await.json();
    assert_eq!(seen["participants"][0]["device"], patient.id.as_str());
    assert_eq!(
        seen["participants"][0]["person"]["display_name"],
        "Pat Okafor"
    );

    // The clinician opens the visit's group; opening it again from the same device is
    // the same group.
    let opened = post(
        &client,
        &format!("{room_path}/room"),
        Some(&clinician.token),
        json!({"device": clinician.id}),
    )
    .await;
    assert_eq!(opened.status, StatusCode::OK, "{:?}", opened.json());
    let conversation = opened.json()["conversation"].as_str().unwrap().to_owned();
    let again = post(
        &client,
        &format!("{room_path}/room"),
        Some(&clinician.token),
        json!({"device": clinician.id}),
    )
    .await;
    assert_eq!(again.json()["conversation"], conversation.as_str());
    let listed = get(
        &client,
        &format!("/api/mls/devices/{}/conversations", clinician.id),
        &clinician.token,
    )
    .await
    .json();
    assert_eq!(listed[0]["visit"], id.as_str());
    assert_eq!(listed[0]["waiting"], json!([]), "nobody admitted yet");

    // Before admission, adding the waiting patient's device is refused.
    clinician.device.create(conversation.as_bytes()).unwrap();
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let package_of = |claimed: &Value, device: &str| -> Vec<u8> {
        let found = claimed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["device"] == device)
            .unwrap_or_else(|| panic!("no package of {device}: {claimed}"));
        crate::directory::unhex(found["key_package"].as_str().unwrap())
    };
    let claimed = claim(&client, &clinician.token, &patient_user).await;
    let early = clinician
        .device
        .add(
            conversation.as_bytes(),
            &[package_of(&claimed, &patient.id)],
            &clinician.trust,
            now(),
        )
        .unwrap();
    let info = json!({
        "welcome": b64(early.welcome.as_ref().unwrap()),
        "group_info": early.group_info.as_deref().map(b64),
    });
    match submit(&mut c_socket, 1, &conversation, &early.commit, Some(info)).await {
        ServerFrame::Refused { code, .. } => assert_eq!(code, ErrorCode::Forbidden),
        other => panic!("accepted before admission: {other:?}"),
    }
    clinician.device.abandon(conversation.as_bytes()).unwrap();

    // Admitted: the clinician's device is told to add that device, and only it.
    let admitted = post(
        &client,
        &format!("{room_path}/admit"),
        Some(&clinician.token),
        json!({"user": patient_user}),
    )
    .await;
    assert_eq!(admitted.status, StatusCode::OK, "{:?}", admitted.json());
    assert_eq!(admitted.json()["participants"][0]["state"], "admitted");
    let listed = get(
        &client,
        &format!("/api/mls/devices/{}/conversations", clinician.id),
        &clinician.token,
    )
    .await
    .json();
    assert_eq!(
        listed[0]["waiting"],
        json!([{"device": patient.id, "user": patient_user}])
    );
    // The patient's other browser came to no waiting room: refused.
    let claimed = claim(&client, &clinician.token, &patient_user).await;
    let wrong = clinician
        .device
        .add(
            conversation.as_bytes(),
            &[package_of(&claimed, &other_browser.id)],
            &clinician.trust,
            now(),
        )
        .unwrap();
    let info = json!({
        "welcome": b64(wrong.welcome.as_ref().unwrap()),
        "group_info": wrong.group_info.as_deref().map(b64),
    });
    match submit(&mut c_socket, 2, &conversation, &wrong.commit, Some(info)).await {
        ServerFrame::Refused { code, .. } => assert_eq!(code, ErrorCode::Forbidden),
        other => panic!("another device accepted: {other:?}"),
    }
    clinician.device.abandon(conversation.as_bytes()).unwrap();
    let claimed = claim(&client, &clinician.token, &patient_user).await;
    let commit = clinician
        .device
        .add(
            conversation.as_bytes(),
            &[package_of(&claimed, &patient.id)],
            &clinician.trust,
            now(),
        )
        .unwrap();
    let info = json!({
        "welcome": b64(commit.welcome.as_ref().unwrap()),
        "group_info": commit.group_info.as_deref().map(b64),
    });
    let answer = submit(&mut c_socket, 3, &conversation, &commit.commit, Some(info)).await;
    assert_eq!(seq_of(&answer), 1);
    clinician.device.confirm(conversation.as_bytes()).unwrap();
    let welcome = next_delivery(&mut p_socket).await;
    apply(&mut patient, &conversation, &[welcome]);
    ack(&mut p_socket, &conversation, 1).await;
    let mine = get(&client, &room_path, &patient.token).await.json();
    assert_eq!(mine["conversation"], conversation.as_str());
    assert_eq!(mine["participants"].as_array().unwrap().len(), 1);

    // Signalling flows; then the clinician ends the visit and nothing more is taken.
    let offer = clinician
        .device
        .send(conversation.as_bytes(), b"offer")
        .unwrap();
    let sent = submit(&mut c_socket, 4, &conversation, &offer, None).await;
    let delivered = next_delivery(&mut p_socket).await;
    let (shown, _) = apply(&mut patient, &conversation, &[delivered]);
    assert_eq!(shown, vec!["offer".to_owned()]);
    assert_eq!(seq_of(&sent), 2);

    // Sent out (declined after admission), the patient's device sends nothing more into
    // the visit, although it stays in the MLS group until a commit removes it.
    let declined = post(
        &client,
        &format!("{room_path}/decline"),
        Some(&clinician.token),
        json!({"user": patient_user}),
    )
    .await;
    assert_eq!(declined.status, StatusCode::OK);
    let after = patient
        .device
        .send(conversation.as_bytes(), b"answer")
        .unwrap();
    match submit(&mut p_socket, 1, &conversation, &after, None).await {
        ServerFrame::Refused { code, .. } => assert_eq!(code, ErrorCode::NotAMember),
        other => panic!("a declined device sent: {other:?}"),
    }
    let ice = get(&client, &format!("{room_path}/ice"), &patient.token).await;
    assert_eq!(ice.status, StatusCode::FORBIDDEN, "{:?}", ice.json());
    // The clinician's device is told to remove it, and its removal (new keys) is taken.
    let listed = get(
        &client,
        &format!("/api/mls/devices/{}/conversations", clinician.id),
        &clinician.token,
    )
    .await
    .json();
    assert_eq!(listed[0]["leaving"], json!([patient.id]));
    let removal = clinician
        .device
        .remove(
            conversation.as_bytes(),
            &[haven_protocol::identity::Id::parse(&patient.id).unwrap()],
            &clinician.trust,
        )
        .unwrap();
    let removed = submit(&mut c_socket, 6, &conversation, &removal.commit, None).await;
    assert_eq!(seq_of(&removed), 3);
    clinician.device.confirm(conversation.as_bytes()).unwrap();
    let listed = get(
        &client,
        &format!("/api/mls/devices/{}/conversations", clinician.id),
        &clinician.token,
    )
    .await
    .json();
    assert!(listed[0].get("leaving").is_none(), "{listed}");
    let ended = post(
        &client,
        &format!("{room_path}/end"),
        Some(&clinician.token),
        json!({}),
    )
    .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    let late = clinician
        .device
        .send(conversation.as_bytes(), b"late")
        .unwrap();
    match submit(&mut c_socket, 5, &conversation, &late, None).await {
        ServerFrame::Refused { code, .. } => assert_eq!(code, ErrorCode::Forbidden),
        other => panic!("sent after the end: {other:?}"),
    }
    let rejoin = post(
        &client,
        &format!("{room_path}/wait"),
        Some(&patient.token),
        json!({"device": patient.id}),
    )
    .await;
    assert_eq!(rejoin.status, StatusCode::CONFLICT);
    assert_eq!(rejoin.json()["error"]["message"], "This visit has ended.");
    assert_eq!(
        get(&client, "/api/visits", &patient.token).await.json(),
        json!([]),
        "an ended visit leaves the list"
    );
    for action in [
        "visit_created",
        "visit_waiting",
        "visit_admitted",
        "visit_declined",
        "visit_ended",
    ] {
        let entries = store::entries(&db, action).await;
        assert_eq!(entries.len(), 1, "{action}");
        assert_eq!(entries[0]["target"], format!("visit:{id}"), "{action}");
    }
}

/// What a visit's room refuses, each with a clear error and nothing changed: a visit of
/// no one's or someone else's, a patient opening it, a clinician waiting in it, a device
/// not one's own, an admission of someone who never came, admitting twice, a visit that
/// has not opened yet, a declined patient coming back, bodies of the wrong shape.
#[tokio::test]
async fn a_visit_room_refuses_what_breaks_a_rule() {
    use crate::delivery::Person;
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = Person::new(&client, "clinician@demo.haven").await;
    let patient = Person::new(&client, "patient@demo.haven").await;
    let stranger = Person::new(&client, "patient2@demo.haven").await;
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let id = visit_now(&client, &db, &clinician.token).await;
    let room_path = format!("/api/visits/{id}");
    let expect = |reply: crate::common::Reply, status: StatusCode, code: &str, what: &str| {
        assert_eq!(reply.status, status, "{what}: {:?}", reply.json());
        assert_eq!(reply.json()["error"]["code"], code, "{what}");
    };

    // Someone else's visit, or none: not found, as for a stranger.
    expect(
        get(&client, &room_path, &stranger.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "another patient reads it",
    );
    let wait_as_stranger = post(
        &client,
        &format!("{room_path}/wait"),
        Some(&stranger.token),
        json!({"device": stranger.id}),
    )
    .await;
    expect(
        wait_as_stranger,
        StatusCode::NOT_FOUND,
        "not_found",
        "another patient waits",
    );
    let none = format!("/api/visits/{}", "ab".repeat(16));
    expect(
        get(&client, &none, &clinician.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "no such visit",
    );
    expect(
        get(&client, "/api/visits/not-an-id", &clinician.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "a malformed id",
    );
    // Staff schedule visits but never take part.
    expect(
        get(&client, &room_path, &staff).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "staff",
    );

    // Roles in the room.
    let patient_opens = post(
        &client,
        &format!("{room_path}/room"),
        Some(&patient.token),
        json!({"device": patient.id}),
    )
    .await;
    expect(
        patient_opens,
        StatusCode::FORBIDDEN,
        "forbidden",
        "the patient opens it",
    );
    let clinician_waits = post(
        &client,
        &format!("{room_path}/wait"),
        Some(&clinician.token),
        json!({"device": clinician.id}),
    )
    .await;
    expect(
        clinician_waits,
        StatusCode::FORBIDDEN,
        "forbidden",
        "the clinician waits",
    );
    let not_mine = post(
        &client,
        &format!("{room_path}/wait"),
        Some(&patient.token),
        json!({"device": stranger.id}),
    )
    .await;
    expect(
        not_mine,
        StatusCode::CONFLICT,
        "device_unavailable",
        "someone else's device",
    );
    let patient_admits = post(
        &client,
        &format!("{room_path}/admit"),
        Some(&patient.token),
        json!({"user": patient_user}),
    )
    .await;
    expect(
        patient_admits,
        StatusCode::FORBIDDEN,
        "forbidden",
        "the patient admits",
    );

    // Admitting someone who never came, or before the visit is open.
    let stranger_user = user_id(&db, "patient2@demo.haven").await;
    let never_came = post(
        &client,
        &format!("{room_path}/admit"),
        Some(&clinician.token),
        json!({"user": stranger_user}),
    )
    .await;
    expect(
        never_came,
        StatusCode::CONFLICT,
        "invalid_field",
        "never came",
    );
    let waited = post(
        &client,
        &format!("{room_path}/wait"),
        Some(&patient.token),
        json!({"device": patient.id}),
    )
    .await;
    assert_eq!(waited.status, StatusCode::OK);
    let unopened = post(
        &client,
        &format!("{room_path}/admit"),
        Some(&clinician.token),
        json!({"user": patient_user}),
    )
    .await;
    expect(
        unopened,
        StatusCode::CONFLICT,
        "invalid_field",
        "admitted before the group exists",
    );
    let opened = post(
        &client,
        &format!("{room_path}/room"),
        Some(&clinician.token),
        json!({"device": clinician.id}),
    )
    .await;
    assert_eq!(opened.status, StatusCode::OK);
    let first = post(
        &client,
        &format!("{room_path}/admit"),
        Some(&clinician.token),
        json!({"user": patient_user}),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let twice = post(
        &client,
        &format!("{room_path}/admit"),
        Some(&clinician.token),
        json!({"user": patient_user}),
    )
    .await;
    expect(twice, StatusCode::CONFLICT, "no_change", "admitted twice");

    // Bodies of the wrong shape.
    for (body, code) in [
        (json!({}), "invalid_body"),
        (json!({"user": "x"}), "invalid_field"),
        (json!({"user": patient_user, "also": 1}), "invalid_body"),
    ] {
        let reply = post(
            &client,
            &format!("{room_path}/decline"),
            Some(&clinician.token),
            body.clone(),
        )
        .await;
        expect(
            reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            &body.to_string(),
        );
    }

    // Declined (sent out after admission) is final for the visit.
    let declined = post(
        &client,
        &format!("{room_path}/decline"),
        Some(&clinician.token),
        json!({"user": patient_user}),
    )
    .await;
    assert_eq!(declined.status, StatusCode::OK);
    assert_eq!(declined.json()["participants"][0]["state"], "declined");
    let back = post(
        &client,
        &format!("{room_path}/wait"),
        Some(&patient.token),
        json!({"device": patient.id}),
    )
    .await;
    expect(
        back,
        StatusCode::FORBIDDEN,
        "forbidden",
        "a declined patient comes back",
    );

    // A visit two hours ahead is not open yet.
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let later = post(
        &client,
        "/api/visits",
        Some(&clinician.token),
        visit(&patient_user, &clinician_id, now() as i64 + 7200, 30),
    )
    .await;
    let later = later.json()["id"].as_str().unwrap().to_owned();
    let early = post(
        &client,
        &format!("/api/visits/{later}/wait"),
        Some(&patient.token),
        json!({"device": patient.id}),
    )
    .await;
    expect(early, StatusCode::CONFLICT, "invalid_field", "too early");
    assert_eq!(store::count(&db, "visit_waiting").await, 1);
    assert_eq!(store::count(&db, "visit_admitted").await, 1);
    assert_eq!(store::count(&db, "visit_declined").await, 1);
    assert_eq!(store::count(&db, "visit_created").await, 1);
}

/// The ICE servers a visit's browsers get: STUN as configured, TURN over TLS with
/// credentials in the TURN REST form (the expiry and the person, an HMAC under the secret
/// shared with coturn) that end with the visit; nothing for someone else's visit or a
/// visit not open yet. A plain `turn:` server, or `turns:` without a secret, stops the
/// server from starting.
#[tokio::test]
async fn a_visits_people_get_its_ice_servers_with_credentials_that_end_with_it() {
    use haven_protocol::visits::IceUrl;
    let secret = b"a TURN secret shared with coturn".to_vec();
    let ice = haven_server::config::IceConfig {
        servers: vec![
            IceUrl::parse("stun:stun.example.org:3478").unwrap(),
            IceUrl::parse("turns:turn.example.org:5349").unwrap(),
        ],
        turn_secret: Some(secret.clone()),
    };
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.ice = ice;
    })
    .await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let stranger = sign_in(&client, "patient2@demo.haven", None).await;
    let id = visit_now(&client, &db, &clinician).await;
    let path = format!("/api/visits/{id}/ice");

    // Not in the waiting room: no servers yet.
    let not_yet = get(&client, &path, &patient).await;
    assert_eq!(not_yet.status, StatusCode::FORBIDDEN);
    let got = get(&client, &path, &clinician).await;
    assert_eq!(got.status, StatusCode::OK, "{:?}", got.json());
    let body = got.json();
    assert_eq!(
        body["servers"][0]["urls"],
        json!(["stun:stun.example.org:3478"])
    );
    assert!(body["servers"][0].get("username").is_none());
    let turn = &body["servers"][1];
    assert_eq!(turn["urls"], json!(["turns:turn.example.org:5349"]));
    let username = turn["username"].as_str().unwrap();
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let expires_at = body["expires_at"].as_i64().unwrap();
    assert_eq!(username, format!("{expires_at}:{clinician_id}"));
    // It ends with the visit (30 minutes from now), not later.
    let at = now() as i64;
    assert!(
        expires_at > at + 29 * 60 && expires_at <= at + 31 * 60,
        "{expires_at}"
    );
    assert_eq!(
        turn["credential"],
        haven_server::visits::ice::credential(&secret, username)
    );

    let theirs = get(&client, &path, &stranger).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let later = post(
        &client,
        "/api/visits",
        Some(&clinician),
        visit(&patient_id, &clinician_id, at + 7200, 30),
    )
    .await;
    let later = later.json()["id"].as_str().unwrap().to_owned();
    let early = get(&client, &format!("/api/visits/{later}/ice"), &clinician).await;
    assert_eq!(early.status, StatusCode::CONFLICT);

    // The server refuses to start with TURN it cannot make credentials for.
    let data = tempfile::tempdir().unwrap();
    let mut config = crate::common::config(data.path(), None);
    config.ice.servers = vec![IceUrl::parse("turns:turn.example.org").unwrap()];
    assert!(haven_server::serve::start(config.clone()).await.is_err());
    config.ice.turn_secret = Some(b"short".to_vec());
    assert!(haven_server::serve::start(config).await.is_err());
    assert!(IceUrl::parse("turn:turn.example.org:3478").is_err());
}
