//! Issue 12 end to end: a patient and a clinician, each in their own browser, exchange
//! end-to-end encrypted messages through the real server; the patient signs out, misses
//! messages and catches up; a reload keeps the history (sealed in the browser's vault);
//! the server is killed and restarted mid-conversation and nothing is lost or
//! duplicated; a file goes from one browser to the other encrypted; the clinician's
//! second browser joins as a device of its own and receives the history; and afterwards
//! nothing the server wrote holds any of the plaintext (text, file contents, file name).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::path::Path;

use haven_e2e::{Browser, ServerProcess, Session};

/// Opens the messages view of a signed-in person and waits until this browser's
/// encryption device is ready.
async fn open_messages(session: &Session) {
    session
        .click("#nav a[data-view='/messages']")
        .await
        .unwrap();
    if let Err(e) = session.wait_for("#messages[data-e2ee='ready']").await {
        let page = session
            .eval(
                "return document.querySelector('#messages')?.outerHTML ?? document.body.outerHTML;",
            )
            .await;
        panic!("{e}\n{page:?}");
    }
}

async fn sign_in_to_messages(session: &Session, server: &ServerProcess, email: &str) {
    session.goto(&server.url("/")).await.unwrap();
    session.sign_in(email).await.unwrap();
    open_messages(session).await;
}

/// Waits until the open conversation shows a message with exactly `text`.
async fn wait_for_text(session: &Session, text: &str) {
    let script = format!(
        "return [...document.querySelectorAll('.transcript .line-text')].some(p => p.textContent === {});",
        serde_json::to_string(text).unwrap()
    );
    session.wait_until(&script).await.unwrap();
}

async fn send(session: &Session, text: &str) {
    session.fill("#message-text", text).await.unwrap();
    session.click(".send-message").await.unwrap();
    wait_for_text(session, text).await;
}

