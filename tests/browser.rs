//! Browser tests (wasm-bindgen-test in headless Chromium): the pieces of the app that
//! touch browser APIs, run against the real ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use haven_app::boot;
use haven_app::capabilities::Capability;
use haven_app::diagnostics::Diagnostics;
use haven_app::error::AppError;
use haven_app::transport::https::{self, HttpError};
use haven_app::transport::wss::{Link, LinkState};
use haven_protocol::{HttpsUrl, WssUrl};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn root_attribute(name: &str) -> Option<String> {
    web_sys::window()?
        .document()?
        .document_element()?
        .get_attribute(name)
}

/// The test runner serves this page over plain http://127.0.0.1: a secure context for the
/// browser, but not TLS, so the app must refuse to start and fetch nothing.
#[wasm_bindgen_test]
async fn refuses_to_boot_from_a_page_not_served_over_https() {
    match boot::load_config().await {
        Err(AppError::InsecurePage { scheme }) => assert_eq!(scheme, "http"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn an_unreachable_server_is_a_typed_error() {
    let url = HttpsUrl::parse("https://127.0.0.1:9/api/config").unwrap();
    let result: Result<serde_json::Value, _> = https::get_json(&url).await;
    assert_eq!(result, Err(HttpError::Unreachable));
}

#[wasm_bindgen_test]
fn detects_what_chromium_offers() {
    for capability in Capability::ALL {
        assert!(capability.supported(), "{}", capability.id());
    }
}

#[wasm_bindgen_test]
fn counts_csp_violations_and_stops_when_dropped() {
    let diagnostics = Diagnostics::install().unwrap();
    let before: u32 = root_attribute("data-csp-violations")
        .unwrap()
        .parse()
        .unwrap();
    let init = web_sys::SecurityPolicyViolationEventInit::new();
    init.set_violated_directive("script-src");
    init.set_effective_directive("script-src");
    init.set_original_policy("script-src 'self'");
    let event = web_sys::SecurityPolicyViolationEvent::new_with_event_init_dict(
        "securitypolicyviolation",
        &init,
    )
    .unwrap();
    let document = web_sys::window().unwrap().document().unwrap();
    document.dispatch_event(&event).unwrap();
    assert_eq!(
        root_attribute("data-csp-violations"),
        Some((before + 1).to_string())
    );
    drop(diagnostics);
    document.dispatch_event(&event).unwrap();
    assert_eq!(
        root_attribute("data-csp-violations"),
        Some((before + 1).to_string())
    );
}

/// A link to a server that is not there goes from connecting to reconnecting, and keeps
/// trying with growing attempts.
#[wasm_bindgen_test]
async fn a_dead_server_puts_the_link_into_reconnecting() {
    let seen: Rc<RefCell<Vec<LinkState>>> = Rc::default();
    let log = seen.clone();
    let url = WssUrl::parse("wss://127.0.0.1:9/ws").unwrap();
    let link = Link::open(url, move |state| log.borrow_mut().push(state), |_| {});
    for _ in 0..200 {
        if seen
            .borrow()
            .iter()
            .any(|s| matches!(s, LinkState::Reconnecting { attempt: 2 }))
        {
            break;
        }
        gloo_timers::future::sleep(Duration::from_millis(50)).await;
    }
    drop(link);
    let seen = seen.borrow();
    assert!(
        seen.contains(&LinkState::Reconnecting { attempt: 1 }),
        "{seen:?}"
    );
    assert!(seen.contains(&LinkState::Connecting), "{seen:?}");
    assert!(
        seen.contains(&LinkState::Reconnecting { attempt: 2 }),
        "{seen:?}"
    );
    assert!(!seen.contains(&LinkState::Open), "{seen:?}");
}

/// The verifier the auditor view runs, in the browser: every kind of tampering is caught
/// and the first bad entry named.
#[wasm_bindgen_test]
fn the_browser_verifier_names_the_first_bad_entry() {
    use haven_audit_log::{TreeHead, Verdict, hex, leaf_hash, root_from_leaves, verify_export};
    use haven_protocol::audit::{AuditAction, AuditEntry, AuditOutcome, ExportLine};

    let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let trusted = hex(key.verifying_key().as_bytes());
    let entries: Vec<AuditEntry> = (0..8)
        .map(|index| AuditEntry {
            index,
            time: 1_700_000_000,
            organisation: "org".into(),
            actor: None,
            action: AuditAction::SignIn,
            target: Some(format!("user:{index}")),
            patient: None,
            detail: None,
            outcome: AuditOutcome::Success,
            source: None,
        })
        .collect();
    let leaves: Vec<[u8; 32]> = entries
        .iter()
        .map(|e| leaf_hash(&e.canonical_bytes()))
        .collect();
    let head = TreeHead {
        organisation: "org".into(),
        size: 8,
        timestamp: 1,
        root: root_from_leaves(&leaves),
    }
    .sign(&key);
    let mut lines = vec![serde_json::to_string(&head.export_line()).unwrap()];
    for (entry, leaf) in entries.iter().zip(&leaves) {
        lines.push(
            serde_json::to_string(&ExportLine::Entry {
                entry: entry.clone(),
                leaf_hash: hex(leaf),
            })
            .unwrap(),
        );
    }
    assert!(verify_export(&lines.join("\n"), &trusted, "org").is_intact());
    // The same export offered as another organisation's is refused.
    assert!(!verify_export(&lines.join("\n"), &trusted, "other").is_intact());
    let first_bad = |lines: &[String]| match verify_export(&lines.join("\n"), &trusted, "org") {
        Verdict::Broken { first_bad, .. } => first_bad,
        Verdict::Intact { .. } => panic!("not caught"),
    };
    let mut changed = lines.clone();
    changed[3] = changed[3].replace("user:2", "user:7");
    assert_eq!(first_bad(&changed), Some(2));
    let mut deleted = lines.clone();
    deleted.remove(5);
    assert_eq!(first_bad(&deleted), Some(4));
    let mut reordered = lines.clone();
    reordered.swap(6, 7);
    assert_eq!(first_bad(&reordered), Some(5));
    assert_eq!(first_bad(&lines[..6]), Some(5));
}

/// The witness's memory in the browser's real IndexedDB: a kept head comes back as it
/// was kept (the JSON `check-head` reads), per organisation, and a reported alarm is
/// remembered so it is reported once.
#[wasm_bindgen_test]
async fn the_witness_keeps_heads_per_organisation_in_indexeddb() {
    use haven_app::audit::kept::Kept;
    use haven_audit_log::{TreeHead, WitnessAlarmReport};

    let key = ed25519_dalek::SigningKey::from_bytes(&[6; 32]);
    let head = |organisation: &str, size: u64| {
        TreeHead {
            organisation: organisation.into(),
            size,
            timestamp: 1_700_000_000,
            root: [size as u8; 32],
        }
        .sign(&key)
    };
    let store = Kept::open().await.unwrap();
    assert_eq!(store.head("org-a").await.unwrap(), None);
    store.keep(&head("org-a", 5)).await.unwrap();
    store.keep(&head("org-b", 9)).await.unwrap();
    store.keep(&head("org-a", 7)).await.unwrap();
    drop(store);
    // A new connection (as after a reload) reads what was kept.
    let store = Kept::open().await.unwrap();
    assert_eq!(store.head("org-a").await.unwrap(), Some(head("org-a", 7)));
    assert_eq!(store.head("org-b").await.unwrap(), Some(head("org-b", 9)));
    let alarm = WitnessAlarmReport {
        kept: head("org-a", 7),
        newer: head("org-a", 12),
    };
    assert!(!store.reported(&alarm).await.unwrap());
    store.mark_reported(&alarm).await.unwrap();
    assert!(store.reported(&alarm).await.unwrap());
    let other = WitnessAlarmReport {
        kept: head("org-a", 7),
        newer: head("org-a", 13),
    };
    assert!(!store.reported(&other).await.unwrap());
}

#[wasm_bindgen_test]
async fn a_device_credential_is_kept_in_indexeddb_under_a_hash_of_the_address() {
    use haven_protocol::identity::{DeviceCredential, Email};
    let email = Email::parse("Kept.Device@Example.org").unwrap();
    let other = Email::parse("someone.else@example.org").unwrap();
    let credential = DeviceCredential::parse(&"k".repeat(43)).unwrap();
    haven_app::devices::remember(&email, &credential).await;
    let same = Email::parse("kept.device@example.org").unwrap();
    assert_eq!(
        haven_app::devices::credential(&same).await,
        Some(credential)
    );
    assert_eq!(haven_app::devices::credential(&other).await, None);
    // Nothing went to localStorage.
    let window = web_sys::window().unwrap();
    let local = js_sys::Reflect::get(&window, &"localStorage".into()).unwrap();
    let length = js_sys::Reflect::get(&local, &"length".into()).unwrap();
    assert_eq!(length.as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
async fn the_vault_is_sealed_on_disk_and_opens_only_with_the_servers_secret() {
    use haven_app::e2ee::vault::{Vault, VaultError};
    use haven_app::storage::KeyValue;
    let secret = [7u8; 32];
    let device = "0123456789abcdef0123456789abcdef";
    let history = b"Patient reports chest pain since Tuesday";
    {
        let vault = Vault::open(device, &secret).await.unwrap();
        vault.put("history", history).await.unwrap();
        assert_eq!(vault.get("history").await.unwrap().unwrap(), history);
        assert_eq!(vault.get("nothing here").await.unwrap(), None);
    }
    // What is on disk: neither the plaintext nor a usable key.
    let raw = KeyValue::open("haven-e2ee", &["vault"]).await.unwrap();
    let record = raw
        .get_value("vault", &format!("{device}/record/history"))
        .await
        .unwrap()
        .unwrap();
    let bytes = js_sys::Uint8Array::new(&record).to_vec();
    assert!(!bytes.windows(7).any(|w| w == b"Patient"));
    let wrapped = raw
        .get_value("vault", &format!("{device}/key"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        wasm_bindgen::JsCast::is_instance_of::<js_sys::Uint8Array>(&wrapped),
        "only the wrapped key is kept"
    );

    // After logoff the page has no key; a wrong secret opens nothing.
    assert_eq!(
        Vault::open(device, &[8u8; 32]).await.unwrap_err(),
        VaultError::WrongSecret
    );
    // The next sign-in's secret opens it again.
    let again = Vault::open(device, &secret).await.unwrap();
    assert_eq!(again.get("history").await.unwrap().unwrap(), history);
    // A record moved under another name is refused, not misread.
    raw.put_value("vault", &format!("{device}/record/other"), &record)
        .await
        .unwrap();
    assert_eq!(again.get("other").await.unwrap_err(), VaultError::Damaged);
}
