//! Haven with the keyboard only, end to end in Chromium: no element is clicked and no
//! script acts on the page; every step is keys pressed on whatever has focus (Tab and
//! Shift+Tab to move, typing, Enter to submit a form, follow a link or press a button).
//! It proves that the focus order reaches every control these flows need and that each
//! of them works from the keyboard:
//!
//! - an administrator signs in (password, then the code of their authenticator),
//!   deactivates a user through the confirmation dialog (focus starts on Cancel),
//!   invites a new clinician and signs out;
//! - the invited clinician opens the invitation link, chooses a password, sets up their
//!   second factor from the key shown on the page and reaches the signed-in app;
//! - a clinician starts a conversation with their patient, writes a message, attaches a
//!   file and sends both; the patient goes to the conversation, reads the message and
//!   sees the file listed;
//! - everyone signs out.
//!
//! The test reads the page (to wait for it, and for the invitation link and the key it
//! shows) but only ever acts on it through the keyboard. The one exception WebDriver
//! imposes: a file is chosen by sending its path as keys to the file input, which the
//! keyboard reached first (no file dialog opens).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use fantoccini::key::Key;
use haven_e2e::{Browser, ServerProcess, Session};

/// The clinician the administrator invites.
const INVITED_NAME: &str = "Dr. Kit Keyes";
const INVITED_EMAIL: &str = "kit.keyes@demo.haven";
const INVITED_PASSWORD: &str = "a long keyboard-only password";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn enter(session: &Session) {
    session.press(&Key::Enter.to_string()).await.unwrap();
}

/// The skip link, first in the signed-in app's tab order, puts the focus on the page's
/// content. Reached backwards, so from wherever the focus is (or was, before what had it
/// went from the page) without wrapping around the end of the page.
async fn skip_to_content(session: &Session) {
    session.shift_tab_to(".skip-link").await.unwrap();
    enter(session).await;
    session.wait_for_focus("#content").await.unwrap();
}

/// Signs out with the button in the app bar, which comes before the content.
async fn sign_out(session: &Session) {
    session.shift_tab_to("#sign-out").await.unwrap();
    enter(session).await;
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    assert_eq!(
        session.text("#notice").await.unwrap(),
        "You have signed out."
    );
}

/// Waits until the open conversation shows a message with exactly `text`.
async fn wait_for_text(session: &Session, text: &str) {
    let script = format!(
        "return [...document.querySelectorAll('.transcript .line-text')].some(p => p.textContent === {});",
        serde_json::to_string(text).unwrap()
    );
    session.wait_until(&script).await.unwrap();
}

/// Waits until the open conversation lists an attachment named `name`.
async fn wait_for_attachment(session: &Session, name: &str) {
    session
        .wait_until(&format!(
            "return [...document.querySelectorAll('.line-attachment .attachment-name')].some(e => e.textContent === {});",
            serde_json::to_string(name).unwrap()
        ))
        .await
        .unwrap();
}

/// The messages view with this browser's encryption device ready.
async fn wait_for_messages(session: &Session) {
    if let Err(e) = session.wait_for("#messages[data-e2ee='ready']").await {
        let page = session
            .eval(
                "return document.querySelector('#messages')?.outerHTML ?? document.body.outerHTML;",
            )
            .await;
        panic!("{e}\n{page:?}");
    }
}

