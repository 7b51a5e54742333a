//! Storage quotas, written as the attack an outside review made: one patient storing
//! 300 MiB of messages in seconds from one socket, and attachments of 25 MB in any
//! number. Past a quota a send or an upload is refused with `quota_exceeded` and when to
//! try again, nothing is stored, and the refusal is recorded once a window.

use haven_protocol::ErrorCode;
use haven_protocol::ws::ServerFrame;
use hyper::StatusCode;
use serde_json::json;

use crate::common::api::{get, put, sign_in};
use crate::common::{TestServer, store};
use crate::delivery::{Joined, files_in, joined, submit, upload_attachment};

const MB: u64 = 1_000_000;

fn quotas(device_day: u64, person_day: u64) -> serde_json::Value {
    json!({
        "device": {"bytes_per_day": device_day, "bytes_held": 100 * MB},
        "person": {"bytes_per_day": person_day, "bytes_held": 100 * MB},
        "organisation": {"bytes_per_day": 1000 * MB, "bytes_held": 10_000 * MB},
    })
}

/// The `quota_exceeded` entries, once there is one (they are written beside the answer,
/// not before it).
async fn refusals_recorded(db: &haven_server::store::Pool) -> Vec<serde_json::Value> {
    for _ in 0..500 {
        let entries = store::entries(db, "quota_exceeded").await;
        if !entries.is_empty() {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no quota_exceeded entry");
}

/// A clinician and the patient in a conversation, once an admin set a device's day to
/// 1 MB and a person's to 2 MB.
async fn joined_under_small_quotas() -> Joined {
    let joined = joined().await;
    let admin = sign_in(&joined.client, "admin@demo.haven", None).await;
    let set = put(
        &joined.client,
        "/api/org/quotas",
        Some(&admin),
        quotas(MB, 2 * MB),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    joined
}

async fn messages(db: &haven_server::store::Pool) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mls_messages")
        .fetch_one(db)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn only_an_admin_sets_quotas_within_their_range_and_the_change_is_recorded() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let defaults = get(&client, "/api/org/quotas", &admin).await;
    assert_eq!(defaults.status, StatusCode::OK);
    assert!(defaults.json()["person"]["bytes_per_day"].as_u64().unwrap() >= 100 * MB);

    let wanted = quotas(2 * MB, 3 * MB);
    let refused = put(&client, "/api/org/quotas", Some(&patient), wanted.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    for bad in [
        quotas(0, 3 * MB),
        quotas(2 * MB, 200_000_000 * MB),
        json!({"device": {"bytes_per_day": 1}}),
    ] {
        let reply = put(&client, "/api/org/quotas", Some(&admin), bad.clone()).await;
        assert!(reply.status.is_client_error(), "{bad}: {}", reply.status);
    }
    assert_eq!(store::count(&db, "settings_changed").await, 0);
    let set = put(&client, "/api/org/quotas", Some(&admin), wanted.clone()).await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(get(&client, "/api/org/quotas", &admin).await.json(), wanted);
    // The same again changes and records nothing.
    put(&client, "/api/org/quotas", Some(&admin), wanted).await;
    let entries = store::entries(&db, "settings_changed").await;
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0]["detail"]
            .as_str()
            .unwrap()
            .contains("device 2000000/day")
    );
}

#[tokio::test]
async fn a_device_past_its_days_quota_is_refused_with_when_to_retry_and_nothing_is_stored() {
    let Joined {
        server: _running,
        db,
        mut clinician,
        patient,
        c_socket: mut socket,
        conversation,
        ..
    } = joined_under_small_quotas().await;

    // 300 KB messages, back to back, as the attack sent them: the fourth passes the
    // device's 1 MB a day.
    let mut accepted = 0;
    let mut refusals = Vec::new();
    for request in 0..8u64 {
        let body = vec![b'x'; 300_000];
        let m = clinician
            .device
            .send(conversation.as_bytes(), &body)
            .unwrap();
        match submit(&mut socket, 100 + request, &conversation, &m, None).await {
            ServerFrame::Accepted { .. } => accepted += 1,
            ServerFrame::Refused {
                request: r,
                code,
                retry_after_secs,
                ..
            } => {
                assert_eq!(r, 100 + request);
                assert_eq!(code, ErrorCode::QuotaExceeded);
                let retry = retry_after_secs.expect("when to try again");
                assert!((1..=86_400).contains(&retry), "{retry}");
                refusals.push(retry);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, 3);
    assert_eq!(refusals.len(), 5);
    // Only the accepted ones (and the commit that started the conversation) are stored.
    assert_eq!(messages(&db).await, 4);
    // Recorded once in the window, however often it is refused.
    let recorded = refusals_recorded(&db).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["detail"], "device quota per day");

    // A change of keys is held to the device's quota too (here used up to the last
    // byte); removing a device never is (a revoked device must always be removable).
    sqlx::query("UPDATE storage_written SET bytes = bytes + 1000000000 WHERE scope = ?")
        .bind(format!("device:{}", clinician.id))
        .execute(&db)
        .await
        .unwrap();
    let key = conversation.as_bytes();
    let trust = clinician.trust.clone();
    let update = clinician.device.update(key, &trust).unwrap();
    match submit(
        &mut socket,
        200,
        &conversation,
        &update.commit,
        Some(json!({})),
    )
    .await
    {
        ServerFrame::Refused { code, .. } => assert_eq!(code, ErrorCode::QuotaExceeded),
        other => panic!("{other:?}"),
    }
    clinician.device.abandon(key).unwrap();
    let patient_device = haven_protocol::identity::Id::parse(&patient.id).unwrap();
    let removal = clinician
        .device
        .remove(key, std::slice::from_ref(&patient_device), &trust)
        .unwrap();
    let declared = json!({});
    match submit(
        &mut socket,
        201,
        &conversation,
        &removal.commit,
        Some(declared),
    )
    .await
    {
        ServerFrame::Accepted { .. } => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn attachments_past_a_persons_quota_are_refused_and_leave_nothing_behind() {
    let Joined {
        server,
        client,
        db,
        clinician,
        conversation,
        ..
    } = joined_under_small_quotas().await;

    // The person's 2 MB a day: attachments count for the person (and the organisation),
    // whichever device they come from.
    for _ in 0..2 {
        let reply =
            upload_attachment(&client, &clinician.token, &conversation, vec![7; 900_000]).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let reply = upload_attachment(&client, &clinician.token, &conversation, vec![7; 900_000]).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.json()["error"]["code"], "quota_exceeded");
    let retry: u64 = reply.header("retry-after").parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert_eq!(reply.json()["error"]["retry_after_secs"], retry);
    let files = files_in(&server.data.path().join("attachments"));
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(store::count(&db, "attachment_uploaded").await, 2);
    assert_eq!(refusals_recorded(&db).await.len(), 1);
    // Smaller still fits.
    let reply = upload_attachment(&client, &clinician.token, &conversation, vec![7; 100_000]).await;
    assert_eq!(reply.status, StatusCode::OK);
    // With no room left at all, an upload is refused before its bytes are taken.
    sqlx::query(
        "UPDATE storage_written SET bytes = bytes + 1000000000 WHERE scope LIKE 'person:%'",
    )
    .execute(&db)
    .await
    .unwrap();
    let reply = upload_attachment(&client, &clinician.token, &conversation, vec![7; 10]).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(files_in(&server.data.path().join("attachments")).len(), 3);
}
