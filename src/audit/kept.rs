//! The witness's memory: per organisation, the newest tree head this browser verified,
//! and the last alarm it reported, in IndexedDB, so they outlive reloads and sign-outs.
//!
//! Nothing here is secret or PHI: a signed tree head is public (sizes, a root hash, a
//! signature). Heads are stored as the same JSON `GET /api/audit/head` answers, which
//! `haven-server audit check-head` reads, so an auditor can hand a kept head to the
//! command line. Every handler set on a request is cleared once it fired, and the
//! database closes when [`Kept`] is dropped.

use haven_audit_log::{SignedTreeHead, WitnessAlarmReport};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

const DB_NAME: &str = "haven-witness";
const DB_VERSION: u32 = 1;
/// Organisation id -> the newest verified head (JSON).
const HEADS: &str = "heads";
/// Organisation id -> the last alarm reported to the server (JSON), so one finding is
/// reported once however often the page is opened.
const ALARMS: &str = "alarms";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("this browser offers no IndexedDB (private mode may turn it off)")]
    Unavailable,
    #[error("the browser's IndexedDB refused the request")]
    Refused,
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn refused(_: JsValue) -> StoreError {
    StoreError::Refused
}

/// Waits for `request` to succeed (or fail), then returns its result.
async fn finished(request: &IdbRequest) -> Result<JsValue> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    outcome.map_err(refused)?;
    request.result().map_err(refused)
}

/// Waits until `tx` has committed.
async fn committed(tx: &IdbTransaction) -> Result<()> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onerror(Some(&reject));
        tx.set_onabort(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    tx.set_oncomplete(None);
    tx.set_onerror(None);
    tx.set_onabort(None);
    outcome.map(|_| ()).map_err(refused)
}

/// The open witness database.
pub struct Kept {
    db: IdbDatabase,
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.db.close();
    }
}

impl Kept {
    pub async fn open() -> Result<Self> {
        let factory = web_sys::window()
            .and_then(|w| w.indexed_db().ok().flatten())
            .ok_or(StoreError::Unavailable)?;
        let request: IdbOpenDbRequest = factory
            .open_with_u32(DB_NAME, DB_VERSION)
            .map_err(|_| StoreError::Unavailable)?;
        // Creates the stores the first time; owned here and released once open.
        let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let db = event
                .target()
                .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
                .and_then(|r| r.result().ok())
                .and_then(|db| db.dyn_into::<IdbDatabase>().ok());
            // Version 1 is the only version: the upgrade runs on an empty database.
            if let Some(db) = db {
                for store in [HEADS, ALARMS] {
                    let _ = db.create_object_store(store);
                }
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let opened = finished(&request).await;
        request.set_onupgradeneeded(None);
        drop(upgrade);
        let db = opened?.dyn_into::<IdbDatabase>().map_err(refused)?;
        Ok(Self { db })
    }

    async fn read(&self, store: &str, organisation: &str) -> Result<Option<String>> {
        let tx = self
            .db
            .transaction_with_str_and_mode(store, IdbTransactionMode::Readonly)
            .map_err(refused)?;
        let request = tx
            .object_store(store)
            .map_err(refused)?
            .get(&JsValue::from_str(organisation))
            .map_err(refused)?;
        Ok(finished(&request).await?.as_string())
    }

    async fn write(&self, store: &str, organisation: &str, json: &str) -> Result<()> {
        let tx = self
            .db
            .transaction_with_str_and_mode(store, IdbTransactionMode::Readwrite)
            .map_err(refused)?;
        tx.object_store(store)
            .map_err(refused)?
            .put_with_key(&JsValue::from_str(json), &JsValue::from_str(organisation))
            .map_err(refused)?;
        committed(&tx).await
    }

    /// The newest head kept for `organisation`; a value that no longer parses counts as
    /// none.
    pub async fn head(&self, organisation: &str) -> Result<Option<SignedTreeHead>> {
        let text = self.read(HEADS, organisation).await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Keeps `head` as the newest verified head of its organisation.
    pub async fn keep(&self, head: &SignedTreeHead) -> Result<()> {
        let json = serde_json::to_string(head).map_err(|_| StoreError::Refused)?;
        self.write(HEADS, &head.organisation, &json).await
    }

    /// Whether exactly this alarm was already reported from this browser.
    pub async fn reported(&self, alarm: &WitnessAlarmReport) -> Result<bool> {
        let text = self.read(ALARMS, &alarm.kept.organisation).await?;
        Ok(text
            .and_then(|t| serde_json::from_str::<WitnessAlarmReport>(&t).ok())
            .is_some_and(|last| last == *alarm))
    }

    pub async fn mark_reported(&self, alarm: &WitnessAlarmReport) -> Result<()> {
        let json = serde_json::to_string(alarm).map_err(|_| StoreError::Refused)?;
        self.write(ALARMS, &alarm.kept.organisation, &json).await
    }
}
