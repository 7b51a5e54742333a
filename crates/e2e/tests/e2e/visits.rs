//! Video visits (issue 23), as a patient sees them: a visit their clinician scheduled is
//! listed in Visits with whom, when and how long; another patient's is not.

use haven_e2e::delivery_bench::Client;
use haven_e2e::{Browser, ServerProcess, Session};
use serde_json::json;

#[tokio::test]
async fn a_patient_sees_the_visit_their_clinician_scheduled() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let client = Client::of(&server).unwrap();
    let clinician = client.sign_in("clinician@demo.haven").await.unwrap();
    let db = haven_server::store::open(data.path()).await.unwrap();
    let id = |email: &'static str| {
        let db = db.clone();
        async move {
            let (id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE email = ?")
                .bind(email)
                .fetch_one(&db)
                .await
                .unwrap();
            id
        }
    };
    let (patient, doctor) = (
        id("patient@demo.haven").await,
        id("clinician@demo.haven").await,
    );
    let starts_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3 * 24 * 3600;
    let scheduled = client
        .call(
            "POST",
            "/api/visits",
            Some(&clinician),
            json!({"patient": patient, "clinician": doctor, "starts_at": starts_at, "minutes": 20}),
        )
        .await
        .unwrap();
    let visit = scheduled["id"].as_str().unwrap().to_owned();

    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    session.sign_in("patient@demo.haven").await.unwrap();
    session.click("a[data-view='/visits']").await.unwrap();
    let row = format!(".visit[data-visit='{visit}']");
    session.wait_for(&row).await.unwrap();
    let shown = session.text(&row).await.unwrap();
    assert!(shown.contains("Dr. Cleo Ruiz"), "{shown}");
    assert!(shown.contains("20 minutes"), "{shown}");
    session.close().await.unwrap();

    // The other patient has none.
    let other = Session::start(Browser::Chromium).await.unwrap();
    other.goto(&server.url("/")).await.unwrap();
    other.sign_in("patient2@demo.haven").await.unwrap();
    other.click("a[data-view='/visits']").await.unwrap();
    other.wait_for(".empty-state").await.unwrap();
    let listed = other
        .eval("return document.querySelectorAll('.visit').length;")
        .await
        .unwrap();
    assert_eq!(listed, json!(0));
    other.close().await.unwrap();
}
