//! Reads of patients' details are recorded; repeated changes are not recorded as new
//! ones; emergency access can be ended early and is announced at once.

use futures_util::SinkExt;
use haven_protocol::ws::{ServerFrame, Topic};
use hyper::StatusCode;
use serde_json::json;

use crate::common::api::{get, post, put, sign_in};
use crate::common::store::user_id;
use crate::common::{TestServer, store, ws};

#[tokio::test]
async fn every_list_of_patients_read_is_recorded() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let reads = [
        (
            "staff@demo.haven",
            "/api/patient-contacts",
            "list:patient contacts",
        ),
        (
            "clinician@demo.haven",
            "/api/patients",
            "list:care-team patients",
        ),
        (
            "admin@demo.haven",
            "/api/break-glass",
            "list:emergency access",
        ),
        ("admin@demo.haven", "/api/users", "list:users"),
        ("auditor@demo.haven", "/api/audit/people", "list:people"),
    ];
    let mut tokens = std::collections::HashMap::new();
    for (email, path, list) in reads {
        if !tokens.contains_key(email) {
            tokens.insert(email, sign_in(&client, email, None).await);
        }
        let token = tokens[email].clone();
        let reply = get(&client, path, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let records = reply.json().as_array().unwrap().len();
        let entries = store::entries(&db, "patient_list_read").await;
        let entry = entries
            .iter()
            .rev()
            .find(|e| e["target"] == list)
            .unwrap_or_else(|| panic!("no entry for {path}"));
        assert_eq!(entry["actor"]["user"], user_id(&db, email).await);
        assert_eq!(entry["detail"], format!("{records} records"));
    }
}

#[tokio::test]
async fn repeating_a_change_is_not_recorded_as_another() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let staff = user_id(&db, "staff@demo.haven").await;
    let deactivate = format!("/api/users/{staff}/deactivate");
    assert_eq!(
        post(&client, &deactivate, Some(&admin), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let again = post(&client, &deactivate, Some(&admin), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["error"]["code"], "no_change");
    assert_eq!(store::count(&db, "account_deactivated").await, 1);

    let auditor = user_id(&db, "auditor@demo.haven").await;
    let role = format!("/api/users/{auditor}/role");
    let same = post(&client, &role, Some(&admin), json!({"role": "auditor"})).await;
    assert_eq!(same.status, StatusCode::CONFLICT);
    assert_eq!(store::count(&db, "role_changed").await, 0);

    let settings = |secs: u32| {
        let client = &client;
        let admin = &admin;
        async move {
            put(
                client,
                "/api/org/settings",
                Some(admin),
                json!({"idle_timeout_secs": secs}),
            )
            .await
            .status
        }
    };
    assert_eq!(settings(600).await, StatusCode::OK);
    assert_eq!(settings(600).await, StatusCode::OK);
    assert_eq!(store::count(&db, "settings_changed").await, 1);
}

async fn authed_socket(server: &TestServer, token: &str) -> ws::Socket {
    let mut socket = ws::open(server, None).await;
    assert!(matches!(
        ws::next(&mut socket).await,
        ServerFrame::Hello { .. }
    ));
    socket
        .send(ws::text(json!({"type": "auth", "token": token})))
        .await
        .unwrap();
    assert_eq!(ws::next(&mut socket).await, ServerFrame::Authenticated);
    socket
}

#[tokio::test]
async fn emergency_access_is_announced_at_once_and_can_be_ended_early() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient2@demo.haven", None).await;
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let mut patient_socket = authed_socket(&server, &patient).await;
    let mut admin_socket = authed_socket(&server, &admin).await;
    let mut staff_socket = authed_socket(&server, &staff).await;
    let patient_id = user_id(&db, "patient2@demo.haven").await;
    let changed = ServerFrame::Changed {
        topic: Topic::BreakGlass,
    };

    let grant = post(
        &client,
        &format!("/api/patients/{patient_id}/break-glass"),
        Some(&clinician),
        json!({"reason": "Unconscious in the emergency room, allergies needed"}),
    )
    .await;
    assert_eq!(grant.status, StatusCode::OK);
    let grant_id = grant.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(ws::next(&mut patient_socket).await, changed);
    assert_eq!(ws::next(&mut admin_socket).await, changed);
    let record = format!("/api/patients/{patient_id}");
    assert_eq!(
        get(&client, &record, &clinician).await.status,
        StatusCode::OK
    );

    // Someone else's grant cannot be ended by anyone else.
    let end = format!("/api/break-glass/{grant_id}/end");
    assert_eq!(
        post(&client, &end, Some(&admin), json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&client, &end, Some(&clinician), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ws::next(&mut patient_socket).await, changed);
    assert_eq!(ws::next(&mut admin_socket).await, changed);
    let after = get(&client, &record, &clinician).await;
    assert_eq!(after.status, StatusCode::FORBIDDEN);
    let again = post(&client, &end, Some(&clinician), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let ended = store::entries(&db, "break_glass_ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["detail"], "ended early by the clinician");
    assert_eq!(ended[0]["patient"], patient_id);
    // The admins' list shows it ended.
    let grants = get(&client, "/api/break-glass", &admin).await.json();
    assert!(grants[0]["expires_at"].as_i64().unwrap() <= haven_server::clock::now());
    // Staff were told nothing: the next frame they get is their own pong.
    staff_socket
        .send(ws::text(json!({"type": "ping", "seq": 9})))
        .await
        .unwrap();
    assert_eq!(
        ws::next(&mut staff_socket).await,
        ServerFrame::Pong { seq: 9 }
    );
}