/// The texts of the open conversation, in order.
pub async fn texts(session: &Session) -> Vec<String> {
    let value = session
        .eval("return [...document.querySelectorAll('.transcript .line-text')].map(p => p.textContent);")
        .await
        .unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The clinician starts a conversation with the demo patient and holds it.
async fn start_with_patient(clinician: &Session) {
    clinician
        .wait_until("return document.querySelectorAll('#start-patient option').length > 1;")
        .await
        .unwrap();
    let value = clinician
        .eval("return [...document.querySelectorAll('#start-patient option')].find(o => o.textContent === 'Pat Okafor').value;")
        .await
        .unwrap();
    clinician
        .select("#start-patient", value.as_str().unwrap())
        .await
        .unwrap();
    clinician
        .click(".start-patient-conversation")
        .await
        .unwrap();
    clinician
        .wait_for(".conversation[data-joined='true']")
        .await
        .unwrap();
}

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn a_patient_and_a_clinician_exchange_end_to_end_encrypted_messages() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let patient = Session::start(Browser::Chromium).await.unwrap();
    let clinician = Session::start(Browser::Chromium).await.unwrap();

    // The patient's browser registers its device (and publishes KeyPackages) first, so
    // the clinician can add it.
    sign_in_to_messages(&patient, &server, "patient@demo.haven").await;
    sign_in_to_messages(&clinician, &server, "clinician@demo.haven").await;

    // The clinician starts a conversation with their patient (the two of them only).
    start_with_patient(&clinician).await;
    clinician
        .wait_for(".conversation[data-care-team='false']")
        .await
        .unwrap();
    let first = "Good morning Pat, how is the new inhaler working? (marker-kestrel-41)";
    send(&clinician, first).await;
    // Durable on the server (and, if the patient's open view got to it first, read).
    clinician
        .wait_for(
            ".line[data-mine='true'] .line-state:is([data-state='sent'], [data-state='delivered'], [data-state='read'])",
        )
        .await
        .unwrap();

    // The patient's browser joins from the Welcome, decrypts and shows it.
    if let Err(e) = patient.wait_for(".conversation[data-joined='true']").await {
        let page = patient
            .eval("return document.querySelector('#messages').outerHTML;")
            .await;
        panic!("{e}\n{page:?}\n{}", server.logs());
    }
    wait_for_text(&patient, first).await;
    // Both see the other's verified name and role, and the same verification code.
    patient
        .wait_until("return [...document.querySelectorAll('.member')].some(m => m.dataset.role === 'clinician' && m.textContent.includes('Dr. Cleo Ruiz'));")
        .await
        .unwrap();
    let code = patient.text("#verification-code").await.unwrap();
    assert!(!code.trim().is_empty());
    assert_eq!(code, clinician.text("#verification-code").await.unwrap());

    let reply = "Much better, thank you! Only twice this week. (marker-heron-77)";
    send(&patient, reply).await;
    wait_for_text(&clinician, reply).await;
    // The patient had the conversation open: the clinician's message shows as read.
    clinician
        .wait_for(".line[data-mine='true'] .line-state[data-state='read']")
        .await
        .unwrap();

    // The patient signs out; the clinician writes twice meanwhile.
    patient.click("#sign-out").await.unwrap();
    patient.wait_for("#sign-in").await.unwrap();
    let missed = [
        "Please keep a diary of when you use it. (marker-osprey-12)",
        "And book a review in two weeks. (marker-wren-90)",
    ];
    for text in missed {
        send(&clinician, text).await;
    }
    // Stored, but no device of the patient's has them: sent, not delivered.
    let last_state = "return [...document.querySelectorAll('.line[data-mine=\"true\"] .line-state')].slice(-2).map(s => s.dataset.state).join(' ');";
    clinician
        .wait_until(&format!(
            "return (() => {{ {last_state} }})() === 'sent sent';"
        ))
        .await
        .unwrap();
    // Back again: everything, in order, exactly once.
    patient.sign_in("patient@demo.haven").await.unwrap();
    open_messages(&patient).await;
    wait_for_text(&patient, missed[1]).await;
    // The patient's device acknowledged them: the clinician sees them delivered (or
    // already read, the conversation being open on the patient's side).
    clinician
        .wait_until(&format!(
            "return ['delivered delivered', 'read read'].includes((() => {{ {last_state} }})());"
        ))
        .await
        .unwrap();
    let expected: Vec<String> = [first, reply, missed[0], missed[1]]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(texts(&patient).await, expected);

    // A reload drops everything in memory; after signing in, the history comes back
    // from this browser's sealed store.
    patient.goto(&server.url("/")).await.unwrap();
    sign_in_to_messages(&patient, &server, "patient@demo.haven").await;
    wait_for_text(&patient, missed[1]).await;
    assert_eq!(texts(&patient).await, expected);

    assert!(patient.console_errors().await.unwrap().is_empty());
    assert!(clinician.console_errors().await.unwrap().is_empty());

    // The server is killed (SIGKILL) mid-conversation, with messages on their way, and
    // started again: each browser sends again whatever the server had not answered, and
    // every message appears once, in order, on both sides.
    let crash = [
        "Your peak-flow readings look steady. (marker-plover-5)",
        "Keep the spacer clean. (marker-finch-8)",
        "See you at the review. (marker-crane-3)",
    ];
    for text in crash {
        clinician.fill("#message-text", text).await.unwrap();
        clinician.click(".send-message").await.unwrap();
    }
    let port = server.port;
    server.kill();
    let server = ServerProcess::start(data.path(), port, &[]).unwrap();
    wait_for_text(&patient, crash[2]).await;
    clinician
        .wait_until(r#"return document.querySelectorAll('.line-state:is([data-state="sending"], [data-state="failed"])').length === 0 && document.querySelectorAll('.transcript .line').length === 7;"#)
        .await
        .unwrap();
    let expected: Vec<String> = expected
        .into_iter()
        .chain(crash.iter().map(|s| (*s).to_owned()))
        .collect();
    assert_eq!(texts(&patient).await, expected);
    assert_eq!(texts(&clinician).await, expected);
    for session in [&patient, &clinician] {
        assert!(
            session
                .eval(
                    "return document.querySelector('.conversation .notice:not([role])') === null;"
                )
                .await
                .unwrap()
                .as_bool()
                .unwrap(),
            "a message could not be read after the restart"
        );
    }
    // While it was down, the browsers' reconnect attempts failed: nothing else.
    for session in [&patient, &clinician] {
        for error in session.console_errors().await.unwrap() {
            assert!(
                error.contains("WebSocket") || error.contains("ERR_CONNECTION_REFUSED"),
                "{error}"
            );
        }
    }

    // The patient sends a file; the clinician downloads it, decrypted in their browser,
    // byte for byte.
    let picked = tempfile::tempdir().unwrap();
    let name = "peak-flow-diary-marker-ibis.txt";
    let mut contents = b"Peak flow diary (marker-ibis-contents)\n".to_vec();
    for day in 0..20_000u32 {
        contents.extend(format!("day {day}: {} L/min\n", 380 + day % 60).as_bytes());
    }
    let path = picked.path().join(name);
    std::fs::write(&path, &contents).unwrap();
    patient
        .choose_file("#attachment-file", &path)
        .await
        .unwrap();
    patient
        .wait_for(".line[data-mine='true']:has(.line-attachment) .line-state:is([data-state='sent'], [data-state='delivered'], [data-state='read'])")
        .await
        .unwrap();
    let downloads = tempfile::tempdir().unwrap();
    clinician
        .cdp(
            "Browser.setDownloadBehavior",
            serde_json::json!({"behavior": "allow", "downloadPath": downloads.path()}),
        )
        .await
        .unwrap();
    // Clicked once the clinician's read mark came back and the conversation was redrawn
    // for it (the unread count goes), not in the build about to be replaced.
    clinician
        .wait_until(&format!(
            "return [...document.querySelectorAll('.line-attachment .attachment-name')].some(e => e.textContent === {}) && document.querySelector('.conversations .badge.unread') === null;",
            serde_json::to_string(name).unwrap()
        ))
        .await
        .unwrap();
    clinician
        .click(".line-attachment .attachment-download")
        .await
        .unwrap();
    let saved = downloads.path().join(name);
    let deadline = std::time::Instant::now() + haven_e2e::WAIT;
    loop {
        if std::fs::read(&saved).is_ok_and(|b| b == contents) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the download never completed: {:?}",
            std::fs::read_dir(downloads.path())
                .unwrap()
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let stored = data.path().join("attachments");
    assert_eq!(
        std::fs::read_dir(&stored).unwrap().count(),
        1,
        "the server holds the one encrypted file"
    );
    assert!(clinician.console_errors().await.unwrap().is_empty());
    assert!(patient.console_errors().await.unwrap().is_empty());

    // The clinician signs in on a second browser: it becomes a member device of its
    // own, added by the first, which hands it the earlier history.
    let second = Session::start(Browser::Chromium).await.unwrap();
    sign_in_to_messages(&second, &server, "clinician@demo.haven").await;
    second
        .wait_for(".conversation[data-joined='true']")
        .await
        .unwrap();
    wait_for_text(&second, crash[2]).await;
    assert_eq!(texts(&second).await, expected);
    second
        .wait_until(&format!(
            "return [...document.querySelectorAll('.line-attachment .attachment-name')].some(e => e.textContent === {});",
            serde_json::to_string(name).unwrap()
        ))
        .await
        .unwrap();
    assert!(
        second
            .eval("return document.querySelector('#history-pending') === null;")
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    );
    // Everyone now sees three member devices, and the same verification code.
    for session in [&patient, &clinician, &second] {
        session
            .wait_until("return document.querySelectorAll('.member').length === 3;")
            .await
            .unwrap();
    }
    let code = second.text("#verification-code").await.unwrap();
    assert_eq!(code, patient.text("#verification-code").await.unwrap());
    let from_second = "Writing from my other computer. (marker-stork-64)";
    send(&second, from_second).await;
    wait_for_text(&patient, from_second).await;
    wait_for_text(&clinician, from_second).await;
    assert!(second.console_errors().await.unwrap().is_empty());
    second.close().await.unwrap();

    // What the server wrote (its database, logs, attachments) holds none of it.
    let mut written = Vec::new();
    files(data.path(), &mut written);
    assert!(
        written
            .iter()
            .any(|p| p.ends_with(haven_server::store::DB_FILE)),
        "the scan must cover the database: {written:?}"
    );
    for path in &written {
        let bytes = std::fs::read(path).unwrap();
        for marker in [
            "kestrel",
            "heron",
            "osprey",
            "wren",
            "inhaler",
            "plover",
            "finch",
            "crane",
            "marker-ibis",
            "stork",
            "Peak flow diary",
            "L/min",
        ] {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{marker} found in {}",
                path.display()
            );
        }
    }
    patient.close().await.unwrap();
    clinician.close().await.unwrap();
}

/// How the server stands with the demo clinician's encryption devices in its
/// conversations: (device revoked, the sequence number of the commit that removed it).
async fn clinician_devices(data: &Path) -> Vec<(bool, Option<i64>)> {
    let db = haven_server::store::open(data).await.unwrap();
    sqlx::query_as(
        "SELECT d.revoked_at IS NOT NULL, cd.left_seq FROM conversation_devices cd
         JOIN mls_devices d ON d.id = cd.device_id JOIN users u ON u.id = cd.user_id
         WHERE u.email = 'clinician@demo.haven'",
    )
    .fetch_all(&db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_deactivated_clinicians_device_receives_nothing_more() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let patient = Session::start(Browser::Chromium).await.unwrap();
    let clinician = Session::start(Browser::Chromium).await.unwrap();
    let admin = Session::start(Browser::Chromium).await.unwrap();
    sign_in_to_messages(&patient, &server, "patient@demo.haven").await;
    sign_in_to_messages(&clinician, &server, "clinician@demo.haven").await;
    start_with_patient(&clinician).await;
    send(&clinician, "Your results are in; all normal.").await;
    wait_for_text(&patient, "Your results are in; all normal.").await;

    // The clinician corrects that message and deletes a mistaken one: the patient sees
    // the correction marked as edited, and the other as deleted, its text gone.
    clinician
        .click(".line[data-mine='true'] .edit-message")
        .await
        .unwrap();
    clinician.wait_for("#edit-text").await.unwrap();
    let corrected = "Your results are in; all normal. Call me with any questions.";
    clinician.fill("#edit-text", corrected).await.unwrap();
    clinician.click(".save-edit").await.unwrap();
    wait_for_text(&patient, corrected).await;
    patient.wait_for(".line .edited").await.unwrap();
    let mistaken = "Please ignore: meant for another patient.";
    send(&clinician, mistaken).await;
    wait_for_text(&patient, mistaken).await;
    clinician
        .click(".transcript .line:last-child .delete-message")
        .await
        .unwrap();
    clinician.wait_for("#confirm-dialog[open]").await.unwrap();
    clinician.click("#confirm-accept").await.unwrap();
    patient
        .wait_until(&format!(
            "return document.querySelector('.line-text.deleted') !== null && ![...document.querySelectorAll('.line-text')].some(p => p.textContent === {});",
            serde_json::to_string(mistaken).unwrap()
        ))
        .await
        .unwrap();

    // The admin deactivates the clinician; their page signs out by itself.
    admin.goto(&server.url("/")).await.unwrap();
    admin.sign_in("admin@demo.haven").await.unwrap();
    admin.click("a[data-view='/admin/users']").await.unwrap();
    admin
        .wait_for("tr[data-email='clinician@demo.haven'] button.deactivate")
        .await
        .unwrap();
    admin
        .click("tr[data-email='clinician@demo.haven'] button.deactivate")
        .await
        .unwrap();
    admin.wait_for("#confirm-dialog[open]").await.unwrap();
    admin.click("#confirm-accept").await.unwrap();
    clinician
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();

    // The patient's device learns of the revocation at once and commits the removal:
    // the clinician is no longer among the members.
    patient
        .wait_until("return document.querySelectorAll('.member').length === 1 && document.querySelector('.member[data-role=\"clinician\"]') === null;")
        .await
        .unwrap();
    let removed = clinician_devices(data.path()).await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    let (revoked, left) = removed[0];
    assert!(revoked);
    let left = left.expect("the removal commit was accepted");

    // What the patient writes now is stored after the removal, so it is never queued for
    // the clinician's device, and no device of theirs acknowledges anything more.
    let after = "Thank you, goodbye. (marker-removed-after)";
    send(&patient, after).await;
    patient
        .wait_for(".line[data-mine='true'] .line-state[data-state='sent']")
        .await
        .unwrap();
    let newest: i64 = patient
        .eval("return Math.max(...[...document.querySelectorAll('.line[data-seq]')].map(l => Number(l.dataset.seq)));")
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(newest > left, "{newest} <= {left}");
    assert_eq!(clinician_devices(data.path()).await, removed);

    // And they cannot come back to read it: signing in is refused.
    clinician
        .fill("#email", "clinician@demo.haven")
        .await
        .unwrap();
    let password = haven_server::demo::USERS
        .iter()
        .find(|u| u.email == "clinician@demo.haven")
        .unwrap()
        .password;
    clinician.fill("#password", password).await.unwrap();
    clinician.click("#sign-in-submit").await.unwrap();
    clinician.wait_for("#sign-in-error").await.unwrap();
    assert!(patient.console_errors().await.unwrap().is_empty());
    for session in [patient, clinician, admin] {
        session.close().await.unwrap();
    }
}

/// Many patients use Safari: the basic exchange, and a reload that keeps the history, in
/// WebKit (the patient) and Firefox (the clinician).
#[tokio::test]
async fn the_basic_exchange_and_a_reload_work_in_firefox_and_webkit() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let patient = Session::start(Browser::WebKit).await.unwrap();
    let clinician = Session::start(Browser::Firefox).await.unwrap();
    sign_in_to_messages(&patient, &server, "patient@demo.haven").await;
    sign_in_to_messages(&clinician, &server, "clinician@demo.haven").await;
    start_with_patient(&clinician).await;
    let question = "Did the new dose help with the headaches?";
    send(&clinician, question).await;
    patient
        .wait_for(".conversation[data-joined='true']")
        .await
        .unwrap();
    wait_for_text(&patient, question).await;
    let answer = "Yes, far fewer since Tuesday.";
    send(&patient, answer).await;
    wait_for_text(&clinician, answer).await;
    assert_eq!(
        patient.text("#verification-code").await.unwrap(),
        clinician.text("#verification-code").await.unwrap()
    );

    // Each reloads and signs in again: the history comes back from its own sealed store.
    let expected = vec![question.to_owned(), answer.to_owned()];
    for (session, email) in [
        (&patient, "patient@demo.haven"),
        (&clinician, "clinician@demo.haven"),
    ] {
        session.reload().await.unwrap();
        session.sign_in(email).await.unwrap();
        open_messages(session).await;
        wait_for_text(session, answer).await;
        assert_eq!(texts(session).await, expected);
        let errors = session
            .eval("return document.documentElement.getAttribute('data-errors');")
            .await
            .unwrap();
        assert_eq!(errors, serde_json::json!("0"), "{email}");
    }
    patient.close().await.unwrap();
    clinician.close().await.unwrap();
}

/// Two tabs of one browser must not both run its encryption device (they would encrypt
/// with the same keys): the second says so, and takes over once the first is closed.
#[tokio::test]
async fn a_second_tab_waits_until_the_first_is_closed() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let browser = Session::start(Browser::Chromium).await.unwrap();
    sign_in_to_messages(&browser, &server, "patient@demo.haven").await;
    let first = browser.client.window().await.unwrap();
    let second = browser.client.new_window(true).await.unwrap().handle;
    browser
        .client
        .switch_to_window(second.clone())
        .await
        .unwrap();
    browser.goto(&server.url("/")).await.unwrap();
    browser.sign_in("patient@demo.haven").await.unwrap();
    browser
        .click("#nav a[data-view='/messages']")
        .await
        .unwrap();
    browser
        .wait_until("return document.querySelector('#e2ee-failed')?.textContent.includes('open in another tab') === true;")
        .await
        .unwrap();
    browser.client.switch_to_window(first).await.unwrap();
    browser.client.close_window().await.unwrap();
    browser.client.switch_to_window(second).await.unwrap();
    browser
        .wait_for("#messages[data-e2ee='ready']")
        .await
        .unwrap();
    browser.close().await.unwrap();
}

