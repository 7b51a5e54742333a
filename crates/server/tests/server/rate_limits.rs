//! Sign-in limits, attacked: a flood of refused sign-ins, concurrent guesses, addresses
//! rotated inside one IPv6 /64, a forged forwarded header, and a lock-out of someone who
//! signed in from this browser before.

use std::sync::Arc;

use futures_util::future::join_all;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::api::{get, post, sign_in, step};
use crate::common::{Client, TestServer, store};

async fn demo(tweak: impl FnOnce(&mut haven_server::ServerConfig)) -> TestServer {
    TestServer::start_with(|c| {
        c.demo = true;
        tweak(c);
    })
    .await
}

fn login_body(email: &str, password: &str) -> Vec<u8> {
    json!({ "email": email, "password": password })
        .to_string()
        .into_bytes()
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn a_flood_of_refused_sign_ins_adds_a_bounded_number_of_entries() {
    let server = demo(|_| {}).await;
    let client = Arc::new(server.client());
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let before = store::total(&db).await;

    // 10,000 wrong passwords for one account, on 20 kept-open connections, while a
    // signed-in user goes on working.
    let flood = (0..20).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            let mut conn = client.keep_alive().await;
            let mut statuses = Vec::new();
            for _ in 0..500 {
                let (status, _) = conn
                    .send(
                        Method::POST,
                        "/api/auth/login",
                        &[JSON],
                        login_body("clinician@demo.haven", "not the password at all"),
                    )
                    .await;
                statuses.push(status);
            }
            statuses
        })
    });
    let flood = tokio::spawn(join_all(flood));
    let mut answered = 0;
    while !flood.is_finished() {
        let reply = get(&client, "/api/session", &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "a signed-in request failed");
        answered += 1;
    }
    let statuses: Vec<StatusCode> = flood
        .await
        .unwrap()
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    assert_eq!(statuses.len(), 10_000);
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + throttled, 10_000, "{statuses:?}");
    assert_eq!(checked, haven_server::identity::ratelimit::PER_ACCOUNT);
    assert!(answered > 0);
    // Only the checked attempts were written; the refused ones wait for their window.
    let added = store::total(&db).await - before;
    assert!(
        added <= haven_server::identity::ratelimit::PER_ACCOUNT as i64 + 1,
        "{added} entries"
    );
    assert_eq!(store::count(&db, "sign_in_throttled").await, 0);
}

#[tokio::test]
async fn refused_attempts_are_recorded_once_with_their_count_when_the_window_closes() {
    let server = demo(|c| {
        c.guards.sign_in_window_secs = 6;
        c.audit_head_period = std::time::Duration::from_millis(200);
    })
    .await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let mut conn = client.keep_alive().await;
    for _ in 0..45 {
        conn.send(
            Method::POST,
            "/api/auth/login",
            &[JSON],
            login_body("patient@demo.haven", "not the password at all"),
        )
        .await;
    }
    let entries = store::wait_for(&db, "sign_in_throttled", 1).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let detail = entries[0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("40 attempts refused by the account limit"),
        "{detail}"
    );
    assert_eq!(entries[0]["outcome"], "failure");
    assert!(entries[0]["target"].as_str().unwrap().starts_with("user:"));
    assert_eq!(store::count(&db, "sign_in_failed").await, 5);
}

#[tokio::test]
async fn concurrent_guesses_get_no_more_checks_than_the_limit() {
    let server = demo(|_| {}).await;
    let client = Arc::new(server.client());
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let guesses = (0..200).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            post(
                &client,
                "/api/auth/login",
                None,
                json!({"email": "staff@demo.haven", "password": format!("guess number {i:04}")}),
            )
            .await
            .status
        })
    });
    let statuses: Vec<StatusCode> = join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, haven_server::identity::ratelimit::PER_ACCOUNT);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        200 - haven_server::identity::ratelimit::PER_ACCOUNT
    );
    assert_eq!(
        store::count(&db, "sign_in_failed").await,
        haven_server::identity::ratelimit::PER_ACCOUNT as i64
    );
    assert!(
        haven_server::secrets::peak_concurrent_hashes()
            <= haven_server::secrets::max_concurrent_hashes()
    );
}

async fn login_from(client: &Client, forwarded: &str, email: &str, password: &str) -> StatusCode {
    login_at(client, None, forwarded, email, password).await
}

