//! Tenancy by host in a real browser: two organisations on two host names, one server
//! and one build, each page in its own brand; a host no organisation is served on gets
//! the "no such clinic" page. (That a session of one organisation is refused on the
//! other's hosts, both ways, is shown by the server test
//! `each_organisation_is_served_on_its_own_hosts_and_no_clinic_on_any_other`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use haven_e2e::{Browser, ServerProcess, Session};

#[tokio::test]
async fn two_clinics_on_two_host_names_show_their_own_brands_and_other_hosts_no_clinic() {
    let data = tempfile::tempdir().unwrap();
    let port = haven_e2e::free_port().unwrap();
    let a = format!("https://clinic-a.test:{port}");
    let b = format!("https://clinic-b.test:{port}");
    let server = ServerProcess::start(
        data.path(),
        port,
        &["--public-origin", &a, "--brand-name", "Clinic A"],
    )
    .unwrap();
    let db = haven_server::store::open(data.path()).await.unwrap();
    let clinic_b =
        haven_server::tenancy::create(&db, "Clinic B", &format!("clinic-b.test:{port}"), 900)
            .await
            .unwrap();
    let colours = haven_protocol::BrandColours {
        primary: haven_protocol::Colour::parse("#5b2a86").unwrap(),
        ..Default::default()
    };
    sqlx::query("INSERT INTO organisation_brands (org_id, colours, support, language, logo_hash, updated_at) VALUES (?, ?, '', 'es', NULL, 0)")
        .bind(clinic_b.as_str())
        .bind(serde_json::to_string(&colours).unwrap())
        .execute(&db)
        .await
        .unwrap();

    // Every name resolves to this machine, as DNS would send each to the one server.
    let rules = "--host-resolver-rules=MAP clinic-a.test 127.0.0.1, MAP clinic-b.test 127.0.0.1, MAP nowhere.test 127.0.0.1";
    let session = Session::start_with(Browser::Chromium, &[rules])
        .await
        .unwrap();
    let primary = "return getComputedStyle(document.documentElement).getPropertyValue('--haven-color-primary').trim();";
    let shown = "return [document.title, document.querySelector('.topbar .brand-name > span:last-child')?.textContent.trim(), document.documentElement.lang];";
    session.goto(&format!("{a}/")).await.unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    session
        .wait_for("#link-status[data-link='open']")
        .await
        .unwrap();
    assert_eq!(
        session.eval(shown).await.unwrap(),
        serde_json::json!(["Clinic A", "Clinic A", "en"])
    );
    let default_primary = session.eval(primary).await.unwrap();

    session.goto(&format!("{b}/")).await.unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    // Its own origin for the live link too: it connects.
    session
        .wait_for("#link-status[data-link='open']")
        .await
        .unwrap();
    assert_eq!(
        session.eval(shown).await.unwrap(),
        serde_json::json!(["Clinic B", "Clinic B", "es"])
    );
    assert_eq!(session.eval(primary).await.unwrap(), "#5b2a86");
    assert_ne!(default_primary, "#5b2a86");

    // A host name no clinic is served on.
    session
        .goto(&format!("https://nowhere.test:{port}/"))
        .await
        .unwrap();
    let text = session
        .eval("return document.body.textContent;")
        .await
        .unwrap();
    assert!(text.as_str().unwrap().contains("No such clinic"), "{text}");
    assert!(!text.as_str().unwrap().contains("Clinic A"), "{text}");
    session.close().await.unwrap();
    drop(server);
}
