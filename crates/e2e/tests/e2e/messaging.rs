//! Issue 12 end to end: a patient and a clinician, each in their own browser, exchange
//! end-to-end encrypted messages through the real server; the patient signs out, misses
//! messages and catches up; a reload keeps the history (sealed in the browser's vault);
//! and afterwards nothing the server wrote holds any of the plaintext.

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
    session
        .wait_for("#messages[data-e2ee='ready']")
        .await
        .unwrap();
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
async fn texts(session: &Session) -> Vec<String> {
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
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let patient = Session::start(Browser::Chromium).await.unwrap();
    let clinician = Session::start(Browser::Chromium).await.unwrap();

    // The patient's browser registers its device (and publishes KeyPackages) first, so
    // the clinician can add it.
    sign_in_to_messages(&patient, &server, "patient@demo.haven").await;
    sign_in_to_messages(&clinician, &server, "clinician@demo.haven").await;

    // The clinician starts a conversation with their patient.
    start_with_patient(&clinician).await;
    let first = "Good morning Pat, how is the new inhaler working? (marker-kestrel-41)";
    send(&clinician, first).await;
    // Durable on the server (and, if the patient's open view got to it first, read).
    clinician
        .wait_for(
            ".line[data-mine='true'] .line-state:is([data-state='sent'], [data-state='read'])",
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
    // Back again: everything, in order, exactly once.
    patient.sign_in("patient@demo.haven").await.unwrap();
    open_messages(&patient).await;
    wait_for_text(&patient, missed[1]).await;
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
        for marker in ["kestrel", "heron", "osprey", "wren", "inhaler"] {
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
