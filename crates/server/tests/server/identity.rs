//! Identity, roles and sessions through the real TLS listener: the permission matrix for
//! every route and WebSocket message type, sign-in with password and TOTP, invitations,
//! deactivation, emergency access, rate limits, and what is (not) stored or logged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::api::{code_for, invitation_token, post, send, sign_in, step};
use common::{Reply, TestServer};
use futures_util::{SinkExt, StreamExt};
use haven_protocol::access::{Role, allowed};
use haven_protocol::identity::{Id, SignInStep};
use haven_protocol::ws::ServerFrame;
use haven_server::demo::USERS;
use haven_server::identity::session::Access;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

/// Everything the server logs during this test binary, at debug level.
pub(crate) fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            struct Sink(Arc<Mutex<Vec<u8>>>);
            impl Write for Sink {
                fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
                    self.0.lock().unwrap().extend_from_slice(data);
                    Ok(data.len())
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    Ok(())
                }
            }
            let shared = buffer.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(move || Sink(shared.clone()))
                .init();
            buffer
        })
        .clone()
}

async fn demo_server() -> TestServer {
    log_buffer();
    TestServer::start_with(|c| c.demo = true).await
}

fn code_of(reply: &Reply) -> String {
    serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Principal {
    Nobody,
    Role(Role),
    Expired,
    Deactivated,
    OtherOrganisation,
}

/// Every API route x every role and kind of caller: exactly what the permission table says.
#[tokio::test]
async fn the_permission_matrix_holds_for_every_route() {
    let server = demo_server().await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let other_org = haven_server::tenancy::create(&db, "Other Clinic", "b.example", 900)
        .await
        .unwrap();
    haven_server::demo::seed(&db, &other_org).await.unwrap();

    let mut principals: Vec<(Principal, Option<String>)> = vec![(Principal::Nobody, None)];
    for (role, email) in [
        (Role::Patient, "patient@demo.haven"),
        (Role::Clinician, "clinician@demo.haven"),
        (Role::Staff, "staff@demo.haven"),
        (Role::Admin, "admin@demo.haven"),
        (Role::Auditor, "auditor@demo.haven"),
    ] {
        principals.push((
            Principal::Role(role),
            Some(sign_in(&client, email, None).await),
        ));
    }
    // An idle session: its last activity pushed back past the idle timeout.
    let expired = sign_in(&client, "patient@demo.haven", None).await;
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 100000 WHERE token_hash = ?")
        .bind(haven_server::secrets::token_hash(&expired))
        .execute(&db)
        .await
        .unwrap();
    principals.push((Principal::Expired, Some(expired)));
    // A deactivated user's session.
    let deactivated = sign_in(&client, "patient2@demo.haven", None).await;
    sqlx::query("UPDATE users SET active = 0 WHERE email = 'patient2@demo.haven'")
        .execute(&db)
        .await
        .unwrap();
    principals.push((Principal::Deactivated, Some(deactivated)));
    // A valid session of another organisation, presented here.
    let port = server.port();
    let foreign_host = "b.example".to_owned();
    let foreign = sign_in(&client, "admin@demo.haven", Some(&foreign_host)).await;
    principals.push((Principal::OtherOrganisation, Some(foreign)));
    let _ = port;

    // WebSocket message types (before the routes: one of them signs everyone out): `ping` and `auth` need no session, `activity` does.
    for (principal, token) in &principals {
        let mut socket = common::ws::open(&server, None).await;
        common::ws::next(&mut socket).await; // hello
        if let Some(token) = token {
            socket
                .send(common::ws::text(json!({"type": "auth", "token": token})))
                .await
                .unwrap();
            let reply = common::ws::next(&mut socket).await;
            match principal {
                Principal::Role(_) => {
                    assert_eq!(reply, ServerFrame::Authenticated, "{principal:?}")
                }
                _ => assert!(
                    matches!(reply, ServerFrame::Error { .. }),
                    "{principal:?}: {reply:?}"
                ),
            }
        }
        socket
            .send(common::ws::text(json!({"type": "activity"})))
            .await
            .unwrap();
        let reply = common::ws::next(&mut socket).await;
        match principal {
            Principal::Role(role) => {
                assert!(allowed(*role, haven_protocol::Action::WsSession));
                assert_eq!(reply, ServerFrame::Heartbeat, "{principal:?}");
            }
            _ => assert!(
                matches!(&reply, ServerFrame::Error { code, .. } if *code == haven_protocol::ErrorCode::Unauthenticated),
                "{principal:?}: {reply:?}"
            ),
        }
        socket
            .send(common::ws::text(json!({"type": "ping", "seq": 1})))
            .await
            .unwrap();
        assert_eq!(
            common::ws::next(&mut socket).await,
            ServerFrame::Pong { seq: 1 }
        );
    }

    let random_id = Id::from_bytes([7; 16]);
    let mut specs = haven_server::routes::specs();
    // Signing out ends the session: last.
    specs.sort_by_key(|s| s.path == "/auth/logout");
    let public: Vec<&str> = specs
        .iter()
        .filter(|s| s.access == Access::Public)
        .map(|s| s.path)
        .collect();
    assert_eq!(
        public,
        [
            "/health",
            "/config",
            "/csp-report",
            "/openapi.json",
            "/asyncapi.json",
            "/auth/login",
            "/invitations/accept",
            "/brand/logo/{hash}"
        ],
        "a new public route must be added here on purpose"
    );
    let mut checked = 0;
    for spec in specs.iter().filter(|s| s.access != Access::Public) {
        let path = format!("/api{}", spec.path.replace("{id}", random_id.as_str()));
        let body = (spec.method != Method::GET).then(|| json!({}));
        for (principal, token) in &principals {
            let reply = send(
                &client,
                spec.method.clone(),
                &path,
                token.as_deref(),
                body.clone(),
                None,
            )
            .await;
            let what = format!("{} {path} as {principal:?}", spec.method);
            let (status, code) = (reply.status, code_of(&reply));
            match principal {
                Principal::Nobody => {
                    assert_eq!(
                        (status, code.as_str()),
                        (StatusCode::UNAUTHORIZED, "unauthenticated"),
                        "{what}"
                    );
                }
                Principal::Expired | Principal::Deactivated | Principal::OtherOrganisation => {
                    assert_eq!(
                        (status, code.as_str()),
                        (StatusCode::UNAUTHORIZED, "session_expired"),
                        "{what}"
                    );
                }
                Principal::Role(role) => {
                    let permitted = match spec.access {
                        Access::Full(actions) => actions.iter().any(|a| allowed(*role, *a)),
                        _ => true,
                    };
                    if permitted {
                        assert!(
                            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                            "{what}: {status} {code}"
                        );
                    } else {
                        assert_eq!(
                            (status, code.as_str()),
                            (StatusCode::FORBIDDEN, "forbidden"),
                            "{what}"
                        );
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[tokio::test]
async fn sign_in_needs_the_password_and_a_fresh_code() {
    let server = demo_server().await;
    let client = server.client();
    let clinician = USERS.iter().find(|u| u.role == Role::Clinician).unwrap();
    let login = json!({ "email": clinician.email, "password": clinician.password });

    let first = step(&post(&client, "/api/auth/login", None, login.clone()).await);
    assert_eq!(first.step, SignInStep::TotpRequired);
    // Half signed in is not signed in.
    let early = send(
        &client,
        Method::GET,
        "/api/session",
        Some(&first.token),
        None,
        None,
    )
    .await;
    assert_eq!(code_of(&early), "second_factor_required");
    // A wrong code.
    let secret = clinician.totp_secret.unwrap();
    let right = code_for(&secret);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let reply = post(
        &client,
        "/api/auth/totp",
        Some(&first.token),
        json!({ "code": wrong }),
    )
    .await;
    assert_eq!(
        (reply.status, code_of(&reply).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_code")
    );
    // The right code signs in; the session names the user and role.
    let done = step(
        &post(
            &client,
            "/api/auth/totp",
            Some(&first.token),
            json!({ "code": right }),
        )
        .await,
    );
    let SignInStep::SignedIn { session } = done.step else {
        panic!()
    };
    assert_eq!(session.role, Role::Clinician);
    assert_eq!(session.display_name.as_str(), clinician.name);
    let me = send(
        &client,
        Method::GET,
        "/api/session",
        Some(&done.token),
        None,
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
    // The pending token is spent.
    let spent = send(
        &client,
        Method::GET,
        "/api/session",
        Some(&first.token),
        None,
        None,
    )
    .await;
    assert_eq!(code_of(&spent), "session_expired");
    // The same code again (a replay) is refused, even on a new sign-in.
    let again = step(&post(&client, "/api/auth/login", None, login).await);
    let reply = post(
        &client,
        "/api/auth/totp",
        Some(&again.token),
        json!({ "code": right }),
    )
    .await;
    assert_eq!(code_of(&reply), "invalid_code");
    // Signing out ends the session on the server.
    let out = post(&client, "/api/auth/logout", Some(&done.token), json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = send(
        &client,
        Method::GET,
        "/api/session",
        Some(&done.token),
        None,
        None,
    )
    .await;
    assert_eq!(code_of(&after), "session_expired");
}

#[tokio::test]
async fn unknown_users_look_like_wrong_passwords_and_both_are_rate_limited() {
    let server = demo_server().await;
    let client = server.client();
    let wrong = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "admin@demo.haven", "password": "not the password at all"}),
    )
    .await;
    let unknown = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "nobody@demo.haven", "password": "not the password at all"}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    for _ in 0..4 {
        post(
            &client,
            "/api/auth/login",
            None,
            json!({"email": "nobody@demo.haven", "password": "not the password at all"}),
        )
        .await;
    }
    let limited = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "nobody@demo.haven", "password": "not the password at all"}),
    )
    .await;
    assert_eq!(
        (limited.status, code_of(&limited).as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    // Even the right password waits out the limit.
    for _ in 0..5 {
        post(
            &client,
            "/api/auth/login",
            None,
            json!({"email": "staff@demo.haven", "password": "wrong wrong wrong"}),
        )
        .await;
    }
    let right = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "staff@demo.haven", "password": "demo staff password"}),
    )
    .await;
    assert_eq!(code_of(&right), "too_many_attempts");
}

#[tokio::test]
async fn invitations_set_up_accounts_once_and_expire() {
    let server = demo_server().await;
    let client = server.client();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;

    // An admin may not invite a patient, a clinician may not invite staff.
    let bad = post(
        &client,
        "/api/invitations",
        Some(&admin),
        json!({"role": "patient", "email": "p@x.org", "display_name": "P"}),
    )
    .await;
    assert_eq!(code_of(&bad), "forbidden");
    let bad = post(
        &client,
        "/api/invitations",
        Some(&clinician),
        json!({"role": "admin", "email": "a@x.org", "display_name": "A"}),
    )
    .await;
    assert_eq!(code_of(&bad), "forbidden");
    let taken = post(
        &client,
        "/api/invitations",
        Some(&admin),
        json!({"role": "staff", "email": "staff@demo.haven", "display_name": "S"}),
    )
    .await;
    assert_eq!(code_of(&taken), "email_taken");

    // Staff: the link sets the password, then enrolment of an authenticator is required.
    let invite = post(
        &client,
        "/api/invitations",
        Some(&admin),
        json!({"role": "staff", "email": "new.staff@demo.haven", "display_name": "Nía Staff"}),
    )
    .await;
    assert_eq!(invite.status, StatusCode::OK);
    let token = invitation_token(&invite);
    let accepted = step(
        &post(
            &client,
            "/api/invitations/accept",
            None,
            json!({"token": token, "password": "a brand new password"}),
        )
        .await,
    );
    let SignInStep::TotpEnrolmentRequired {
        secret,
        otpauth_uri,
    } = &accepted.step
    else {
        panic!("{:?}", accepted.step)
    };
    assert!(otpauth_uri.starts_with("otpauth://totp/"));
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let no_access = send(
        &client,
        Method::GET,
        "/api/patient-contacts",
        Some(&accepted.token),
        None,
        None,
    )
    .await;
    assert_eq!(code_of(&no_access), "second_factor_required");
    let code = code_for(secret.as_bytes());
    let done = step(
        &post(
            &client,
            "/api/auth/totp/confirm",
            Some(&accepted.token),
            json!({"code": code}),
        )
        .await,
    );
    let contacts = send(
        &client,
        Method::GET,
        "/api/patient-contacts",
        Some(&done.token),
        None,
        None,
    )
    .await;
    assert_eq!(contacts.status, StatusCode::OK);
    // Used once only.
    let reuse = post(
        &client,
        "/api/invitations/accept",
        None,
        json!({"token": token, "password": "a brand new password"}),
    )
    .await;
    assert_eq!(
        (reuse.status, code_of(&reuse).as_str()),
        (StatusCode::GONE, "invitation_used")
    );
    // A garbled or unknown link.
    for token in ["", "abc", &"A".repeat(43)] {
        let reply = post(
            &client,
            "/api/invitations/accept",
            None,
            json!({"token": token, "password": "a brand new password"}),
        )
        .await;
        assert_eq!(code_of(&reply), "invitation_invalid", "{token:?}");
    }

    // A clinician's patient: signed in at once and in that clinician's care team.
    let invite = post(&client, "/api/invitations", Some(&clinician), json!({"role": "patient", "email": "new.patient@demo.haven", "display_name": "Renée 👩🏽 O'Brien"})).await;
    let token = invitation_token(&invite);
    // Expired before use.
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    sqlx::query("UPDATE invitations SET expires_at = 0 WHERE token_hash = ?")
        .bind(haven_server::secrets::token_hash(&token))
        .execute(&db)
        .await
        .unwrap();
    let expired = post(
        &client,
        "/api/invitations/accept",
        None,
        json!({"token": token, "password": "a brand new password"}),
    )
    .await;
    assert_eq!(
        (expired.status, code_of(&expired).as_str()),
        (StatusCode::GONE, "invitation_expired")
    );
    let invite = post(&client, "/api/invitations", Some(&clinician), json!({"role": "patient", "email": "new.patient@demo.haven", "display_name": "Renée 👩🏽 O'Brien"})).await;
    let token = invitation_token(&invite);
    let patient = step(
        &post(
            &client,
            "/api/invitations/accept",
            None,
            json!({"token": token, "password": "a brand new password"}),
        )
        .await,
    );
    assert!(matches!(patient.step, SignInStep::SignedIn { .. }));
    let mine = send(
        &client,
        Method::GET,
        "/api/patients",
        Some(&clinician),
        None,
        None,
    )
    .await;
    assert!(
        mine.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["display_name"] == "Renée 👩🏽 O'Brien")
    );
}

#[tokio::test]
async fn deactivation_ends_sessions_and_closes_sockets_at_once() {
    let server = demo_server().await;
    let client = server.client();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let mut socket = common::ws::open(&server, None).await;
    common::ws::next(&mut socket).await;
    socket
        .send(common::ws::text(json!({"type": "auth", "token": staff})))
        .await
        .unwrap();
    assert_eq!(
        common::ws::next(&mut socket).await,
        ServerFrame::Authenticated
    );

    let users = send(&client, Method::GET, "/api/users", Some(&admin), None, None).await;
    let staff_id = users
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "staff@demo.haven")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me_id = users
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "admin@demo.haven")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let self_off = post(
        &client,
        &format!("/api/users/{me_id}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(code_of(&self_off), "cannot_change_self");
    let off = post(
        &client,
        &format!("/api/users/{staff_id}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(off.status, StatusCode::NO_CONTENT);
    match common::ws::next(&mut socket).await {
        ServerFrame::SessionEnded { reason } => {
            assert_eq!(reason, haven_protocol::audit::SessionEndReason::Deactivated)
        }
        other => panic!("{other:?}"),
    }
    let closed = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .unwrap();
    assert!(matches!(
        closed,
        None | Some(Err(_)) | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))
    ));
    let after = send(
        &client,
        Method::GET,
        "/api/patient-contacts",
        Some(&staff),
        None,
        None,
    )
    .await;
    assert_eq!(code_of(&after), "session_expired");
    let again = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "staff@demo.haven", "password": "demo staff password"}),
    )
    .await;
    assert_eq!(code_of(&again), "invalid_credentials");
}

