//! Issue 3 end to end in headless Chromium against the real server binary with its demo
//! organisation: each role signs in with password and TOTP and sees only its views;
//! automatic logoff warns, signs out and ends the server session; an administrator
//! deactivating a user signs that user out live.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use haven_e2e::{Browser, ServerProcess, Session};
use haven_protocol::access::{Role, navigation};
use haven_server::demo::USERS;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn nav_paths(session: &Session) -> Vec<String> {
    let value = session
        .eval("return [...document.querySelectorAll('#nav a')].map(a => a.getAttribute('data-view'));")
        .await
        .unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn live_sessions(server: &ServerProcess, email: &str) -> i64 {
    let db = haven_server::store::open(&server.data).await.unwrap();
    let (count,): (i64,) = sqlx_count(&db, email).await;
    count
}

async fn sqlx_count(db: &haven_server::store::Pool, email: &str) -> (i64,) {
    haven_server::store::count_open_sessions(db, email)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_role_signs_in_and_sees_only_its_views() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let session = Session::start(Browser::Chromium).await.unwrap();
    for (role, email) in [
        (Role::Patient, "patient@demo.haven"),
        (Role::Clinician, "clinician@demo.haven"),
        (Role::Staff, "staff@demo.haven"),
        (Role::Admin, "admin@demo.haven"),
        (Role::Auditor, "auditor@demo.haven"),
    ] {
        session.goto(&server.url("/")).await.unwrap();
        session.sign_in(email).await.unwrap();
        let expected: Vec<String> = navigation(role)
            .iter()
            .map(|v| v.path().to_owned())
            .collect();
        assert_eq!(nav_paths(&session).await, expected, "{role:?}");
        // Its first view opens.
        session
            .wait_for(&format!("#view[data-view='{}']", expected[0]))
            .await
            .unwrap();
        if role == Role::Patient {
            // Patients may add a second factor: set it up and confirm it with a code.
            session.click("#enrol-start").await.unwrap();
            session.wait_for("#totp-qr svg path").await.unwrap();
            let secret = session.text("#totp-secret").await.unwrap();
            let secret = totp_rs::Secret::try_from_base32(secret.trim()).unwrap();
            let code = haven_server::secrets::totp_code(secret.as_bytes(), now()).unwrap();
            session.fill("#enrol-code", &code).await.unwrap();
            session.click("#enrol-confirm").await.unwrap();
            session
                .wait_for(".signed-in[data-role='patient'][data-totp='true']")
                .await
                .unwrap();
            let offered = session
                .eval("return document.querySelector('#second-factor') !== null;")
                .await
                .unwrap();
            assert_eq!(
                offered,
                serde_json::Value::Bool(false),
                "still offered after enrolment"
            );
        } else {
            let offered = session
                .eval("return document.querySelector('#second-factor') !== null;")
                .await
                .unwrap();
            assert_eq!(offered, serde_json::Value::Bool(false), "{role:?}");
        }
        // A view of another role, typed in, is not permitted.
        let foreign = if role == Role::Admin {
            "/care-team"
        } else {
            "/admin/users"
        };
        session
            .eval(&format!("history.pushState(null, '', '{foreign}'); dispatchEvent(new PopStateEvent('popstate'));"))
            .await
            .unwrap();
        session.wait_for("#not-permitted").await.unwrap();
        session.click("#sign-out").await.unwrap();
        session
            .wait_for("#sign-in[data-step='password']")
            .await
            .unwrap();
        assert_eq!(
            session.text("#notice").await.unwrap(),
            "You have signed out."
        );
        assert_eq!(
            live_sessions(&server, email).await,
            0,
            "{email}: session still open after sign-out"
        );
    }
    // Nothing about the session was left in browser storage or the address.
    let stored = session
        .eval("return JSON.stringify([localStorage.length, sessionStorage.length, document.cookie, location.href]);")
        .await
        .unwrap();
    let stored = stored.as_str().unwrap();
    assert!(stored.starts_with("[0,0,\"\","), "{stored}");
    session.close().await.unwrap();
    let logs = server.logs();
    for user in &USERS {
        assert!(!logs.contains(user.password), "a password reached the log");
        assert!(
            !logs.contains(user.email),
            "an email address reached the log"
        );
    }
}

#[tokio::test]
async fn idle_users_are_warned_then_signed_out_and_their_token_dies() {
    let data = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start(data.path(), 0, &["--demo", "--idle-timeout-secs", "15"]).unwrap();
    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    session.sign_in("patient@demo.haven").await.unwrap();
    assert_eq!(live_sessions(&server, "patient@demo.haven").await, 1);
    session.wait_for("#idle-warning").await.unwrap();
    assert!(
        session
            .text("#idle-warning")
            .await
            .unwrap()
            .contains("signed out in")
    );
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    assert_eq!(
        session.text("#notice").await.unwrap(),
        "You were signed out after inactivity."
    );
    assert_eq!(
        live_sessions(&server, "patient@demo.haven").await,
        0,
        "the server session outlived the logoff"
    );
    session.close().await.unwrap();
}

#[tokio::test]
async fn deactivating_a_user_signs_them_out_live() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let staff = Session::start(Browser::Chromium).await.unwrap();
    staff.goto(&server.url("/")).await.unwrap();
    staff.sign_in("staff@demo.haven").await.unwrap();
    let admin = Session::start(Browser::Chromium).await.unwrap();
    admin.goto(&server.url("/admin/users")).await.unwrap();
    admin.sign_in("admin@demo.haven").await.unwrap();
    admin.click("a[data-view='/admin/users']").await.unwrap();
    admin
        .wait_for("tr[data-email='staff@demo.haven'] button.deactivate")
        .await
        .unwrap();
    admin
        .click("tr[data-email='staff@demo.haven'] button.deactivate")
        .await
        .unwrap();
    // Deactivation asks first, with focus on the safe choice; Escape cancels it and
    // gives focus back to the button that asked.
    admin.wait_for("#confirm-dialog[open]").await.unwrap();
    let focused = admin
        .eval("return document.activeElement?.id ?? null;")
        .await
        .unwrap();
    assert_eq!(focused, serde_json::json!("confirm-cancel"));
    admin
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Escape.to_string())
        .await
        .unwrap();
    admin
        .wait_until(
            "return !document.querySelector('#confirm-dialog[open]')
                && document.activeElement?.classList.contains('deactivate') === true;",
        )
        .await
        .unwrap();
    staff
        .wait_for(".signed-in[data-role='staff']")
        .await
        .unwrap();
    admin
        .click("tr[data-email='staff@demo.haven'] button.deactivate")
        .await
        .unwrap();
    admin.wait_for("#confirm-dialog[open]").await.unwrap();
    assert!(
        admin
            .text("#confirm-title")
            .await
            .unwrap()
            .contains("Deactivate Sam Staff")
    );
    admin.click("#confirm-accept").await.unwrap();
    admin
        .wait_for("#toasts .toast[data-kind='success']")
        .await
        .unwrap();
    // The staff member's page returns to sign-in by itself, saying why.
    staff
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    assert_eq!(
        staff.text("#notice").await.unwrap(),
        "Your account was deactivated by an administrator."
    );
    assert_eq!(live_sessions(&server, "staff@demo.haven").await, 0);
    staff.close().await.unwrap();
    admin.close().await.unwrap();
}

