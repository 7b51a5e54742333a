//! Video visits (issue 23) end to end, in two headless Chromium browsers with a fake
//! camera and microphone on loopback: the clinician opens the visit, the patient waits,
//! is admitted (only then does their device get the visit's keys), and each side decodes
//! the other's video and hears their audio, with the DTLS fingerprints checked against
//! what the members' devices signed; muting stops the audio the other side receives;
//! "end the visit" ends it for both; every step is in the audit log.

use std::time::Duration;

use haven_e2e::delivery_bench::Client;
use haven_e2e::{Browser, ServerProcess, Session};
use serde_json::{Value, json};

/// A fake camera and microphone, no permission prompt, candidates on loopback, and the
/// other side's sound played without a click on the page (WebDriver's clicks count as
/// none).
const MEDIA: [&str; 4] = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
];

async fn user_id(db: &haven_server::store::Pool, email: &str) -> String {
    let (id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE email = ?")
        .bind(email)
        .fetch_one(db)
        .await
        .unwrap();
    id
}

/// A 30-minute visit of the demo patient with the demo clinician, starting now, scheduled
/// by staff (the clinician signs in only in the browser: one code, one use); its id.
async fn visit_now(server: &ServerProcess, db: &haven_server::store::Pool) -> String {
    let client = Client::of(server).unwrap();
    let token = client.sign_in("staff@demo.haven").await.unwrap();
    let (patient_id, clinician_id) = (
        user_id(db, "patient@demo.haven").await,
        user_id(db, "clinician@demo.haven").await,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let scheduled = client
        .call(
            "POST",
            "/api/visits",
            Some(&token),
            json!({"patient": patient_id, "clinician": clinician_id, "starts_at": now, "minutes": 30}),
        )
        .await
        .unwrap();
    scheduled["id"].as_str().unwrap().to_owned()
}

/// Signs in, waits until the browser's encryption device is ready (Messages says so),
/// then opens the visit view `view` and the visit `visit`, and passes the check.
async fn enter(session: &Session, server: &ServerProcess, email: &str, view: &str, visit: &str) {
    session.goto(&server.url("/")).await.unwrap();
    session.sign_in(email).await.unwrap();
    session
        .click("#nav a[data-view='/messages']")
        .await
        .unwrap();
    session
        .wait_for("#messages[data-e2ee='ready']")
        .await
        .unwrap();
    session
        .click(&format!("#nav a[data-view='{view}']"))
        .await
        .unwrap();
    let go = format!(".visit[data-visit='{visit}'] .visit-go");
    if let Err(e) = session.wait_for(&go).await {
        let page = session
            .eval("return document.querySelector('#view')?.outerHTML;")
            .await;
        let console = session.console_errors().await;
        panic!("{e}\n{page:?}\n{console:?}");
    }
    session.click(&go).await.unwrap();
    session
        .wait_for(".visit-continue:not([disabled])")
        .await
        .unwrap();
    session.click(".visit-continue").await.unwrap();
}

/// The numbers the call shows for its one other member: decoded video frames and the
/// audio energy received so far.
async fn received(session: &Session) -> (f64, f64) {
    let value = session
        .eval(
            "const p = document.querySelector('.visit-peer[data-verified=\"true\"]');
             return p ? [Number(p.dataset.frames || 0), Number(p.dataset.audio || 0)] : [0, 0];",
        )
        .await
        .unwrap();
    let n = |i: usize| value.get(i).and_then(Value::as_f64).unwrap_or(0.0);
    (n(0), n(1))
}

/// Waits until the other member's video and audio both come in and verified.
async fn media_flows(session: &Session) {
    let script = "const p = document.querySelector('.visit-peer[data-verified=\"true\"]');
                  return !!p && Number(p.dataset.frames || 0) > 10 && Number(p.dataset.audio || 0) > 0;";
    if let Err(e) = session.wait_until(script).await {
        let page = session
            .eval("return document.querySelector('.visit-room')?.outerHTML ?? document.body.outerHTML;")
            .await;
        let videos = session
            .eval("return [...document.querySelectorAll('video')].map(v => [v.paused, v.readyState, v.currentTime, v.muted, v.srcObject?.getTracks().map(t => t.kind + ':' + t.readyState + ':' + t.enabled)]);")
            .await;
        let console = session.console_errors().await;
        panic!("{e}\n{page:?}\n{videos:?}\n{console:?}");
    }
}

#[tokio::test]
async fn a_patient_is_admitted_and_both_see_and_hear_each_other_until_the_visit_ends() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let db = haven_server::store::open(data.path()).await.unwrap();
    let visit = visit_now(&server, &db).await;

    let clinician = Session::start_with(Browser::Chromium, &MEDIA)
        .await
        .unwrap();
    let patient = Session::start_with(Browser::Chromium, &MEDIA)
        .await
        .unwrap();
    enter(
        &clinician,
        &server,
        "clinician@demo.haven",
        "/waiting-room",
        &visit,
    )
    .await;
    clinician.wait_for("[data-waiting='0']").await.unwrap();
    enter(&patient, &server, "patient@demo.haven", "/visits", &visit).await;
    patient
        .wait_for("[data-visit-state='waiting']")
        .await
        .unwrap();

    // Waiting: the patient holds no keys of the visit, so no call and no media.
    let before = patient
        .eval("return document.querySelectorAll('.visit-peer').length;")
        .await
        .unwrap();
    assert_eq!(before, json!(0));

    // The clinician sees them waiting, live, and admits them.
    clinician.wait_for(".visit-admit").await.unwrap();
    clinician.click(".visit-admit").await.unwrap();
    media_flows(&clinician).await;
    media_flows(&patient).await;
    // Everyone sees the same verification code.
    assert_eq!(
        clinician.text(".visit-code").await.unwrap(),
        patient.text(".visit-code").await.unwrap()
    );

    // The patient mutes: the audio energy the clinician receives stops rising. Compared
    // over the same span (whatever this machine's speed): a hundredth of what came
    // unmuted at most (a muted track sends silence).
    let span = Duration::from_secs(3);
    let (_, before) = received(&clinician).await;
    tokio::time::sleep(span).await;
    let (_, unmuted) = received(&clinician).await;
    patient.click(".visit-mute").await.unwrap();
    patient
        .wait_for(".visit-mute[aria-pressed='true']")
        .await
        .unwrap();
    // What was under way when the button was pressed comes through first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, muted_from) = received(&clinician).await;
    tokio::time::sleep(span).await;
    let (_, muted_to) = received(&clinician).await;
    assert!(
        unmuted > before,
        "no audio before muting: {before} -> {unmuted}"
    );
    assert!(
        muted_to - muted_from <= (unmuted - before) / 100.0,
        "audio kept coming while muted: {muted_from} -> {muted_to} (unmuted: {before} -> {unmuted})"
    );
    // Unmuted, it rises again.
    patient.click(".visit-mute").await.unwrap();
    let script = format!(
        "const p = document.querySelector('.visit-peer[data-verified=\"true\"]');
         return !!p && Number(p.dataset.audio || 0) > {muted_to};"
    );
    clinician.wait_until(&script).await.unwrap();

    // The clinician ends the visit for everyone.
    clinician.click(".visit-finish").await.unwrap();
    patient
        .wait_for("[data-visit-state='ended']")
        .await
        .unwrap();
    clinician
        .wait_for("[data-visit-state='ended']")
        .await
        .unwrap();

    for action in [
        "visit_scheduled",
        "visit_created",
        "visit_waiting",
        "visit_admitted",
        "visit_ended",
    ] {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT payload FROM audit_entries WHERE action = ?")
                .bind(action)
                .fetch_all(&db)
                .await
                .unwrap();
        let about_it = rows.iter().any(|(payload,)| {
            serde_json::from_str::<Value>(payload).unwrap()["target"] == format!("visit:{visit}")
        });
        assert!(about_it, "no {action} for the visit");
    }
    clinician.close().await.unwrap();
    patient.close().await.unwrap();
}

/// Debian's WebKit has no WebRTC: there, the check before a visit says the visit cannot
/// run in this browser and why, does not let the patient go on, and messaging still
/// works in the same browser.
#[tokio::test]
async fn in_a_browser_without_webrtc_the_check_says_so_and_messaging_still_works() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let db = haven_server::store::open(data.path()).await.unwrap();
    let visit = visit_now(&server, &db).await;

    let patient = Session::start(Browser::WebKit).await.unwrap();
    patient.goto(&server.url("/")).await.unwrap();
    patient.sign_in("patient@demo.haven").await.unwrap();
    patient
        .click("#nav a[data-view='/messages']")
        .await
        .unwrap();
    patient
        .wait_for("#messages[data-e2ee='ready']")
        .await
        .unwrap();
    patient.click("#nav a[data-view='/visits']").await.unwrap();
    let go = format!(".visit[data-visit='{visit}'] .visit-go");
    patient.wait_for(&go).await.unwrap();
    patient.click(&go).await.unwrap();
    patient.wait_for(".checks .check.failed").await.unwrap();
    let said = patient.text(".checks .check.failed").await.unwrap();
    assert!(said.contains("cannot make video calls"), "{said}");
    let blocked = patient
        .eval("return document.querySelector('.visit-continue').disabled;")
        .await
        .unwrap();
    assert_eq!(blocked, json!(true));

    // Messaging is untouched.
    patient
        .click("#nav a[data-view='/messages']")
        .await
        .unwrap();
    patient
        .wait_for("#messages[data-e2ee='ready']")
        .await
        .unwrap();
    patient.close().await.unwrap();
}