#[tokio::test]
async fn emergency_access_is_reasoned_time_boxed_and_visible() {
    let server = demo_server().await;
    let client = server.client();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let outsider = sign_in(&client, "patient2@demo.haven", None).await;
    let me: Value = send(
        &client,
        Method::GET,
        "/api/session",
        Some(&outsider),
        None,
        None,
    )
    .await
    .json();
    let id = me["user_id"].as_str().unwrap().to_owned();

    let refused = send(
        &client,
        Method::GET,
        &format!("/api/patients/{id}"),
        Some(&clinician),
        None,
        None,
    )
    .await;
    assert_eq!(
        (refused.status, code_of(&refused).as_str()),
        (StatusCode::FORBIDDEN, "not_in_care_team")
    );
    let short = post(
        &client,
        &format!("/api/patients/{id}/break-glass"),
        Some(&clinician),
        json!({"reason": "urgent"}),
    )
    .await;
    assert_eq!(
        (short.status, code_of(&short).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );
    let reason = "Patient unresponsive in clinic; assigned clinician unreachable";
    let grant = post(
        &client,
        &format!("/api/patients/{id}/break-glass"),
        Some(&clinician),
        json!({"reason": reason}),
    )
    .await;
    assert_eq!(grant.status, StatusCode::OK);
    let expires =
        grant.json()["expires_at"].as_i64().unwrap() - grant.json()["granted_at"].as_i64().unwrap();
    assert_eq!(expires, 3600);
    let record = send(
        &client,
        Method::GET,
        &format!("/api/patients/{id}"),
        Some(&clinician),
        None,
        None,
    )
    .await;
    assert_eq!(record.json()["access"]["basis"], "break_glass");
    let seen = send(
        &client,
        Method::GET,
        "/api/my-activity",
        Some(&outsider),
        None,
        None,
    )
    .await;
    assert_eq!(seen.json()[0]["reason"], reason);
    assert_eq!(seen.json()[0]["who"], "Dr. Cleo Ruiz");
    let admins = send(
        &client,
        Method::GET,
        "/api/break-glass",
        Some(&admin),
        None,
        None,
    )
    .await;
    assert_eq!(admins.json()[0]["patient"], "Zoë Ångström");
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let server = demo_server().await;
    let client = server.client();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let users_before = send(&client, Method::GET, "/api/users", Some(&admin), None, None)
        .await
        .body;
    let long = "x".repeat(300);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/api/auth/login",
            json!({"email": "not-an-email", "password": "whatever whatever"}),
            "invalid_field",
        ),
        (
            "/api/auth/login",
            json!({"email": "a@b.org", "password": "short"}),
            "invalid_field",
        ),
        (
            "/api/auth/login",
            json!({"email": "' OR 1=1 --@x.org", "password": "whatever whatever"}),
            "invalid_field",
        ),
        (
            "/api/auth/login",
            json!({"email": "a@b.org"}),
            "invalid_body",
        ),
        (
            "/api/auth/login",
            json!({"email": "a@b.org", "password": "whatever whatever", "admin": true}),
            "invalid_body",
        ),
        (
            "/api/auth/login",
            json!({"email": long, "password": "whatever whatever"}),
            "invalid_field",
        ),
        (
            "/api/invitations",
            json!({"role": "root", "email": "r@x.org", "display_name": "R"}),
            "invalid_body",
        ),
        (
            "/api/invitations",
            json!({"role": "staff", "email": "r@x.org", "display_name": "evil\u{202e}txt.exe"}),
            "invalid_field",
        ),
        (
            "/api/invitations",
            json!({"role": "staff", "email": "r@x.org", "display_name": ""}),
            "invalid_field",
        ),
        (
            "/api/invitations",
            json!({"role": "staff", "email": "r@x.org", "display_name": long}),
            "invalid_field",
        ),
        (
            "/api/invitations",
            json!({"role": "staff", "email": "<script>@x.org", "display_name": "R"}),
            "invalid_field",
        ),
        (
            "/api/invitations/accept",
            json!({"token": "x", "password": "tiny"}),
            "invalid_field",
        ),
        ("/api/auth/totp", json!({"code": "12345"}), "invalid_field"),
        ("/api/auth/totp", json!({"code": "abcdef"}), "invalid_field"),
    ];
    for (path, body, want) in cases {
        let token = (path != "/api/auth/login").then_some(admin.as_str());
        let reply = post(&client, path, token, body.clone()).await;
        assert_eq!(code_of(&reply), want, "{path} {body}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !message.contains("<script>")
                && !message.contains("OR 1=1")
                && !message.contains('\u{202e}'),
            "{message}"
        );
    }
    // SQL and script strings are only ever data: stored and returned verbatim, harmless.
    for name in [
        "Robert'); DROP TABLE users;--",
        "<img src=x onerror=alert(1)>",
        "Ωmega ﷺ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ] {
        let reply = post(&client, "/api/invitations", Some(&admin), json!({"role": "clinician", "email": format!("u{}@x.org", name.len()), "display_name": name})).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
    }
    let users_after = send(&client, Method::GET, "/api/users", Some(&admin), None, None)
        .await
        .body;
    assert_eq!(
        users_before, users_after,
        "a refused or pending request changed the users"
    );
    let oversized = client
        .send(
            Method::POST,
            "/api/auth/login",
            &[("content-type", "application/json")],
            vec![b'x'; 100 * 1024],
        )
        .await;
    assert_eq!(code_of(&oversized), "payload_too_large");
}