/// Someone else spends the patient's sign-in budget from another browser; the patient's
/// own browser, which signed in before, still gets in (its device credential, kept in
/// IndexedDB), while the other browser stays locked out.
#[tokio::test]
async fn a_guesser_cannot_lock_the_owner_out_of_a_browser_they_used_before() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let owner = Session::start(Browser::Chromium).await.unwrap();
    owner.goto(&server.url("/")).await.unwrap();
    owner.sign_in("patient@demo.haven").await.unwrap();
    owner.click("#sign-out").await.unwrap();
    owner
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();

    let guesser = Session::start(Browser::Chromium).await.unwrap();
    guesser.goto(&server.url("/")).await.unwrap();
    guesser
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    guesser.fill("#email", "patient@demo.haven").await.unwrap();
    let limit = haven_server::identity::ratelimit::PER_ACCOUNT + 1;
    for attempt in 0..limit {
        guesser
            .fill("#password", &format!("a wrong guess number {attempt}"))
            .await
            .unwrap();
        guesser.click("#sign-in-submit").await.unwrap();
        guesser
            .wait_until("return !!document.querySelector('#sign-in-error') && !document.querySelector('#sign-in-submit').disabled;")
            .await
            .unwrap();
    }
    // Even the right password is refused in the guesser's browser now.
    let patient = haven_server::demo::USERS
        .iter()
        .find(|u| u.email == "patient@demo.haven")
        .unwrap();
    guesser.fill("#password", patient.password).await.unwrap();
    guesser.click("#sign-in-submit").await.unwrap();
    guesser
        .wait_until("return (document.querySelector('#sign-in-error')?.textContent ?? '').includes('Too many');")
        .await
        .unwrap();

    // The owner's browser signs in.
    owner.sign_in("patient@demo.haven").await.unwrap();
    // Nothing but the opaque credential was kept, and not in localStorage or cookies.
    let stored = owner
        .eval("return [localStorage.length, document.cookie].join('|');")
        .await
        .unwrap();
    assert_eq!(stored, "0|");
}