/// A sign-in on `host` (by default this machine's loopback name) naming `forwarded` as
/// the client.
async fn login_at(
    client: &Client,
    host: Option<&str>,
    forwarded: &str,
    email: &str,
    password: &str,
) -> StatusCode {
    let mut headers = vec![JSON, ("x-forwarded-for", forwarded)];
    headers.extend(host.map(|h| ("host", h)));
    client
        .send(
            Method::POST,
            "/api/auth/login",
            &headers,
            login_body(email, password),
        )
        .await
        .status
}

/// Where a server behind a proxy is reached: forwarded clients are not this machine, so
/// a loopback name is no clinic for them.
const PUBLIC: &str = "portal.clinic.example";

#[tokio::test]
async fn ipv6_clients_are_limited_per_64_behind_a_trusted_proxy() {
    let server = demo(|c| {
        c.guards.trusted_proxies =
            vec![haven_server::http::extract::Cidr::parse("127.0.0.1/32").unwrap()];
        c.public_origin = Some(format!("https://{PUBLIC}").parse().unwrap());
    })
    .await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    // Rotating through one /64, a different account each time.
    for i in 0..haven_server::identity::ratelimit::PER_ADDRESS {
        let status = login_at(
            &client,
            Some(PUBLIC),
            &format!("2001:db8:aa:bb::{:x}", i + 1),
            &format!("nobody{i}@example.org"),
            "not the password at all",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let same_64 = login_at(
        &client,
        Some(PUBLIC),
        "2001:db8:aa:bb:ffff:1:2:3",
        "another@example.org",
        "not the password at all",
    )
    .await;
    assert_eq!(same_64, StatusCode::TOO_MANY_REQUESTS);
    let next_64 = login_at(
        &client,
        Some(PUBLIC),
        "2001:db8:aa:bc::1",
        "another@example.org",
        "not the password at all",
    )
    .await;
    assert_eq!(next_64, StatusCode::UNAUTHORIZED);
    // The forwarded address is what the log records.
    let failed = store::entries(&db, "sign_in_failed").await;
    assert_eq!(failed.last().unwrap()["source"], "2001:db8:aa:bc::1");
}

#[tokio::test]
async fn a_forwarded_header_from_anyone_but_a_trusted_proxy_is_ignored() {
    let server = demo(|_| {}).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    // A client cannot pick a fresh rate-limit bucket by forging the header.
    for i in 0..haven_server::identity::ratelimit::PER_ADDRESS {
        login_from(
            &client,
            &format!("203.0.113.{}", i + 1),
            &format!("nobody{i}@example.org"),
            "not the password at all",
        )
        .await;
    }
    let status = login_from(
        &client,
        "198.51.100.1",
        "someone@example.org",
        "not the password at all",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let failed = store::entries(&db, "sign_in_failed").await;
    assert!(
        failed.iter().all(|e| e["source"] == "127.0.0.1"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_locked_account_still_signs_in_from_a_browser_that_signed_in_before() {
    let server = demo(|_| {}).await;
    let client = server.client();
    let signed_in = step(
        &post(
            &client,
            "/api/auth/login",
            None,
            json!({"email": "patient@demo.haven", "password": "demo patient password"}),
        )
        .await,
    );
    let device = signed_in
        .device
        .expect("a device credential")
        .expose()
        .to_owned();
    // Someone spends the account's whole budget.
    for _ in 0..10 {
        post(
            &client,
            "/api/auth/login",
            None,
            json!({"email": "patient@demo.haven", "password": "not the password at all"}),
        )
        .await;
    }
    let locked = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "patient@demo.haven", "password": "demo patient password"}),
    )
    .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    // The owner's browser still gets in, and keeps its credential.
    let owner = step(
        &post(
            &client,
            "/api/auth/login",
            None,
            json!({"email": "patient@demo.haven", "password": "demo patient password", "device": device}),
        )
        .await,
    );
    assert_eq!(owner.device.unwrap().expose(), device);
    // A made-up credential is no way around the limit, nor is the owner's credential
    // used for another account.
    let forged: Value = json!({
        "email": "patient@demo.haven",
        "password": "demo patient password",
        "device": "A".repeat(43),
    });
    assert_eq!(
        post(&client, "/api/auth/login", None, forged).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Guessing with a stolen credential is limited too.
    let mut last = StatusCode::OK;
    for _ in 0..10 {
        last = post(
            &client,
            "/api/auth/login",
            None,
            json!({"email": "patient@demo.haven", "password": "not the password at all", "device": device}),
        )
        .await
        .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // A malformed credential is refused as bad input, not ignored.
    let bad = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "patient@demo.haven", "password": "demo patient password", "device": "x"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
