//! Sessions, attacked: a stolen session trying to replace the second factor and renew
//! itself, sessions that run out with nobody coming back, and WebSockets that never sign
//! in.

use std::time::Duration;

use futures_util::SinkExt;
use haven_protocol::audit::SessionEndReason;
use haven_protocol::identity::{SignInStep, TotpEnrolment};
use haven_protocol::ws::ServerFrame;
use haven_server::demo::USERS;
use hyper::StatusCode;
use serde_json::json;

use crate::common::api::{get, now, post, sign_in, step};
use crate::common::{TestServer, store, ws};

fn code_at(secret: &[u8], time: u64) -> String {
    haven_server::secrets::totp_code(secret, time).unwrap()
}

fn secret_of(enrolment: &TotpEnrolment) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(&enrolment.secret)
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn expires_at(reply: &crate::common::Reply) -> i64 {
    reply.json()["expires_at"].as_i64().unwrap()
}

#[tokio::test]
async fn a_stolen_session_cannot_replace_the_second_factor_or_renew_itself() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = USERS
        .iter()
        .find(|u| u.email == "clinician@demo.haven")
        .unwrap();
    let old_secret = clinician.totp_secret.unwrap();
    let stolen = sign_in(&client, clinician.email, None).await;
    // Another session of the account (half signed in: each code works once).
    let other = step(
        &post(
            &client,
            "/api/auth/login",
            None,
            json!({"email": clinician.email, "password": clinician.password}),
        )
        .await,
    )
    .token;
    let lifetime_end = expires_at(&get(&client, "/api/session", &stolen).await);

    // Without the current code, or with a wrong one: refused, and nothing pending.
    let bare = post(&client, "/api/auth/totp/enrol", Some(&stolen), json!({})).await;
    assert_eq!(bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    let empty = crate::common::api::send(
        &client,
        hyper::Method::POST,
        "/api/auth/totp/enrol",
        Some(&stolen),
        None,
        None,
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = post(
        &client,
        "/api/auth/totp/enrol",
        Some(&stolen),
        json!({"current_code": "000000"}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let confirm_nothing = post(
        &client,
        "/api/auth/totp/confirm",
        Some(&stolen),
        json!({"code": "123456"}),
    )
    .await;
    assert_eq!(confirm_nothing.status, StatusCode::UNAUTHORIZED);
    let (secret,): (Vec<u8>,) =
        sqlx::query_as("SELECT totp_secret FROM users WHERE email = 'clinician@demo.haven'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(secret, old_secret.to_vec(), "the factor changed");

    // With a current code the owner replaces it; the new session ends no later than the
    // one it replaces, and the account's other sessions end.
    let next_step = now() + 30;
    let enrolment: TotpEnrolment = serde_json::from_slice(
        &post(
            &client,
            "/api/auth/totp/enrol",
            Some(&stolen),
            json!({"current_code": code_at(&old_secret, next_step)}),
        )
        .await
        .body,
    )
    .unwrap();
    let new_secret = secret_of(&enrolment);
    let replaced = step(
        &post(
            &client,
            "/api/auth/totp/confirm",
            Some(&stolen),
            json!({"code": code_at(&new_secret, now())}),
        )
        .await,
    );
    let SignInStep::SignedIn { session } = replaced.step else {
        panic!("not signed in");
    };
    assert!(
        session.expires_at <= lifetime_end,
        "{} > {lifetime_end}",
        session.expires_at
    );
    let other_reply = post(
        &client,
        "/api/auth/totp",
        Some(&other),
        json!({"code": code_at(&old_secret, now())}),
    )
    .await;
    assert_eq!(
        other_reply.json()["error"]["code"],
        "session_expired",
        "another session survived the factor change"
    );
    assert_eq!(
        get(&client, "/api/session", &stolen).await.status,
        StatusCode::UNAUTHORIZED
    );
    let enrolled = store::entries(&db, "second_factor_enrolled").await;
    assert!(
        enrolled.last().unwrap()["detail"]
            .as_str()
            .unwrap()
            .starts_with("replaced"),
        "{enrolled:?}"
    );
    // Repeating it never pushes the end later.
    let again: TotpEnrolment = serde_json::from_slice(
        &post(
            &client,
            "/api/auth/totp/enrol",
            Some(&replaced.token),
            json!({"current_code": code_at(&new_secret, now() + 30)}),
        )
        .await
        .body,
    )
    .unwrap();
    let third = step(
        &post(
            &client,
            "/api/auth/totp/confirm",
            Some(&replaced.token),
            json!({"code": code_at(&secret_of(&again), now())}),
        )
        .await,
    );
    let SignInStep::SignedIn { session: third } = third.step else {
        panic!("not signed in");
    };
    assert!(third.expires_at <= session.expires_at);
}

#[tokio::test]
async fn sessions_that_run_out_are_ended_recorded_and_their_sockets_closed() {
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.audit_head_period = Duration::from_millis(200);
    })
    .await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let idle = sign_in(&client, "patient@demo.haven", None).await;
    let old = sign_in(&client, "staff@demo.haven", None).await;
    let mut socket = ws::open(&server, None).await;
    assert!(matches!(
        ws::next(&mut socket).await,
        ServerFrame::Hello { .. }
    ));
    socket
        .send(ws::text(json!({"type": "auth", "token": idle})))
        .await
        .unwrap();
    assert_eq!(ws::next(&mut socket).await, ServerFrame::Authenticated);

    // Nobody comes back with these tokens.
    let hash = |t: &str| haven_server::secrets::token_hash(t);
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 100000 WHERE token_hash = ?")
        .bind(hash(&idle))
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET expires_at = 1 WHERE token_hash = ?")
        .bind(hash(&old))
        .execute(&db)
        .await
        .unwrap();
    let expired = store::wait_for(&db, "session_expired", 2).await;
    let mut details: Vec<&str> = expired
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    details.sort();
    assert_eq!(details, ["absolute lifetime", "idle"]);
    let frames = ws::closed(&mut socket).await;
    assert!(
        frames.contains(&ServerFrame::SessionEnded {
            reason: SessionEndReason::Idle
        }),
        "{frames:?}"
    );
}

#[tokio::test]
async fn a_websocket_that_never_signs_in_is_closed() {
    let server = TestServer::start_with(|c| {
        c.guards.ws_auth_deadline = Duration::from_secs(1);
    })
    .await;
    // Pinging does not keep it open.
    let mut lingering = ws::open(&server, None).await;
    lingering
        .send(ws::text(json!({"type": "ping", "seq": 1})))
        .await
        .unwrap();
    let frames = ws::closed(&mut lingering).await;
    assert!(frames.contains(&ServerFrame::Pong { seq: 1 }), "{frames:?}");
}

#[tokio::test]
async fn anonymous_websockets_are_bounded_per_address() {
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.guards.ws_auth_deadline = Duration::from_secs(120);
        c.guards.ws_anonymous_per_address = 3;
    })
    .await;
    let client = server.client();
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(ws::open(&server, None).await);
    }
    let refused = ws::try_open(&server, None).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        other => panic!("a fourth anonymous socket was not refused: {other:?}"),
    }
    // Signing one in frees its place.
    let token = sign_in(&client, "patient@demo.haven", None).await;
    let first = &mut open[0];
    assert!(matches!(ws::next(first).await, ServerFrame::Hello { .. }));
    first
        .send(ws::text(json!({"type": "auth", "token": token})))
        .await
        .unwrap();
    assert_eq!(ws::next(first).await, ServerFrame::Authenticated);
    let mut fourth = ws::open(&server, None).await;
    assert!(matches!(
        ws::next(&mut fourth).await,
        ServerFrame::Hello { .. }
    ));
}
