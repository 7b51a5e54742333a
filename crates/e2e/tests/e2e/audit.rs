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