/// Passwords are stored as argon2id, tokens only hashed, and no secret reaches the log.
#[tokio::test]
async fn secrets_are_not_stored_in_clear_or_logged() {
    let server = demo_server().await;
    let client = server.client();
    let token = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let hashes: Vec<(String,)> = sqlx::query_as("SELECT password_hash FROM users")
        .fetch_all(&db)
        .await
        .unwrap();
    assert!(!hashes.is_empty());
    for (hash,) in &hashes {
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    }
    // Checkpoint the WAL so everything is in the database file, then scan every file.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&db)
        .await
        .unwrap();
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(server.data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(path).unwrap());
        }
    }
    let logs = String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned();
    let code = code_for(&USERS[2].totp_secret.unwrap());
    for secret in [
        token.as_str(),
        patient.as_str(),
        "demo clinician password",
        "demo patient password",
    ] {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "stored in clear: {secret}"
        );
        assert!(!logs.contains(secret), "logged: {secret}");
    }
    assert!(
        !logs.contains(&format!("\"{code}\"")),
        "a TOTP code was logged"
    );
    assert!(
        !logs.contains("clinician@demo.haven"),
        "an email address was logged"
    );
}

/// The OpenAPI document describes exactly the routes the server has, who may call each,
/// and their bodies, with every referenced schema present.
#[tokio::test]
async fn the_openapi_document_matches_the_route_table() {
    let server = demo_server().await;
    let reply = server.client().get("/api/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let specs = haven_server::routes::specs();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        operations,
        specs.len(),
        "the document and the router disagree"
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling reference to {name}");
    }
    for spec in &specs {
        let op =
            &doc["paths"][format!("/api{}", spec.path)][spec.method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{} {} missing", spec.method, spec.path);
        assert!(
            !op["summary"].as_str().unwrap_or_default().is_empty(),
            "{} has no summary",
            spec.path
        );
        assert_eq!(
            op["security"].is_array(),
            spec.access != Access::Public,
            "{}",
            spec.path
        );
        assert_eq!(
            op["requestBody"].is_object(),
            spec.request.is_some() || spec.raw_request.is_some(),
            "{}",
            spec.path
        );
        if let Some(media) = spec.raw_request {
            assert!(
                op["requestBody"]["content"][media].is_object(),
                "{}",
                spec.path
            );
        }
    }
    for name in [
        "LoginRequest",
        "SignInResponse",
        "SessionInfo",
        "ApiError",
        "BreakGlassGrant",
    ] {
        assert!(schemas.contains_key(name), "{name} missing");
    }
    let clinician_only = &doc["paths"]["/api/patients/{id}/break-glass"]["post"]["description"];
    assert_eq!(clinician_only, "Signed-in roles: clinician.");
}

/// The README lists every audit event, from the one enum.
#[test]
fn the_readme_lists_every_audit_event() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for action in haven_protocol::audit::AuditAction::ALL {
        let row = format!("| `{}` | {} |", action.as_str(), action.about());
        assert!(readme.contains(&row), "README.md lacks {row}");
    }
}

