//! Conversations through the API, as someone who should no longer be in them would try:
//! a device revoked by its owner cannot still open the conversations it was in; and as a
//! patient who would keep a conversation with nobody but themselves.

use hyper::StatusCode;
use serde_json::json;

use crate::common::api::{post, sign_in};
use crate::common::store::user_id;
use crate::common::{TestServer, store};
use crate::directory::enrol;

/// A revoked device opens nothing: while the clinician's only device in a conversation is
/// current, opening it is recorded; once that device is revoked (its membership row
/// stays until a commit removes it), `opened` is refused as for a stranger, from any
/// session of theirs, and nothing more is recorded.
#[tokio::test]
async fn a_revoked_device_cannot_open_its_conversations() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let (_device, device) = enrol(&client, &clinician).await;
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let created = post(
        &client,
        "/api/conversations",
        Some(&clinician),
        json!({"patient": patient_user, "device": device, "care_team": false}),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json());
    let conversation = created.json()["id"].as_str().unwrap().to_owned();
    let opened = format!("/api/conversations/{conversation}/opened");
    let first = post(&client, &opened, Some(&clinician), json!({})).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);

    let revoked = post(
        &client,
        &format!("/api/mls/devices/{device}/revoke"),
        Some(&clinician),
        json!({}),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    // Another session of the same person (the one that registered the device may have
    // ended with it).
    let again = sign_in(&client, "clinician@demo.haven", None).await;
    let after = post(&client, &opened, Some(&again), json!({})).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(after.json()["error"]["code"], "not_found");
    assert_eq!(store::count(&db, "conversation_opened").await, 1);
}

/// A patient does not start a conversation (which would hold nobody but them): a
/// clinician of their care team starts it with them in it. The README, the protocol
/// document and the app (which offers starting only to clinicians) say the same.
#[tokio::test]
async fn a_patient_cannot_start_a_conversation_alone() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let (_device, device) = enrol(&client, &patient).await;
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let refused = post(
        &client,
        "/api/conversations",
        Some(&patient),
        json!({"patient": patient_user, "device": device, "care_team": false}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["error"]["code"], "forbidden");
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM conversations")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(store::count(&db, "conversation_created").await, 0);
}

/// A clinician starts a bounded number of conversations a day: each is a row and a
/// group the server keeps, whoever is in it.
#[tokio::test]
async fn conversations_started_are_bounded_per_person_and_day() {
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.guards.conversations_per_day = 2;
    })
    .await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let (_device, device) = enrol(&client, &clinician).await;
    let patient_user = user_id(&db, "patient@demo.haven").await;
    let start = || {
        post(
            &client,
            "/api/conversations",
            Some(&clinician),
            json!({"patient": patient_user, "device": device, "care_team": false}),
        )
    };
    assert_eq!(start().await.status, StatusCode::OK);
    assert_eq!(start().await.status, StatusCode::OK);
    let refused = start().await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json()["error"]["code"], "too_many_requests");
    assert_eq!(store::count(&db, "conversation_created").await, 2);
}