#[tokio::test]
async fn an_admin_a_new_clinician_a_clinician_and_a_patient_use_haven_by_keyboard_only() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();

    // The administrator signs in: Tab to each field, type, Enter; then the code.
    let admin = Session::start(Browser::Chromium).await.unwrap();
    admin.goto(&server.url("/")).await.unwrap();
    admin
        .sign_in_with_keyboard("admin@demo.haven")
        .await
        .unwrap();
    admin
        .wait_for("#view[data-view='/admin/users']")
        .await
        .unwrap();

    // They deactivate Sam Staff (an account nothing below needs): the skip link to the
    // list, Tab to the row's button, Enter; the dialog asks with the focus on Cancel;
    // Tab to the confirmation, Enter.
    let staff_row = "tr[data-email='staff@demo.haven']";
    let deactivate = format!("{staff_row} button.deactivate");
    admin.wait_for(&deactivate).await.unwrap();
    skip_to_content(&admin).await;
    admin.tab_to(&deactivate).await.unwrap();
    enter(&admin).await;
    admin.wait_for("#confirm-dialog[open]").await.unwrap();
    admin.wait_for_focus("#confirm-cancel").await.unwrap();
    assert!(
        admin
            .text("#confirm-title")
            .await
            .unwrap()
            .contains("Sam Staff")
    );
    admin.tab_to("#confirm-accept").await.unwrap();
    enter(&admin).await;
    admin
        .wait_for("#toasts .toast[data-kind='success']")
        .await
        .unwrap();
    admin
        .wait_for(&format!("{staff_row} .badge.bad"))
        .await
        .unwrap();
    admin
        .wait_until(&format!(
            "return document.querySelector({}) === null && !document.querySelector('#confirm-dialog[open]');",
            serde_json::to_string(&deactivate).unwrap()
        ))
        .await
        .unwrap();

    // They invite a clinician: back (Shift+Tab) to the navigation, Enter on
    // Invitations; the role offered first is Clinician, left as it is; name and email
    // typed, Enter in the email field submits; the link shows on the page.
    admin
        .shift_tab_to("#nav a[data-view='/admin/invitations']")
        .await
        .unwrap();
    enter(&admin).await;
    admin
        .wait_for("#view[data-view='/admin/invitations'] #invite-name")
        .await
        .unwrap();
    assert_eq!(
        admin
            .eval("return document.querySelector('#invite-role').value;")
            .await
            .unwrap(),
        serde_json::json!("clinician")
    );
    admin.tab_to("#invite-name").await.unwrap();
    admin.type_text(INVITED_NAME).await.unwrap();
    admin.tab_to("#invite-email").await.unwrap();
    admin.type_text(INVITED_EMAIL).await.unwrap();
    enter(&admin).await;
    admin.wait_for("#invite-link").await.unwrap();
    let link = admin.text("#invite-link").await.unwrap();
    let link = link.trim().to_owned();
    assert!(link.contains("/join#"), "{link}");
    admin
        .wait_until(&format!(
            "return [...document.querySelectorAll('#open-invitations tr[data-invitation]')].some(r => r.textContent.includes({}));",
            serde_json::to_string(INVITED_EMAIL).unwrap()
        ))
        .await
        .unwrap();
    sign_out(&admin).await;
    admin.close().await.unwrap();

    // The invited clinician opens the link in their own browser, chooses a password
    // (Enter submits), and sets up their second factor: the key the page shows, typed
    // into an authenticator (here computed), gives the code to type.
    let invited = Session::start(Browser::Chromium).await.unwrap();
    invited.goto(&link).await.unwrap();
    invited
        .wait_for("#sign-in[data-step='join']")
        .await
        .unwrap();
    invited.tab_to("#password").await.unwrap();
    invited.type_text(INVITED_PASSWORD).await.unwrap();
    enter(&invited).await;
    invited
        .wait_for("#sign-in[data-step='enrol'] #totp-secret")
        .await
        .unwrap();
    let key = invited.text("#totp-secret").await.unwrap();
    let key = totp_rs::Secret::try_from_base32(key.trim()).unwrap();
    let code = haven_server::secrets::totp_code(key.as_bytes(), now()).unwrap();
    // The form was rebuilt for this step (its new fields before where the old ones
    // were, which went with the focus): the code field lies behind.
    invited.shift_tab_to("#code").await.unwrap();
    invited.type_text(&code).await.unwrap();
    enter(&invited).await;
    invited
        .wait_for(".signed-in[data-role='clinician'][data-totp='true']")
        .await
        .unwrap();
    assert_eq!(invited.text("#user-name").await.unwrap(), INVITED_NAME);
    // A clinician's first view is Messages; their browser's device gets ready.
    wait_for_messages(&invited).await;
    sign_out(&invited).await;
    invited.close().await.unwrap();

    // The patient signs in and goes to Messages with the keyboard, so their browser's
    // device is ready to be added to a conversation; then back to their care team.
    let patient = Session::start(Browser::Chromium).await.unwrap();
    patient.goto(&server.url("/")).await.unwrap();
    patient
        .sign_in_with_keyboard("patient@demo.haven")
        .await
        .unwrap();
    patient
        .wait_for("#view[data-view='/care-team']")
        .await
        .unwrap();
    patient
        .shift_tab_to("#nav a[data-view='/messages']")
        .await
        .unwrap();
    enter(&patient).await;
    wait_for_messages(&patient).await;
    patient
        .shift_tab_to("#nav a[data-view='/care-team']")
        .await
        .unwrap();
    enter(&patient).await;
    patient
        .wait_for("#view[data-view='/care-team']")
        .await
        .unwrap();

    // The clinician signs in (Messages is their first view) and starts a conversation
    // with their patient: the patient chosen by typing the start of her name in the
    // list, Tab past "whole care team" to the button, Enter.
    let clinician = Session::start(Browser::Chromium).await.unwrap();
    clinician.goto(&server.url("/")).await.unwrap();
    clinician
        .sign_in_with_keyboard("clinician@demo.haven")
        .await
        .unwrap();
    wait_for_messages(&clinician).await;
    clinician
        .wait_until("return document.querySelectorAll('#start-patient option').length > 1;")
        .await
        .unwrap();
    skip_to_content(&clinician).await;
    clinician.tab_to("#start-patient").await.unwrap();
    clinician.type_text("Pat").await.unwrap();
    clinician
        .wait_until(
            "return document.querySelector('#start-patient').selectedOptions[0]?.textContent === 'Pat Okafor';",
        )
        .await
        .unwrap();
    clinician
        .tab_to(".start-patient-conversation")
        .await
        .unwrap();
    enter(&clinician).await;
    clinician
        .wait_for(".conversation[data-joined='true'][data-care-team='false']")
        .await
        .unwrap();
    clinician.wait_for("#message-text").await.unwrap();

    // They write the message (Enter in the text area would start a new line: Tab to
    // Send, Enter), then Tab on to the file input and choose the file there.
    let message = "Your results are in: all normal. The letter is attached. (marker-keys-31)";
    clinician.tab_to("#message-text").await.unwrap();
    clinician.type_text(message).await.unwrap();
    clinician.tab_to(".send-message").await.unwrap();
    enter(&clinician).await;
    wait_for_text(&clinician, message).await;
    clinician
        .wait_until("return document.querySelector('#message-text').value === '';")
        .await
        .unwrap();
    clinician
        .wait_for(
            ".line[data-mine='true'] .line-state:is([data-state='sent'], [data-state='delivered'], [data-state='read'])",
        )
        .await
        .unwrap();
    let picked = tempfile::tempdir().unwrap();
    let name = "results-letter-marker-keys.txt";
    let path = picked.path().join(name);
    std::fs::write(&path, b"Dear Pat, your blood results are all normal.\n").unwrap();
    clinician.tab_to("#attachment-file").await.unwrap();
    // WebDriver chooses a file by sending its path as keys to the file input: here to
    // the input that has the focus, reached with Tab (no file dialog opens).
    clinician.choose_file_in_focus(&path).await.unwrap();
    clinician
        .wait_for(
            ".line[data-mine='true']:has(.line-attachment) .line-state:is([data-state='sent'], [data-state='delivered'], [data-state='read'])",
        )
        .await
        .unwrap();

    // The patient goes to Messages (Tab on from Care team, Enter): the conversation
    // opens with the message and the file listed. Then the skip link and Tab to the
    // conversation in the list, Enter: it is the one open; Tab on reaches the file's
    // download button.
    patient
        .tab_to("#nav a[data-view='/messages']")
        .await
        .unwrap();
    enter(&patient).await;
    wait_for_messages(&patient).await;
    if let Err(e) = patient.wait_for(".conversation[data-joined='true']").await {
        let page = patient
            .eval("return document.querySelector('#messages').outerHTML;")
            .await;
        panic!("{e}\n{page:?}\n{}", server.logs());
    }
    wait_for_text(&patient, message).await;
    wait_for_attachment(&patient, name).await;
    // Read: the list settles (its row is redrawn when the unread count goes).
    patient
        .wait_until("return document.querySelector('.badge.unread') === null;")
        .await
        .unwrap();
    skip_to_content(&patient).await;
    patient.tab_to("button.conversation").await.unwrap();
    enter(&patient).await;
    patient
        .wait_for("button.conversation[aria-current='true']")
        .await
        .unwrap();
    wait_for_text(&patient, message).await;
    patient
        .tab_to(".line-attachment .attachment-download")
        .await
        .unwrap();
    // The clinician sees their message read.
    clinician
        .wait_for(".line[data-mine='true'] .line-state[data-state='read']")
        .await
        .unwrap();

    assert!(patient.console_errors().await.unwrap().is_empty());
    assert!(clinician.console_errors().await.unwrap().is_empty());

    // Both sign out with the keyboard.
    sign_out(&clinician).await;
    sign_out(&patient).await;
    patient.close().await.unwrap();
    clinician.close().await.unwrap();
}
