//! The audit log through the real server: each event recorded when its action happens;
//! tampering with the stored log caught by `audit verify` and `audit check-head`, naming
//! the first bad entry; an action and its entry commit together or not at all; bad
//! queries refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::api::{get, invitation_token, now, post, put, send, sign_in, step};
use common::{Client, TestServer};
use haven_protocol::identity::SignInStep;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.demo = true;
        c.audit_head_period = Duration::from_millis(200);
    })
    .await
}

async fn all_entries(client: &Client, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut path = format!("/api/audit/entries?limit=7{query}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        let page = get(client, &path, token).await.json();
        out.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next"].as_u64() {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn user_id(client: &Client, admin: &str, email: &str) -> String {
    let users = get(client, "/api/users", admin).await.json();
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn each_event_is_recorded_when_it_happens() {
    let server = server().await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();

    let wrong = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "admin@demo.haven", "password": "definitely wrong"}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let auditor = sign_in(&client, "auditor@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let outsider = sign_in(&client, "patient2@demo.haven", None).await;
    let patient_id = get(&client, "/api/session", &patient).await.json()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outsider_id = get(&client, "/api/session", &outsider).await.json()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Clinical access.
    assert_eq!(
        get(&client, &format!("/api/patients/{patient_id}"), &clinician)
            .await
            .status,
        StatusCode::OK
    );
    let reason = json!({"reason": "Unresponsive in the waiting area; no assigned clinician"});
    assert_eq!(
        post(
            &client,
            &format!("/api/patients/{outsider_id}/break-glass"),
            Some(&clinician),
            reason
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&client, &format!("/api/patients/{outsider_id}"), &clinician)
            .await
            .status,
        StatusCode::OK
    );
    // The grant runs out: its end is recorded by the server's own duty.
    sqlx::query("UPDATE break_glass SET expires_at = 0")
        .execute(&db)
        .await
        .unwrap();

    // Administration.
    let invite = post(
        &client,
        "/api/invitations",
        Some(&admin),
        json!({"role": "staff", "email": "new@demo.haven", "display_name": "New Staff"}),
    )
    .await;
    let token = invitation_token(&invite);
    let accepted = step(
        &post(
            &client,
            "/api/invitations/accept",
            None,
            json!({"token": token, "password": "a fine new password"}),
        )
        .await,
    );
    let SignInStep::TotpEnrolmentRequired { secret, .. } = accepted.step else {
        panic!()
    };
    let secret = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let code = haven_server::secrets::totp_code(secret.as_bytes(), now()).unwrap();
    step(
        &post(
            &client,
            "/api/auth/totp/confirm",
            Some(&accepted.token),
            json!({"code": code}),
        )
        .await,
    );
    let new_id = user_id(&client, &admin, "new@demo.haven").await;
    assert_eq!(
        post(
            &client,
            &format!("/api/users/{new_id}/role"),
            Some(&admin),
            json!({"role": "clinician"})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        post(
            &client,
            &format!("/api/users/{new_id}/deactivate"),
            Some(&admin),
            json!({})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let settings = put(
        &client,
        "/api/org/settings",
        Some(&admin),
        json!({"idle_timeout_secs": 600}),
    )
    .await;
    assert_eq!(settings.status, StatusCode::OK);

    // Sessions ending: by the user, by the app's automatic logoff, by the idle timeout.
    assert_eq!(
        post(&client, "/api/auth/logout", Some(&patient), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        post(
            &client,
            "/api/auth/logout",
            Some(&outsider),
            json!({"reason": "inactivity"})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let idle = sign_in(&client, "patient@demo.haven", None).await;
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 100000 WHERE token_hash = ?")
        .bind(haven_server::secrets::token_hash(&idle))
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        get(&client, "/api/session", &idle).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The export is recorded too.
    assert_eq!(
        get(&client, "/api/audit/export", &auditor).await.status,
        StatusCode::OK
    );

    let mut entries = Vec::new();
    for _ in 0..200 {
        entries = all_entries(&client, &auditor, "").await;
        if actions(&entries).iter().any(|a| a == "break_glass_ended") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = actions(&entries);
    for expected in [
        "sign_in_failed",
        "sign_in",
        "record_opened",
        "break_glass_granted",
        "break_glass_ended",
        "invitation_created",
        "invitation_accepted",
        "second_factor_enrolled",
        "role_changed",
        "account_deactivated",
        "settings_changed",
        "sign_out",
        "auto_logoff",
        "session_expired",
        "audit_exported",
    ] {
        assert!(
            seen.iter().any(|a| a == expected),
            "{expected} not recorded: {seen:?}"
        );
    }
    // Entries are numbered without gaps, carry actors and sources, and never content.
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["index"], i as u64);
    }
    let text = serde_json::to_string(&entries).unwrap();
    for secret in [
        "demo admin password",
        "definitely wrong",
        "Unresponsive",
        "new@demo.haven",
        admin.as_str(),
    ] {
        assert!(!text.contains(secret), "the log holds {secret:?}");
    }
    let failed = entries
        .iter()
        .find(|e| e["action"] == "sign_in_failed")
        .unwrap();
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["source"], "127.0.0.1");
    let opened = entries
        .iter()
        .filter(|e| e["action"] == "record_opened")
        .collect::<Vec<_>>();
    assert_eq!(opened[1]["detail"], "emergency access");
    // Filters: by patient, by actor, by action, by time.
    let about_outsider = all_entries(&client, &auditor, &format!("&patient={outsider_id}")).await;
    assert_eq!(
        actions(&about_outsider),
        ["break_glass_granted", "record_opened", "break_glass_ended"]
    );
    let clinician_id = opened[0]["actor"]["user"].as_str().unwrap();
    let by_clinician = all_entries(&client, &auditor, &format!("&actor={clinician_id}")).await;
    assert!(
        by_clinician
            .iter()
            .all(|e| e["actor"]["user"] == clinician_id)
    );
    assert!(by_clinician.len() >= 4);
    let sign_ins = all_entries(&client, &auditor, "&action=sign_in").await;
    assert!(sign_ins.len() >= 6 && sign_ins.iter().all(|e| e["action"] == "sign_in"));
    let future = all_entries(&client, &auditor, &format!("&from={}", now() + 3600)).await;
    assert!(future.is_empty());
    // Admins may read the log; nobody else (the matrix test covers every role).
    assert_eq!(
        get(&client, "/api/audit/entries", &admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&client, "/api/audit/entries", &clinician).await.status,
        StatusCode::FORBIDDEN
    );
}

fn run_cli(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_haven-server"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn export_to(client: &Client, token: &str, path: &Path) {
    let reply = get(client, "/api/audit/export", token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/jsonl");
    std::fs::write(path, &reply.body).unwrap();
}

#[tokio::test]
async fn tampering_is_caught_and_the_first_bad_entry_named() {
    let server = server().await;
    let client = server.client();
    let data = server.data.path().to_str().unwrap().to_owned();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let auditor = sign_in(&client, "auditor@demo.haven", None).await;
    for email in [
        "patient@demo.haven",
        "patient2@demo.haven",
        "clinician@demo.haven",
        "staff@demo.haven",
    ] {
        sign_in(&client, email, None).await;
    }
    let work = tempfile::tempdir().unwrap();
    let head_file = work.path().join("old-head.json");
    let head = get(&client, "/api/audit/head", &auditor).await;
    std::fs::write(&head_file, &head.body).unwrap();
    let export = work.path().join("export.jsonl");
    export_to(&client, &auditor, &export).await;
    let (ok, text) = run_cli(&["audit", "verify", export.to_str().unwrap(), "--data", &data]);
    assert!(ok, "{text}");
    assert!(text.starts_with("Intact"), "{text}");
    let (ok, text) = run_cli(&[
        "audit",
        "check-head",
        head_file.to_str().unwrap(),
        "--data",
        &data,
    ]);
    assert!(ok, "{text}");

    let rows: Vec<Row> =
        sqlx::query_as("SELECT org_id, idx, at, actor_user, action, patient, payload FROM audit_entries ORDER BY idx")
            .fetch_all(&db)
            .await
            .unwrap();
    let size = rows.len() as i64;
    // Puts the log back as it was, dropping whatever the checks themselves appended.
    let restore = || async {
        sqlx::query("DELETE FROM audit_entries")
            .execute(&db)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > ?")
            .bind(size)
            .execute(&db)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_heads WHERE tree_size > ?")
            .bind(size)
            .execute(&db)
            .await
            .unwrap();
        for r in &rows {
            sqlx::query("INSERT INTO audit_entries (org_id, idx, at, actor_user, action, patient, payload) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(&r.0).bind(r.1).bind(r.2).bind(&r.3).bind(&r.4).bind(&r.5).bind(&r.6)
                .execute(&db)
                .await
                .unwrap();
        }
    };
    let cases: Vec<(&str, String, i64)> = vec![
        ("change", "UPDATE audit_entries SET payload = replace(payload, '\"sign_in\"', '\"sign_ix\"') WHERE idx = 3".into(), 3),
        ("delete", "DELETE FROM audit_entries WHERE idx = 4".into(), 4),
        ("reorder", "UPDATE audit_entries SET payload = CASE idx WHEN 2 THEN (SELECT payload FROM audit_entries WHERE idx = 5) ELSE (SELECT payload FROM audit_entries WHERE idx = 2) END WHERE idx IN (2, 5)".into(), 2),
        ("insert", format!("INSERT INTO audit_entries (org_id, idx, at, action, payload) SELECT org_id, {size}, at, action, replace(payload, '\"index\":0', '\"index\":{size}') FROM audit_entries WHERE idx = 0"), size),
    ];
    for (name, sql, first_bad) in cases {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&db)
            .await
            .unwrap();
        // A row slipped in at the end takes the slot of the next real entry, so the
        // server refuses to append (and so to export, which is itself recorded) until
        // it is resolved; the offline check below still names it.
        if name != "insert" {
            let tampered = work.path().join(format!("{name}.jsonl"));
            export_to(&client, &auditor, &tampered).await;
            let (ok, text) = run_cli(&[
                "audit",
                "verify",
                tampered.to_str().unwrap(),
                "--data",
                &data,
            ]);
            assert!(!ok, "{name}: verify passed: {text}");
            assert!(
                text.contains(&format!("first bad entry is #{first_bad}")),
                "{name}: {text}"
            );
        } else {
            assert_eq!(
                get(&client, "/api/audit/export", &auditor).await.status,
                StatusCode::INTERNAL_SERVER_ERROR
            );
        }
        let (ok, text) = run_cli(&[
            "audit",
            "check-head",
            head_file.to_str().unwrap(),
            "--data",
            &data,
        ]);
        assert!(!ok, "{name}: check-head passed: {text}");
        assert!(
            text.contains(&format!("first bad entry is #{first_bad}")),
            "{name}: {text}"
        );
        restore().await;
    }

    // Re-signed with another key: the export's head no longer verifies with the trusted key.
    let other = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut head: Value = serde_json::from_str(&lines[0]).unwrap();
    let root = haven_audit_log::from_hex::<32>(head["root_hash"].as_str().unwrap()).unwrap();
    let forged = haven_audit_log::TreeHead {
        organisation: head["organisation"].as_str().unwrap().to_owned(),
        size: head["tree_size"].as_u64().unwrap(),
        timestamp: head["timestamp"].as_i64().unwrap(),
        root,
    }
    .sign(&other);
    head["signature"] = json!(forged.signature);
    head["public_key"] = json!(forged.public_key);
    lines[0] = head.to_string();
    let resigned = work.path().join("resigned.jsonl");
    std::fs::write(&resigned, lines.join("\n")).unwrap();
    let (ok, text) = run_cli(&[
        "audit",
        "verify",
        resigned.to_str().unwrap(),
        "--data",
        &data,
    ]);
    assert!(
        !ok && text.contains("key other than the one trusted"),
        "{text}"
    );
    let forged_head = work.path().join("forged-head.json");
    std::fs::write(&forged_head, serde_json::to_string(&forged).unwrap()).unwrap();
    let (ok, text) = run_cli(&[
        "audit",
        "check-head",
        forged_head.to_str().unwrap(),
        "--data",
        &data,
    ]);
    assert!(!ok && text.contains("cannot be trusted"), "{text}");
    // A truncated or edited export file.
    let truncated = work.path().join("truncated.jsonl");
    std::fs::write(&truncated, text_lines(&export, 3)).unwrap();
    let (ok, text) = run_cli(&[
        "audit",
        "verify",
        truncated.to_str().unwrap(),
        "--data",
        &data,
    ]);
    assert!(!ok && text.contains("first bad entry is #2"), "{text}");
    // The untouched log still verifies.
    let (ok, text) = run_cli(&[
        "audit",
        "check-head",
        head_file.to_str().unwrap(),
        "--data",
        &data,
    ]);
    assert!(ok, "{text}");
}

/// A stored audit row: org, index, time, actor, action, patient, payload.
type Row = (
    String,
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn text_lines(path: &Path, n: usize) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(n)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn entry_count(db: &sqlx::SqlitePool) -> i64 {
    sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM audit_entries")
        .fetch_one(db)
        .await
        .unwrap()
        .0
}

/// Fail the transaction at each step (the audit row, its tree nodes, the action's own
/// write): the action and its entry are both there or both absent.
#[tokio::test]
async fn an_action_and_its_entry_commit_together_or_not_at_all() {
    let server = server().await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let staff_id = user_id(&client, &admin, "staff@demo.haven").await;
    let steps = [
        ("audit_entries", "BEFORE INSERT ON audit_entries"),
        ("audit_nodes", "BEFORE INSERT ON audit_nodes"),
        ("users", "BEFORE UPDATE ON users"),
    ];
    for (name, when) in steps {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TRIGGER fail_{name} {when} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )))
        .execute(&db)
        .await
        .unwrap();
        let before = entry_count(&db).await;
        let reply = post(
            &client,
            &format!("/api/users/{staff_id}/deactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{name}");
        assert!(
            !String::from_utf8_lossy(&reply.body).contains("injected"),
            "internals leaked"
        );
        let (active,): (i64,) = sqlx::query_as("SELECT active FROM users WHERE id = ?")
            .bind(&staff_id)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(active, 1, "{name}: the action happened without its entry");
        assert_eq!(
            entry_count(&db).await,
            before,
            "{name}: an entry without its action"
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER fail_{name}")))
            .execute(&db)
            .await
            .unwrap();
    }
    // The same for emergency access and for sign-in.
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let outsider = sign_in(&client, "patient2@demo.haven", None).await;
    let outsider_id = get(&client, "/api/session", &outsider).await.json()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sqlx::query("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'injected'); END")
        .execute(&db)
        .await
        .unwrap();
    let before = entry_count(&db).await;
    let reason = json!({"reason": "Unresponsive in the waiting area; no assigned clinician"});
    let grant = post(
        &client,
        &format!("/api/patients/{outsider_id}/break-glass"),
        Some(&clinician),
        reason,
    )
    .await;
    assert_eq!(grant.status, StatusCode::INTERNAL_SERVER_ERROR);
    let (grants,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM break_glass")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(grants, 0);
    let record = get(&client, &format!("/api/patients/{outsider_id}"), &clinician).await;
    assert_ne!(
        record.status,
        StatusCode::OK,
        "a record was read without its entry"
    );
    let login = post(
        &client,
        "/api/auth/login",
        None,
        json!({"email": "patient@demo.haven", "password": "demo patient password"}),
    )
    .await;
    assert_eq!(login.status, StatusCode::INTERNAL_SERVER_ERROR);
    let (sessions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'patient@demo.haven'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "a session opened without its sign-in entry");
    assert_eq!(entry_count(&db).await, before);
    sqlx::query("DROP TRIGGER fail_audit")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        post(
            &client,
            &format!("/api/users/{staff_id}/deactivate"),
            Some(&admin),
            json!({})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn bad_queries_and_proofs_are_refused() {
    let server = server().await;
    let client = server.client();
    let auditor = sign_in(&client, "auditor@demo.haven", None).await;
    sign_in(&client, "patient@demo.haven", None).await;
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let before = entry_count(&db).await;
    for path in [
        "/api/audit/entries?colour=red",
        "/api/audit/entries?limit=100000",
        "/api/audit/entries?limit=0",
        "/api/audit/entries?limit=-5",
        "/api/audit/entries?actor=1%27%20OR%20%271%27=%271",
        "/api/audit/entries?patient=zz",
        "/api/audit/entries?action=DROP%20TABLE",
        "/api/audit/entries?from=yesterday",
        "/api/audit/proof/inclusion?index=99&size=2",
        "/api/audit/proof/inclusion?index=0&size=999999",
        "/api/audit/proof/inclusion?index=-1&size=2",
        "/api/audit/proof/inclusion?index=0",
        "/api/audit/proof/inclusion?index=0&size=0",
        "/api/audit/proof/consistency?from=0&to=1",
        "/api/audit/proof/consistency?from=2&to=1",
        "/api/audit/proof/consistency?from=1&to=999999",
        "/api/audit/proof/consistency?from=a&to=b",
    ] {
        let reply = get(&client, path, &auditor).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["error"]["code"], "invalid_query", "{path}");
    }
    assert_eq!(
        entry_count(&db).await,
        before,
        "a refused query changed the log"
    );
    // Good proofs verify against the signed head.
    let head = get(&client, "/api/audit/head", &auditor).await.json();
    let size = head["tree_size"].as_u64().unwrap();
    let root = haven_audit_log::from_hex::<32>(head["root_hash"].as_str().unwrap()).unwrap();
    let entries = get(&client, "/api/audit/entries?limit=500", &auditor)
        .await
        .json();
    for index in 0..size {
        let proof = get(
            &client,
            &format!("/api/audit/proof/inclusion?index={index}&size={size}"),
            &auditor,
        )
        .await
        .json();
        let hashes: Vec<[u8; 32]> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| haven_audit_log::from_hex::<32>(h.as_str().unwrap()).unwrap())
            .collect();
        let entry: haven_protocol::audit::AuditEntry =
            serde_json::from_value(entries["entries"][index as usize].clone()).unwrap();
        let leaf = haven_audit_log::leaf_hash(&entry.canonical_bytes());
        haven_audit_log::verify_inclusion(&leaf, index, size, &hashes, &root).unwrap();
    }
    let proof = get(
        &client,
        &format!("/api/audit/proof/consistency?from=1&to={size}"),
        &auditor,
    )
    .await
    .json();
    assert!(proof["hashes"].as_array().is_some());
}

/// The default organisation's id, as stored.
async fn default_org(db: &sqlx::SqlitePool) -> haven_protocol::identity::Id {
    let (id,): (String,) = sqlx::query_as("SELECT id FROM organisations WHERE is_default = 1")
        .fetch_one(db)
        .await
        .unwrap();
    haven_protocol::identity::Id::parse(&id).unwrap()
}

/// Appends `n` entries to `org`'s log the way the server does, in batches.
async fn fill(db: &sqlx::SqlitePool, org: &haven_protocol::identity::Id, n: u64) {
    use haven_protocol::audit::AuditAction;
    use haven_server::audit::{Event, record_many};
    for start in (0..n).step_by(500) {
        let mut tx = haven_server::store::begin_write(db).await.unwrap();
        let events = (start..n.min(start + 500))
            .map(|i| Event::new(org, AuditAction::RecordOpened).target(format!("patient:{i}")))
            .collect();
        record_many(&mut tx, events).await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// Defect 5: entries keep arriving while auditors export the log. Each export holds
/// exactly the entries its signed head covers, so every one of them verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_taken_while_entries_arrive_still_verifies() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let server = server().await;
    let client = server.client();
    let data = server.data.path().to_str().unwrap().to_owned();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let org = default_org(&db).await;
    // Several of the export's reading batches.
    fill(&db, &org, 3_500).await;
    let auditor = sign_in(&client, "auditor@demo.haven", None).await;

    // Another writer appends entries, one durable transaction each, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicU64::new(0));
    let appender = {
        let (db, org, stop, appended) = (db.clone(), org.clone(), stop.clone(), appended.clone());
        tokio::spawn(async move {
            use haven_protocol::audit::AuditAction;
            while !stop.load(Ordering::Relaxed) {
                let n = appended.load(Ordering::Relaxed);
                let event = haven_server::audit::Event::new(&org, AuditAction::SignIn)
                    .target(format!("user:{n}"));
                haven_server::audit::record_alone(&db, event).await.unwrap();
                appended.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let work = tempfile::tempdir().unwrap();
    for round in 0..5 {
        let before = appended.load(Ordering::Relaxed);
        let path = work.path().join(format!("export-{round}.jsonl"));
        export_to(&client, &auditor, &path).await;
        // Entries did arrive while this export was taken.
        assert!(
            appended.load(Ordering::Relaxed) > before,
            "round {round}: nothing appended"
        );
        let (ok, text) = run_cli(&["audit", "verify", path.to_str().unwrap(), "--data", &data]);
        assert!(ok && text.starts_with("Intact"), "round {round}: {text}");
    }
    stop.store(true, Ordering::Relaxed);
    appender.await.unwrap();
}

/// Defect 5: a stored row that no longer parses is exported as it is found, so the
/// verifier names it as changed instead of the export quietly leaving it out.
#[tokio::test]
async fn a_garbled_row_is_named_by_the_verifier() {
    let server = server().await;
    let client = server.client();
    let data = server.data.path().to_str().unwrap().to_owned();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let auditor = sign_in(&client, "auditor@demo.haven", None).await;
    for email in [
        "patient@demo.haven",
        "clinician@demo.haven",
        "staff@demo.haven",
    ] {
        sign_in(&client, email, None).await;
    }
    sqlx::query("UPDATE audit_entries SET payload = 'garbled: not an entry at all' WHERE idx = 2")
        .execute(&db)
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("garbled.jsonl");
    export_to(&client, &auditor, &path).await;
    let export = std::fs::read_to_string(&path).unwrap();
    assert!(
        export.contains("garbled: not an entry at all"),
        "the row was left out"
    );
    let (ok, text) = run_cli(&["audit", "verify", path.to_str().unwrap(), "--data", &data]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("first bad entry is #2") && text.contains("changed"),
        "{text}"
    );
}

/// Defect 8: one server key signs every organisation's heads. A head names its
/// organisation inside what is signed, so one tenant's export cannot be passed off as
/// another's, and a head kept for one organisation proves nothing about another's log.
#[tokio::test]
async fn another_organisations_export_or_head_is_refused() {
    let server = server().await;
    let client = server.client();
    let data = server.data.path().to_str().unwrap().to_owned();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let ours = default_org(&db).await.to_string();
    let theirs = haven_server::tenancy::create(&db, "Other Clinic", "b.example", 900)
        .await
        .unwrap();
    haven_server::demo::seed(&db, &theirs).await.unwrap();
    let theirs = theirs.to_string();
    let our_auditor = sign_in(&client, "auditor@demo.haven", None).await;
    let their_auditor = sign_in(&client, "auditor@demo.haven", Some("b.example")).await;
    sign_in(&client, "patient@demo.haven", Some("b.example")).await;
    let their_get = |path: &'static str| {
        let token = their_auditor.clone();
        let client = &client;
        async move {
            send(
                client,
                Method::GET,
                path,
                Some(&token),
                None,
                Some("b.example"),
            )
            .await
        }
    };
    let work = tempfile::tempdir().unwrap();

    // Their export, as exported: it verifies as theirs and only as theirs.
    let export = their_get("/api/audit/export").await;
    assert_eq!(export.status, StatusCode::OK);
    let text = String::from_utf8(export.body.to_vec()).unwrap();
    let path = work.path().join("theirs.jsonl");
    std::fs::write(&path, &text).unwrap();
    let verify = |file: &Path, org: &str| {
        run_cli(&[
            "audit",
            "verify",
            file.to_str().unwrap(),
            "--data",
            &data,
            "--organisation",
            org,
        ])
    };
    let (ok, out) = verify(&path, &theirs);
    assert!(ok && out.starts_with("Intact"), "{out}");
    let (ok, out) = verify(&path, &ours);
    assert!(!ok && out.contains("another organisation"), "{out}");

    // Relabelled as ours: the head's organisation is covered by its signature.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines[0].contains(&theirs));
    lines[0] = lines[0].replace(&theirs, &ours);
    let relabelled = work.path().join("relabelled.jsonl");
    std::fs::write(&relabelled, lines.join("\n")).unwrap();
    let (ok, out) = verify(&relabelled, &ours);
    assert!(!ok && out.contains("signature is not valid"), "{out}");

    // Their head, kept, offered as a checkpoint of our log.
    let head = their_get("/api/audit/head").await;
    assert_eq!(head.status, StatusCode::OK);
    let head_file = work.path().join("their-head.json");
    std::fs::write(&head_file, &head.body).unwrap();
    let check = |org: Option<&str>| {
        let mut args = vec![
            "audit",
            "check-head",
            head_file.to_str().unwrap(),
            "--data",
            &data,
        ];
        if let Some(org) = org {
            args.extend(["--organisation", org]);
        }
        run_cli(&args)
    };
    let (ok, out) = check(Some(&ours));
    assert!(!ok && out.contains("another organisation"), "{out}");
    // The head names its own organisation: checked against that log, it holds.
    let (ok, out) = check(None);
    assert!(ok, "{out}");
    let (ok, out) = check(Some(&theirs));
    assert!(ok, "{out}");
    // Our own log checks against our own head.
    let ours_head = work.path().join("our-head.json");
    std::fs::write(
        &ours_head,
        get(&client, "/api/audit/head", &our_auditor).await.body,
    )
    .unwrap();
    let (ok, out) = run_cli(&[
        "audit",
        "check-head",
        ours_head.to_str().unwrap(),
        "--data",
        &data,
    ]);
    assert!(ok, "{out}");
}

/// A witness browser's alarm is written to the log with both sizes; a report that is
/// not two well-formed heads of the caller's log is refused, without echoing it.
#[tokio::test]
async fn a_witness_alarm_is_recorded_and_bad_reports_refused() {
    let server = server().await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let auditor = sign_in(&client, "auditor@demo.haven", None).await;
    let kept = get(&client, "/api/audit/head", &auditor).await.json();
    sign_in(&client, "patient@demo.haven", None).await;
    let newer = get(&client, "/api/audit/head", &auditor).await.json();
    assert!(newer["tree_size"].as_u64() > kept["tree_size"].as_u64());
    // A head the server never signed (as a rewritten history would show).
    let mut forged = newer.clone();
    forged["root_hash"] = json!("ab".repeat(32));

    let before = entry_count(&db).await;
    let mut bad: Vec<(&str, Vec<u8>)> = vec![
        ("not json", b"{kept:".to_vec()),
        (
            "wrong shape",
            json!({"kept": kept}).to_string().into_bytes(),
        ),
        (
            "unknown field",
            json!({"kept": kept, "newer": newer, "note": "<script>"})
                .to_string()
                .into_bytes(),
        ),
        ("too large", vec![b' '; 64 * 1024]),
    ];
    let mut malformed = newer.clone();
    malformed["root_hash"] = json!("<script>alert(1)</script>");
    bad.push((
        "malformed hash",
        json!({"kept": kept, "newer": malformed})
            .to_string()
            .into_bytes(),
    ));
    let mut elsewhere = kept.clone();
    elsewhere["organisation"] = json!("0123456789abcdef0123456789abcdef");
    bad.push((
        "another organisation's head",
        json!({"kept": elsewhere, "newer": newer})
            .to_string()
            .into_bytes(),
    ));
    let auth = format!("Bearer {auditor}");
    for (name, body) in bad {
        let reply = client
            .send(
                Method::POST,
                "/api/audit/witness-alarm",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await;
        assert!(reply.status.is_client_error(), "{name}: {}", reply.status);
        let text = String::from_utf8_lossy(&reply.body);
        assert!(!text.contains("script"), "{name}: echoed: {text}");
        assert!(reply.json()["error"]["code"].is_string(), "{name}");
    }
    assert_eq!(
        entry_count(&db).await,
        before,
        "a refused report was recorded"
    );

    let reply = post(
        &client,
        "/api/audit/witness-alarm",
        Some(&auditor),
        json!({"kept": kept, "newer": forged}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let alarms = all_entries(&client, &auditor, "&action=witness_alarm").await;
    assert_eq!(alarms.len(), 1);
    let detail = alarms[0]["detail"].as_str().unwrap();
    let (k, n) = (
        kept["tree_size"].as_u64().unwrap(),
        newer["tree_size"].as_u64().unwrap(),
    );
    assert_eq!(
        detail,
        format!(
            "kept head: {k} entries, signed by this server; newer head: {n} entries, not signed by this server's key"
        )
    );
    assert!(alarms[0]["actor"]["user"].is_string());
    // Admins witness too; other roles may not report.
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let report = json!({"kept": kept, "newer": newer});
    assert_eq!(
        post(
            &client,
            "/api/audit/witness-alarm",
            Some(&admin),
            report.clone()
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    assert_eq!(
        post(
            &client,
            "/api/audit/witness-alarm",
            Some(&clinician),
            report
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}