/// A care-team conversation grows with the care team: a clinician brought into the
/// patient's care team from the record page is added by a member's device and receives
/// the earlier history; the patient sees them with their verified name and role.
#[tokio::test]
async fn a_clinician_brought_into_the_care_team_joins_its_conversation_with_the_history() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let patient = Session::start(Browser::Chromium).await.unwrap();
    let colleague = Session::start(Browser::Chromium).await.unwrap();
    let clinician = Session::start(Browser::Chromium).await.unwrap();
    sign_in_to_messages(&patient, &server, "patient@demo.haven").await;
    // The colleague has set up secure messaging but is in no care team yet: no
    // conversations.
    sign_in_to_messages(&colleague, &server, "clinician2@demo.haven").await;
    sign_in_to_messages(&clinician, &server, "clinician@demo.haven").await;

    clinician
        .wait_until("return document.querySelectorAll('#start-patient option').length > 1;")
        .await
        .unwrap();
    let patient_id = clinician
        .eval("return [...document.querySelectorAll('#start-patient option')].find(o => o.textContent === 'Pat Okafor').value;")
        .await
        .unwrap();
    let patient_id = patient_id.as_str().unwrap().to_owned();
    clinician
        .select("#start-patient", &patient_id)
        .await
        .unwrap();
    clinician.click("#start-care-team").await.unwrap();
    clinician
        .click(".start-patient-conversation")
        .await
        .unwrap();
    clinician
        .wait_for(".conversation[data-joined='true']")
        .await
        .unwrap();
    let before = [
        "Your referral to the asthma nurse is booked. (marker-lapwing-22)",
        "Thank you, what day is it? (marker-curlew-31)",
    ];
    send(&clinician, before[0]).await;
    patient
        .wait_for(".conversation[data-joined='true']")
        .await
        .unwrap();
    wait_for_text(&patient, before[0]).await;
    send(&patient, before[1]).await;
    wait_for_text(&clinician, before[1]).await;

    // The patient watches their activity while the clinician, from the patient's
    // record, brings the colleague into the care team.
    patient
        .click("#nav a[data-view='/my-activity']")
        .await
        .unwrap();
    patient
        .wait_for("#view[data-view='/my-activity']")
        .await
        .unwrap();
    clinician
        .eval(&format!("history.pushState(null, '', '/patients/{patient_id}'); dispatchEvent(new PopStateEvent('popstate'));"))
        .await
        .unwrap();
    clinician
        .wait_until("return document.querySelectorAll('#care-team-clinician option').length > 1;")
        .await
        .unwrap();
    let colleague_id = clinician
        .eval("return [...document.querySelectorAll('#care-team-clinician option')].find(o => o.textContent === 'Dr. Noor Haddad').value;")
        .await
        .unwrap();
    clinician
        .select("#care-team-clinician", colleague_id.as_str().unwrap())
        .await
        .unwrap();
    clinician
        .click("#join-care-team button[type='submit']")
        .await
        .unwrap();
    clinician
        .wait_until("return [...document.querySelectorAll('#view li')].some(l => l.textContent.includes('Dr. Noor Haddad'));")
        .await
        .unwrap();

    // Shown to the patient at once, without a reload.
    patient
        .wait_until("return [...document.querySelectorAll('#view .events li[data-kind=\"care-team\"]')].some(l => l.textContent.includes('Dr. Noor Haddad') && l.textContent.includes('brought in by Dr. Cleo Ruiz'));")
        .await
        .unwrap();
    open_messages(&patient).await;

    // The clinician's device adds the colleague's and hands over the history: the
    // colleague's browser shows the conversation, both earlier messages marked as
    // shared history, and never an unreadable line.
    colleague
        .wait_for(".conversation[data-joined='true']")
        .await
        .unwrap();
    wait_for_text(&colleague, before[1]).await;
    assert_eq!(
        texts(&colleague).await,
        before.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    );
    colleague
        .wait_until("return document.querySelector('#history-pending') === null;")
        .await
        .unwrap();
    // That it takes in the care team, the colleague's browser learnt from the history
    // the clinician's device handed over, not from the server.
    colleague
        .wait_for(".conversation[data-care-team='true']")
        .await
        .unwrap();
    assert_eq!(
        colleague
            .eval("return [...document.querySelectorAll('.transcript .line')].map(l => l.querySelector('.shared-by')?.textContent ?? '');")
            .await
            .unwrap(),
        serde_json::json!([
            "From the history Dr. Cleo Ruiz shared with this browser",
            "From the history Dr. Cleo Ruiz shared with this browser"
        ])
    );
    assert!(
        colleague
            .eval("return document.querySelector('.conversation .notice:not([role])') === null;")
            .await
            .unwrap()
            .as_bool()
            .unwrap(),
        "a line could not be read"
    );
    // Everyone sees three members, the colleague as a clinician, and the same code.
    clinician
        .click("#nav a[data-view='/messages']")
        .await
        .unwrap();
    for session in [&patient, &clinician, &colleague] {
        session
            .wait_until("return document.querySelectorAll('.member').length === 3 && [...document.querySelectorAll('.member')].some(m => m.dataset.role === 'clinician' && m.textContent.includes('Dr. Noor Haddad'));")
            .await
            .unwrap();
    }
    let code = colleague.text("#verification-code").await.unwrap();
    assert_eq!(code, patient.text("#verification-code").await.unwrap());
    assert_eq!(code, clinician.text("#verification-code").await.unwrap());
    let hello = "I will see you at the clinic on Thursday. (marker-dunlin-58)";
    send(&colleague, hello).await;
    wait_for_text(&patient, hello).await;
    wait_for_text(&clinician, hello).await;

    // An image is shown inline once decrypted in the recipient's browser (a 3×2 PNG).
    let picked = tempfile::tempdir().unwrap();
    let image = picked.path().join("inhaler-technique.png");
    let png = "89504e470d0a1a0a0000000d49484452000000030000000208020000001216f14d0000001049444154789c6338212707410c701600410006193c4541960000000049454e44ae426082";
    let bytes: Vec<u8> = (0..png.len() / 2)
        .map(|i| u8::from_str_radix(&png[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    std::fs::write(&image, bytes).unwrap();
    colleague
        .choose_file("#attachment-file", &image)
        .await
        .unwrap();
    // The patient's browser shows the line, says it read it, and redraws the
    // conversation once its own read mark comes back (the unread count goes): the button
    // is clicked in the conversation as it then stands, since one replaced between the
    // driver's finding and clicking it is a stale element to the driver.
    patient
        .wait_until("return [...document.querySelectorAll('.line-attachment')].some(l => l.querySelector('.attachment-name')?.textContent === 'inhaler-technique.png' && l.querySelector('.attachment-view') !== null) && document.querySelector('.conversations .badge.unread') === null;")
        .await
        .unwrap();
    patient
        .click(".line-attachment .attachment-view")
        .await
        .unwrap();
    let image_shown = "const img = document.querySelector('.line-attachment img.attachment-image'); return img !== null && img.complete && img.naturalWidth === 3 && img.naturalHeight === 2 && img.src.startsWith('blob:');";
    patient.wait_until(image_shown).await.unwrap();
    for session in [&patient, &clinician, &colleague] {
        assert!(session.console_errors().await.unwrap().is_empty());
    }

    // Recorded: who brought whom into which patient's care team.
    let db = haven_server::store::open(data.path()).await.unwrap();
    let (joined,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_entries WHERE action = 'care_team_joined' AND target = ?",
    )
    .bind(format!("patient:{patient_id}"))
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(joined, 1);
    for session in [patient, colleague, clinician] {
        session.close().await.unwrap();
    }
}
