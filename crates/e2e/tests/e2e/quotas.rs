//! An administrator sets the storage quotas in the portal (issue 22, item 10): the form
//! shows the organisation's quotas, refuses what is out of range in place, and what it
//! saves is what the server then enforces.

use haven_e2e::{Browser, ServerProcess, Session};

async fn kept(data: &std::path::Path) -> Option<(i64, i64)> {
    let db = haven_server::store::open(data).await.unwrap();
    sqlx::query_as("SELECT device_bytes_per_day, person_bytes_held FROM organisation_quotas")
        .fetch_optional(&db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_sets_the_storage_quotas_in_the_portal() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    session.sign_in("admin@demo.haven").await.unwrap();
    session
        .click("a[data-view='/admin/settings']")
        .await
        .unwrap();
    session
        .wait_for("#quotas[data-loaded='true']")
        .await
        .unwrap();
    // The defaults, in megabytes.
    let value = |id: &str| format!("return document.getElementById('{id}').value;");
    assert_eq!(
        session.eval(&value("quota-device-day")).await.unwrap(),
        "200"
    );
    assert_eq!(
        session.eval(&value("quota-org-held")).await.unwrap(),
        "200000"
    );

    // Out of range: said under the field, and nothing is sent.
    session.fill("#quota-device-day", "0").await.unwrap();
    session
        .click("#quotas button[type='submit']")
        .await
        .unwrap();
    session
        .wait_until("return document.getElementById('quota-device-day').getAttribute('aria-invalid') === 'true';")
        .await
        .unwrap();
    let said = session.text("#quotas").await.unwrap();
    assert!(said.contains("from 1 to 100000000"), "{said}");
    assert_eq!(kept(data.path()).await, None);

    session.fill("#quota-device-day", "5").await.unwrap();
    session.fill("#quota-person-held", "750").await.unwrap();
    session
        .click("#quotas button[type='submit']")
        .await
        .unwrap();
    session
        .wait_for("#toasts .toast[data-kind='success']")
        .await
        .unwrap();
    assert_eq!(kept(data.path()).await, Some((5_000_000, 750_000_000)));
    // Read again from the server when the view opens again.
    session.click("a[data-view='/admin/users']").await.unwrap();
    session
        .wait_for("tr[data-email='staff@demo.haven']")
        .await
        .unwrap();
    session
        .click("a[data-view='/admin/settings']")
        .await
        .unwrap();
    session
        .wait_for("#quotas[data-loaded='true']")
        .await
        .unwrap();
    assert_eq!(session.eval(&value("quota-device-day")).await.unwrap(), "5");
    session.close().await.unwrap();
}