/// A clinician opens a record with emergency access and then ends it early; the
/// administrator's and the patient's open pages show both at once, without a reload.
#[tokio::test]
async fn emergency_access_and_its_early_end_show_at_once_to_admins_and_the_patient() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let db = haven_server::store::open(data.path()).await.unwrap();
    let (patient_id,): (String,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'patient2@demo.haven'")
            .fetch_one(&db)
            .await
            .unwrap();

    let admin = Session::start(Browser::Chromium).await.unwrap();
    admin.goto(&server.url("/admin/break-glass")).await.unwrap();
    admin.sign_in("admin@demo.haven").await.unwrap();
    admin
        .click("a[data-view='/admin/break-glass']")
        .await
        .unwrap();
    admin
        .wait_for("#view[data-view='/admin/break-glass']")
        .await
        .unwrap();
    let patient = Session::start(Browser::Chromium).await.unwrap();
    patient.goto(&server.url("/my-activity")).await.unwrap();
    patient.sign_in("patient2@demo.haven").await.unwrap();
    patient.click("a[data-view='/my-activity']").await.unwrap();
    patient
        .wait_for("#view[data-view='/my-activity']")
        .await
        .unwrap();

    let clinician = Session::start(Browser::Chromium).await.unwrap();
    clinician.goto(&server.url("/")).await.unwrap();
    clinician.sign_in("clinician@demo.haven").await.unwrap();
    // The record of a patient outside the care team, opened within the app.
    clinician
        .eval(&format!("history.pushState(null, '', '/patients/{patient_id}'); dispatchEvent(new PopStateEvent('popstate'));"))
        .await
        .unwrap();
    clinician.wait_for("#break-glass").await.unwrap();
    clinician
        .fill(
            "#reason",
            "Unconscious in the emergency room, allergies needed",
        )
        .await
        .unwrap();
    clinician
        .click("#break-glass button[type='submit']")
        .await
        .unwrap();
    clinician.wait_for("#break-glass-banner").await.unwrap();

    // Shown at once, with no reload.
    admin
        .wait_for("li[data-grant][data-state='active']")
        .await
        .unwrap();
    patient.wait_for("#view .events li").await.unwrap();

    clinician.click("#end-break-glass").await.unwrap();
    clinician.wait_for("#break-glass").await.unwrap();
    admin
        .wait_for("li[data-grant][data-state='ended']")
        .await
        .unwrap();
}