/// A deactivated patient's care team takes no one new: a clinician of the team who
/// brings a colleague in is refused with nothing recorded, and the team stays as it was
/// (the record itself is still read).
#[tokio::test]
async fn no_one_joins_a_deactivated_patients_care_team() {
    let server = demo_server().await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = common::store::user_id(&db, "patient@demo.haven").await;
    let colleague = common::store::user_id(&db, "clinician2@demo.haven").await;
    let deactivated = post(
        &client,
        &format!("/api/users/{patient}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert!(deactivated.status.is_success(), "{}", deactivated.status);

    let join = post(
        &client,
        &format!("/api/patients/{patient}/care-team"),
        Some(&clinician),
        json!({ "clinician": colleague }),
    )
    .await;
    assert_eq!(join.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code_of(&join), "invalid_field");
    assert!(
        join.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deactivated")
    );
    assert_eq!(common::store::count(&db, "care_team_joined").await, 0);
    let record = send(
        &client,
        Method::GET,
        &format!("/api/patients/{patient}"),
        Some(&clinician),
        None,
        None,
    )
    .await;
    assert_eq!(record.status, StatusCode::OK);
    let team = record.json()["care_team"].as_array().unwrap().clone();
    assert_eq!(team.len(), 1, "{team:?}");
}
