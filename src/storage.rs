//! The browser's durable storage: small string values in IndexedDB, by key, in named
//! stores of one database per purpose. Never localStorage or cookies (readable by every
//! script on the origin and sent with requests); nothing here holds PHI.
//!
//! Every handler set on a request is cleared once it fired, and the database closes when
//! its [`KeyValue`] is dropped.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

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

/// One open IndexedDB database of string values.
pub struct KeyValue {
    db: IdbDatabase,
}

impl Drop for KeyValue {
    fn drop(&mut self) {
        self.db.close();
    }
}

impl KeyValue {
    /// Opens database `name` (version 1), creating `stores` the first time.
    pub async fn open(name: &str, stores: &'static [&'static str]) -> Result<Self> {
        let factory = web_sys::window()
            .and_then(|w| w.indexed_db().ok().flatten())
            .ok_or(StoreError::Unavailable)?;
        let request: IdbOpenDbRequest = factory
            .open_with_u32(name, 1)
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
                for store in stores {
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

    /// The value under `key` in `store`, if any.
    pub async fn get(&self, store: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .get_value(store, key)
            .await?
            .and_then(|v| v.as_string()))
    }

    /// Puts `value` under `key` in `store`, durably.
    pub async fn put(&self, store: &str, key: &str, value: &str) -> Result<()> {
        self.put_value(store, key, &JsValue::from_str(value)).await
    }

    /// Any structured-clonable value (bytes, a non-extractable `CryptoKey`) under `key`.
    pub async fn get_value(&self, store: &str, key: &str) -> Result<Option<JsValue>> {
        let tx = self
            .db
            .transaction_with_str_and_mode(store, IdbTransactionMode::Readonly)
            .map_err(refused)?;
        let request = tx
            .object_store(store)
            .map_err(refused)?
            .get(&JsValue::from_str(key))
            .map_err(refused)?;
        let value = finished(&request).await?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// Puts any structured-clonable `value` under `key` in `store`, durably.
    pub async fn put_value(&self, store: &str, key: &str, value: &JsValue) -> Result<()> {
        let tx = self
            .db
            .transaction_with_str_and_mode(store, IdbTransactionMode::Readwrite)
            .map_err(refused)?;
        tx.object_store(store)
            .map_err(refused)?
            .put_with_key(value, &JsValue::from_str(key))
            .map_err(refused)?;
        // Commit now rather than when the page next runs: a page frozen right after
        // this (navigated away, kept in the back/forward cache) must not hold the store
        // locked for the page that replaces it. Browsers without `commit` commit anyway.
        // (`commit` is IndexedDB 3.0, in every current engine; web-sys's WebIDL still
        // marks it deprecated.)
        #[allow(deprecated)]
        let _ = tx.commit();
        committed(&tx).await
    }
}

/// Hands `part` (a string or typed array, still in JavaScript) to the browser's download
/// as `name`: a blob URL, so nothing leaves the page. The URL is revoked once the
/// browser has had time to start the download.
/// A `blob:` URL for `part` as `mime`, local to this page (never sent anywhere); revoke
/// it with `web_sys::Url::revoke_object_url` once it is no longer shown.
pub fn object_url(part: &wasm_bindgen::JsValue, mime: &str) -> Option<String> {
    let parts = js_sys::Array::of1(part);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_blob_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

pub fn offer_download(part: &wasm_bindgen::JsValue, name: &str, mime: &str) -> Option<()> {
    let parts = js_sys::Array::of1(part);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_blob_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let anchor: web_sys::HtmlAnchorElement = web_sys::window()?
        .document()?
        .create_element("a")
        .ok()?
        .dyn_into()
        .ok()?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    gloo_timers::callback::Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Some(())
}
