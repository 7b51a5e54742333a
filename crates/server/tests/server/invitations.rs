//! Invitations, attacked: an invitation outliving its sender's authority, and the
//! admin's list and withdrawal of open invitations.

use hyper::StatusCode;
use serde_json::json;

use crate::common::api::{get, invitation_token, post, sign_in};
use crate::common::store::user_id;
use crate::common::{TestServer, store};

fn code(reply: &crate::common::Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn an_invitation_dies_with_its_senders_authority() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let invite = |email: &'static str| {
        let client = &client;
        let clinician = &clinician;
        async move {
            let reply = post(
                client,
                "/api/invitations",
                Some(clinician),
                json!({"role": "patient", "email": email, "display_name": "Someone New"}),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK);
            invitation_token(&reply)
        }
    };
    let before_deactivation = invite("first.new@example.org").await;
    let checked_at_accept = invite("second.new@example.org").await;

    // Deactivated behind the app's back: the accept itself checks the sender.
    sqlx::query("UPDATE users SET active = 0 WHERE email = 'clinician@demo.haven'")
        .execute(&db)
        .await
        .unwrap();
    let refused = post(
        &client,
        "/api/invitations/accept",
        None,
        json!({"token": checked_at_accept, "password": "a long enough password"}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert_eq!(code(&refused), "invitation_revoked");
    assert_eq!(store::count(&db, "invitation_refused").await, 1);
    // Refused again: no second entry.
    post(
        &client,
        "/api/invitations/accept",
        None,
        json!({"token": checked_at_accept, "password": "a long enough password"}),
    )
    .await;
    assert_eq!(store::count(&db, "invitation_refused").await, 1);
    sqlx::query("UPDATE users SET active = 1 WHERE email = 'clinician@demo.haven'")
        .execute(&db)
        .await
        .unwrap();

    // Deactivated by an admin: the open invitations are withdrawn at once, and recorded.
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let reply = post(
        &client,
        &format!("/api/users/{clinician_id}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let revoked = store::entries(&db, "invitation_revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["detail"], "its sender was deactivated");
    let late = post(
        &client,
        "/api/invitations/accept",
        None,
        json!({"token": before_deactivation, "password": "a long enough password"}),
    )
    .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(code(&late), "invitation_revoked");
    let (users,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE email LIKE '%.new@example.org'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn a_role_change_withdraws_invitations_the_new_role_may_not_send() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let reply = post(
        &client,
        "/api/invitations",
        Some(&clinician),
        json!({"role": "patient", "email": "third.new@example.org", "display_name": "Someone New"}),
    )
    .await;
    let token = invitation_token(&reply);
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let changed = post(
        &client,
        &format!("/api/users/{clinician_id}/role"),
        Some(&admin),
        json!({"role": "staff"}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT);
    let accept = post(
        &client,
        "/api/invitations/accept",
        None,
        json!({"token": token, "password": "a long enough password"}),
    )
    .await;
    assert_eq!(code(&accept), "invitation_revoked");
    assert_eq!(store::count(&db, "invitation_revoked").await, 1);
}

#[tokio::test]
async fn admins_list_and_withdraw_open_invitations() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let reply = post(
        &client,
        "/api/invitations",
        Some(&admin),
        json!({"role": "auditor", "email": "new.auditor@example.org", "display_name": "New Auditor"}),
    )
    .await;
    let token = invitation_token(&reply);
    let list = get(&client, "/api/invitations", &admin).await;
    assert_eq!(list.status, StatusCode::OK);
    let open = list.json();
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["email"], "new.auditor@example.org");
    assert_eq!(open[0]["role"], "auditor");
    let id = open[0]["id"].as_str().unwrap().to_owned();
    // Reading the list is recorded.
    let reads = store::entries(&db, "patient_list_read").await;
    assert!(reads.iter().any(|e| e["target"] == "list:open invitations"));
    // Only admins.
    assert_eq!(
        get(&client, "/api/invitations", &staff).await.status,
        StatusCode::FORBIDDEN
    );
    let revoke = |id: String| {
        let client = &client;
        let admin = &admin;
        async move {
            post(
                client,
                &format!("/api/invitations/{id}/revoke"),
                Some(admin),
                json!({}),
            )
            .await
        }
    };
    assert_eq!(revoke(id.clone()).await.status, StatusCode::NO_CONTENT);
    let again = revoke(id.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(code(&again), "no_change");
    assert_eq!(store::count(&db, "invitation_revoked").await, 1);
    assert_eq!(revoke("0".repeat(32)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        revoke("not-an-id".into()).await.status,
        StatusCode::NOT_FOUND
    );
    let accept = post(
        &client,
        "/api/invitations/accept",
        None,
        json!({"token": token, "password": "a long enough password"}),
    )
    .await;
    assert_eq!(code(&accept), "invitation_revoked");
    let list = get(&client, "/api/invitations", &admin).await.json();
    assert_eq!(list.as_array().unwrap().len(), 0);
}
