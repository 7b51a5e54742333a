//! Issue 4 in the browser: the auditor searches the log and verifies it in the page with
//! the same code as the command line; after a row is changed in the store, the page says
//! the log is not intact and names the first bad entry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use haven_e2e::{Browser, ServerProcess, Session};
use haven_server::demo::USERS;

#[tokio::test]
async fn the_auditor_verifies_the_log_in_the_browser_and_sees_tampering() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    let auditor = USERS
        .iter()
        .find(|u| u.email == "auditor@demo.haven")
        .unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    session.fill("#email", auditor.email).await.unwrap();
    session
        .fill("#password", "a wrong password here")
        .await
        .unwrap();
    session.click("#sign-in-submit").await.unwrap();
    session.wait_for("#sign-in-error").await.unwrap();
    session.sign_in(auditor.email).await.unwrap();
    session.wait_for("#view[data-view='/audit']").await.unwrap();

    // The failed and the successful sign-in are in the log.
    session
        .wait_for("#audit-entries tr[data-action='sign_in_failed']")
        .await
        .unwrap();
    session
        .wait_for("#audit-entries tr[data-action='sign_in']")
        .await
        .unwrap();
    // People appear by name, not by id.
    session
        .wait_until(
            "return [...document.querySelectorAll(\"#audit-entries tr[data-action='sign_in'] td[data-label='Who']\")]
                .some(td => td.textContent.includes('Aud Itor'));",
        )
        .await
        .unwrap();
    // Filter by a person picked by name.
    let auditor_id = session
        .eval("return [...document.querySelectorAll('#audit-actor option')].find(o => o.textContent === 'Aud Itor')?.value ?? null;")
        .await
        .unwrap();
    let auditor_id = auditor_id
        .as_str()
        .expect("the auditor is in the person picker");
    session.select("#audit-actor", auditor_id).await.unwrap();
    session
        .click("#audit-search button[type='submit']")
        .await
        .unwrap();
    session
        .wait_until(
            "const rows = [...document.querySelectorAll('#audit-entries tbody tr')];
             return rows.length > 0 && rows.every(r => r.querySelector(\"td[data-label='Who']\").textContent.includes('Aud Itor'));",
        )
        .await
        .unwrap();
    session.select("#audit-actor", "").await.unwrap();

    // Search by action.
    session
        .select("#audit-action", "sign_in_failed")
        .await
        .unwrap();
    session
        .click("#audit-search button[type='submit']")
        .await
        .unwrap();
    session
        .wait_for("#audit-entries tbody tr:only-child[data-action='sign_in_failed']")
        .await
        .unwrap();
    session.click("#audit-entries tbody tr").await.unwrap();
    session.wait_for("#audit-entry pre").await.unwrap();
    assert!(
        session
            .text("#audit-entry pre")
            .await
            .unwrap()
            .contains("\"outcome\": \"failure\"")
    );

    // Verify in the browser: intact.
    session.click("#audit-verify").await.unwrap();
    session
        .wait_for("#verify-result[data-intact='true']")
        .await
        .unwrap();
    assert!(
        session
            .text("#verify-result")
            .await
            .unwrap()
            .starts_with("Intact")
    );

    // Someone edits a row in the store: the page names it.
    let db = haven_server::store::open(&server.data).await.unwrap();
    sqlx_exec(&db, "UPDATE audit_entries SET payload = replace(payload, 'sign_in_failed', 'sign_in_fixed') WHERE idx = 0").await;
    session.click("#audit-verify").await.unwrap();
    session
        .wait_for("#verify-result[data-intact='false']")
        .await
        .unwrap();
    let verdict = session.text("#verify-result").await.unwrap();
    assert!(verdict.contains("first bad entry is #0"), "{verdict}");
    session.close().await.unwrap();
}

async fn sqlx_exec(db: &haven_server::store::Pool, sql: &'static str) {
    haven_server::store::execute(db, sql).await.unwrap();
}

/// Signs in through the page with the code of the next TOTP step (accepted within one
/// step of the server's clock, and not yet used).
async fn sign_in_with_next_code(session: &Session, user: &haven_server::demo::DemoUser) {
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    session.fill("#email", user.email).await.unwrap();
    session.fill("#password", user.password).await.unwrap();
    session.click("#sign-in-submit").await.unwrap();
    session
        .wait_for("#sign-in[data-step='code']")
        .await
        .unwrap();
    let next = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + haven_server::secrets::TOTP_STEP_SECS;
    let code = haven_server::secrets::totp_code(&user.totp_secret.unwrap(), next).unwrap();
    session.fill("#code", &code).await.unwrap();
    session.click("#code-submit").await.unwrap();
    session
        .wait_for(&format!(".signed-in[data-role='{}']", user.role.as_str()))
        .await
        .unwrap();
}

/// The heads this browser's witness keeps in IndexedDB (the JSON `check-head` reads).
async fn kept_heads(session: &Session) -> Vec<String> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const open = indexedDB.open('haven-witness');
        open.onerror = () => done([]);
        open.onsuccess = () => {
            const db = open.result;
            const all = db.transaction('heads').objectStore('heads').getAll();
            all.onsuccess = () => { db.close(); done(all.result); };
            all.onerror = () => { db.close(); done([]); };
        };
    "#;
    let value = session
        .client
        .execute_async(script, Vec::new())
        .await
        .unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// What someone holding the server's database and key can do: change an early entry,
/// recompute its leaf and every node above it, append more entries on the rewritten
/// tree, and sign a head over it with the server's own key. Every head the server shows
/// afterwards verifies. Returns the size of the head signed here.
async fn rewrite_history(data: &std::path::Path) -> u64 {
    use haven_audit_log::{Hash, NodeId, TreeHead, leaf_hash, node_hash};
    use haven_protocol::audit::{AuditAction, AuditEntry, AuditOutcome};

    let db = haven_server::store::open(data).await.unwrap();
    let (org,): (String,) = sqlx::query_as("SELECT id FROM organisations WHERE is_default = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    // The failed sign-in at #0 becomes a successful one.
    let (payload,): (String,) =
        sqlx::query_as("SELECT payload FROM audit_entries WHERE org_id = ? AND idx = 0")
            .bind(&org)
            .fetch_one(&db)
            .await
            .unwrap();
    let mut first: AuditEntry = serde_json::from_str(&payload).unwrap();
    assert_eq!(first.action, AuditAction::SignInFailed);
    first.action = AuditAction::SignIn;
    first.outcome = AuditOutcome::Success;
    let payload = String::from_utf8(first.canonical_bytes()).unwrap();
    sqlx::query(
        "UPDATE audit_entries SET payload = ?, action = 'sign_in' WHERE org_id = ? AND idx = 0",
    )
    .bind(&payload)
    .bind(&org)
    .execute(&db)
    .await
    .unwrap();
    // Every node recomputed from the rows.
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM audit_entries WHERE org_id = ? ORDER BY idx")
            .bind(&org)
            .fetch_all(&db)
            .await
            .unwrap();
    sqlx::query("DELETE FROM audit_nodes WHERE org_id = ?")
        .bind(&org)
        .execute(&db)
        .await
        .unwrap();
    let mut nodes: std::collections::HashMap<NodeId, Hash> = Default::default();
    for (index, (payload,)) in rows.iter().enumerate() {
        for id in haven_audit_log::perfect_nodes_after_append(index as u64) {
            let hash = if id.level == 0 {
                leaf_hash(payload.as_bytes())
            } else {
                let child = |offset| NodeId {
                    level: id.level - 1,
                    index: 2 * id.index + offset,
                };
                node_hash(&nodes[&child(0)], &nodes[&child(1)])
            };
            nodes.insert(id, hash);
            sqlx::query("INSERT INTO audit_nodes (org_id, level, idx, hash) VALUES (?, ?, ?, ?)")
                .bind(&org)
                .bind(i64::from(id.level))
                .bind(id.index as i64)
                .bind(hash.to_vec())
                .execute(&db)
                .await
                .unwrap();
        }
    }
    // More entries, appended the server's way on the rewritten tree.
    let org_id = haven_protocol::identity::Id::parse(&org).unwrap();
    let mut tx = haven_server::store::begin_write(&db).await.unwrap();
    let events = (0..5)
        .map(|n| {
            haven_server::audit::Event::new(&org_id, AuditAction::RecordOpened)
                .target(format!("patient:{n}"))
        })
        .collect();
    haven_server::audit::record_many(&mut tx, events)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A head over it all, signed with the server's own key from its data directory.
    let (size,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_entries WHERE org_id = ?")
        .bind(&org)
        .fetch_one(&db)
        .await
        .unwrap();
    let size = size as u64;
    let key = haven_server::audit::load_or_create_key(data).unwrap();
    let head = TreeHead {
        organisation: org.clone(),
        size,
        timestamp: 1_900_000_000,
        root: haven_server::audit::root(&db, &org, size).await.unwrap(),
    }
    .sign(&key);
    sqlx::query(
        "INSERT INTO audit_heads (org_id, tree_size, timestamp, root, signature) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&org)
    .bind(size as i64)
    .bind(head.timestamp)
    .bind(haven_audit_log::from_hex::<32>(&head.root_hash).unwrap().to_vec())
    .bind(haven_audit_log::from_hex::<64>(&head.signature).unwrap().to_vec())
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
    size
}

/// The witness: the auditor's browser keeps the head it verified; the server's history
/// is rewritten behind its back and re-signed with the server's own key; when the
/// auditor comes back, the browser proves the new log does not extend the kept head and
/// raises the alarm, naming both sizes, and the server's own log records it.
#[tokio::test]
async fn the_auditors_browser_catches_a_rewritten_history() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let port = server.port;
    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    let auditor = USERS
        .iter()
        .find(|u| u.email == "auditor@demo.haven")
        .unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    session.fill("#email", auditor.email).await.unwrap();
    session
        .fill("#password", "a wrong password here")
        .await
        .unwrap();
    session.click("#sign-in-submit").await.unwrap();
    session.wait_for("#sign-in-error").await.unwrap();
    session.sign_in(auditor.email).await.unwrap();
    session.wait_for("#view[data-view='/audit']").await.unwrap();
    // The first head is kept.
    session
        .wait_for("#witness[data-state='sound']")
        .await
        .unwrap();
    let kept_size: u64 = session
        .eval("return document.querySelector('#witness').dataset.size;")
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let kept = kept_heads(&session).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept_head: haven_audit_log::SignedTreeHead = serde_json::from_str(&kept[0]).unwrap();
    assert_eq!(kept_head.tree_size, kept_size);
    let kept_file = data.path().join("kept-head.json");
    std::fs::write(&kept_file, &kept[0]).unwrap();

    // Behind the browser's back.
    server.kill();
    let signed = rewrite_history(data.path()).await;
    assert!(signed > kept_size);
    let server = ServerProcess::start(data.path(), port, &[]).unwrap();
    assert_eq!(server.port, port, "the app's origin must stay the same");

    // The auditor comes back (with the next time step's code: this step's was used, and
    // each is accepted once): the alarm, naming both sizes.
    session.goto(&server.url("/")).await.unwrap();
    sign_in_with_next_code(&session, auditor).await;
    session.wait_for("#view[data-view='/audit']").await.unwrap();
    session.wait_for("#witness-alarm").await.unwrap();
    let newer: u64 = session
        .eval("return document.querySelector('#witness-alarm').dataset.newerSize;")
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(newer >= signed, "{newer} < {signed}");
    let alarm = session.text("#witness-alarm").await.unwrap();
    assert!(
        alarm.contains(&format!("Kept head: {kept_size} entries"))
            && alarm.contains(&format!("now shows {newer} entries")),
        "{alarm}"
    );
    assert!(
        session
            .eval("return document.querySelector('#witness') === null;")
            .await
            .unwrap()
            == true
    );
    // The server's own log holds the alarm (reported before it was shown).
    let db = haven_server::store::open(data.path()).await.unwrap();
    let alarms: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM audit_entries WHERE action = 'witness_alarm'")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(alarms.len(), 1);
    let entry: haven_protocol::audit::AuditEntry = serde_json::from_str(&alarms[0].0).unwrap();
    assert_eq!(
        entry.detail.as_deref(),
        Some(
            format!(
                "kept head: {kept_size} entries, signed by this server; newer head: {newer} entries, signed by this server"
            )
            .as_str()
        )
    );
    assert_eq!(entry.actor.unwrap().role.as_str(), "auditor");
    // The same kept head, handed to the command line, catches it too.
    let out = std::process::Command::new(haven_e2e::env_path("HAVEN_SERVER_BIN").unwrap())
        .args(["audit", "check-head"])
        .arg(&kept_file)
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("history was rewritten"), "{text}");
    session.close().await.unwrap();
}
