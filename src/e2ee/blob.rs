//! Encrypted files: attachments (and, later, history archives) are encrypted in the
//! browser with a fresh AES-256-GCM key, stored by the server as bytes it cannot read,
//! and opened again only by a member who received the key inside an MLS message.
//!
//! The bytes stay in JavaScript typed arrays from the file picker to WebCrypto to the
//! network and back: a 25 MB file is never copied into the app's WebAssembly memory.
//! Transfers go through `XMLHttpRequest`, the one browser API that reports upload
//! progress, with the session's bearer token in a header and never in the URL.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_events::EventListener;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{AttachmentStored, parse_hex};
use js_sys::{Object, Reflect, Uint8Array};
use leptos::prelude::GetUntracked as _;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto, XmlHttpRequest, XmlHttpRequestResponseType};

use crate::context::Ctx;
use crate::i18n::{Msg, t, tf};
use crate::transport::https::HttpError;

const KEY_BYTES: u32 = 32;
const NONCE_BYTES: u32 = 12;
/// A transfer that has not finished after this long is given up (25 MB at about
/// 250 kbit/s).
const TRANSFER_TIMEOUT_MS: u32 = 15 * 60 * 1000;

/// What a blob is for. Each kind is bound into its encryption, so one cannot be passed
/// off as another (an attachment as a history archive, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Attachment,
    History,
}

impl Kind {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Attachment => b"haven attachment v1",
            Self::History => b"haven history archive v1",
        }
    }
}

/// A file after encryption: the bytes for the server, the key for the MLS message.
pub struct Sealed {
    pub bytes: Uint8Array,
    pub key: String,
}

fn subtle() -> Result<SubtleCrypto, String> {
    let crypto = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .ok_or_else(|| t(Msg::E2eeNoWebcrypto))?;
    Ok(crypto.subtle())
}

fn random(n: u32) -> Result<Uint8Array, String> {
    let bytes = Uint8Array::new_with_length(n);
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_array_buffer_view(&bytes).ok())
        .ok_or_else(|| t(Msg::E2eeNoRandom))?;
    Ok(bytes)
}

fn params(nonce: &Uint8Array, kind: Kind) -> Result<Object, String> {
    let object = Object::new();
    for (key, value) in [
        ("name", JsValue::from_str("AES-GCM")),
        ("iv", nonce.into()),
        ("additionalData", Uint8Array::from(kind.label()).into()),
    ] {
        Reflect::set(&object, &JsValue::from_str(key), &value)
            .map_err(|_| t(Msg::E2eeEncryptRefused))?;
    }
    Ok(object)
}

async fn import(raw: &Uint8Array, usage: &str) -> Result<CryptoKey, String> {
    let usages = js_sys::Array::of1(&JsValue::from_str(usage));
    let promise = subtle()?
        .import_key_with_str("raw", raw, "AES-GCM", false, &usages)
        .map_err(|_| t(Msg::E2eeKeyRefused))?;
    Ok(JsFuture::from(promise)
        .await
        .map_err(|_| t(Msg::E2eeKeyRefused))?
        .unchecked_into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Encrypts `plain` under a fresh key: `nonce || ciphertext || tag`.
pub async fn seal(plain: &Uint8Array, kind: Kind) -> Result<Sealed, String> {
    let raw = random(KEY_BYTES)?;
    let key = import(&raw, "encrypt").await?;
    let nonce = random(NONCE_BYTES)?;
    let promise = subtle()?
        .encrypt_with_object_and_buffer_source(&params(&nonce, kind)?, &key, plain)
        .map_err(|_| t(Msg::E2eeEncryptRefused))?;
    let sealed = JsFuture::from(promise)
        .await
        .map_err(|_| t(Msg::E2eeEncryptRefused))?;
    let sealed = Uint8Array::new(&sealed);
    let bytes = Uint8Array::new_with_length(NONCE_BYTES + sealed.length());
    bytes.set(&nonce, 0);
    bytes.set(&sealed, NONCE_BYTES);
    Ok(Sealed {
        bytes,
        key: hex(&raw.to_vec()),
    })
}

/// Opens what [`seal`] wrote; refused if a single bit changed or the key is not its.
pub async fn open(sealed: &Uint8Array, key: &str, kind: Kind) -> Result<Uint8Array, String> {
    let damaged = || t(Msg::E2eeFileDamaged);
    let raw = parse_hex(key, KEY_BYTES as usize)
        .ok()
        .filter(|k| k.len() == KEY_BYTES as usize)
        .ok_or_else(damaged)?;
    if sealed.length() < NONCE_BYTES + 16 {
        return Err(damaged());
    }
    let key = import(&Uint8Array::from(raw.as_slice()), "decrypt").await?;
    let nonce = sealed.subarray(0, NONCE_BYTES);
    let body = sealed.subarray(NONCE_BYTES, sealed.length());
    let promise = subtle()?
        .decrypt_with_object_and_buffer_source(&params(&nonce, kind)?, &key, &body)
        .map_err(|_| damaged())?;
    let plain = JsFuture::from(promise).await.map_err(|_| damaged())?;
    Ok(Uint8Array::new(&plain))
}

/// How a transfer ended, before its body is read.
struct Finished {
    status: u16,
    response: JsValue,
}

/// One request with progress reported to `progress` (0.0 to 1.0).
async fn transfer(
    ctx: Ctx,
    method: &str,
    path: &str,
    body: Option<&Uint8Array>,
    progress: Rc<dyn Fn(f64)>,
) -> Result<Finished, String> {
    let unreachable = || HttpError::Unreachable.to_string();
    let url = ctx.url(path).map_err(|e| e.to_string())?;
    let token = ctx
        .auth
        .get_untracked()
        .map(|a| a.token)
        .ok_or_else(|| t(Msg::E2eeSignedOut))?;
    let request = XmlHttpRequest::new().map_err(|_| unreachable())?;
    request
        .open_with_async(method, url.as_str(), true)
        .map_err(|_| unreachable())?;
    // The token travels only in this header: never in a URL, never in storage.
    request
        .set_request_header("authorization", &format!("Bearer {token}"))
        .map_err(|_| unreachable())?;
    request.set_with_credentials(false);
    request.set_timeout(TRANSFER_TIMEOUT_MS);
    let target: web_sys::EventTarget = match body {
        Some(_) => {
            request
                .set_request_header("content-type", "application/octet-stream")
                .map_err(|_| unreachable())?;
            request.set_response_type(XmlHttpRequestResponseType::Text);
            request.upload().map_err(|_| unreachable())?.into()
        }
        None => {
            request.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
            request.clone().into()
        }
    };
    let _progress = EventListener::new(&target, "progress", move |event| {
        if let Some(event) = event.dyn_ref::<web_sys::ProgressEvent>()
            && event.length_computable()
            && event.total() > 0.0
        {
            progress(event.loaded() / event.total());
        }
    });
    let resolver: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
    let done = {
        let resolver = Rc::clone(&resolver);
        js_sys::Promise::new(&mut |resolve, _reject| {
            *resolver.borrow_mut() = Some(resolve);
        })
    };
    let finish = |ok: bool| {
        let resolver = Rc::clone(&resolver);
        move |_: &web_sys::Event| {
            if let Some(resolve) = resolver.borrow_mut().take() {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::from_bool(ok));
            }
        }
    };
    let _load = EventListener::new(&request, "load", finish(true));
    let _error = EventListener::new(&request, "error", finish(false));
    let _abort = EventListener::new(&request, "abort", finish(false));
    let _timeout = EventListener::new(&request, "timeout", finish(false));
    match body {
        Some(body) => request.send_with_opt_buffer_source(Some(body)),
        None => request.send(),
    }
    .map_err(|_| unreachable())?;
    let ok = JsFuture::from(done)
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if !ok {
        return Err(unreachable());
    }
    Ok(Finished {
        status: request.status().map_err(|_| unreachable())?,
        response: request.response().unwrap_or(JsValue::NULL),
    })
}

/// Stores encrypted bytes for `conversation`.
pub async fn upload(
    ctx: Ctx,
    conversation: &Id,
    bytes: &Uint8Array,
    progress: Rc<dyn Fn(f64)>,
) -> Result<AttachmentStored, String> {
    let path = format!("/conversations/{conversation}/attachments");
    let finished = transfer(ctx, "POST", &path, Some(bytes), progress).await?;
    let text = finished.response.as_string().unwrap_or_default();
    if (200..300).contains(&finished.status) {
        return serde_json::from_str(&text).map_err(|_| HttpError::Malformed.to_string());
    }
    Err(
        match serde_json::from_str::<haven_protocol::ApiError>(&text) {
            Ok(api) => HttpError::Api {
                status: finished.status,
                code: api.error.code,
                message: api.error.message,
            }
            .to_string(),
            Err(_) => tf(
                Msg::E2eeUploadFailed,
                &[("status", haven_i18n::Arg::from(u32::from(finished.status)))],
            ),
        },
    )
}

/// Fetches the encrypted bytes of `blob`.
pub async fn download(
    ctx: Ctx,
    blob: &Id,
    progress: Rc<dyn Fn(f64)>,
) -> Result<Uint8Array, String> {
    let finished = transfer(ctx, "GET", &format!("/attachments/{blob}"), None, progress).await?;
    match finished.status {
        200 => Ok(Uint8Array::new(&finished.response)),
        404 => Err(t(Msg::E2eeFileGone)),
        status => Err(tf(
            Msg::E2eeDownloadFailed,
            &[("status", haven_i18n::Arg::from(u32::from(status)))],
        )),
    }
}

/// Hands `plain` to the browser's download as `name`. Always as opaque bytes: what the
/// sender claimed the file is does not make the browser treat it as anything else.
/// Image types shown inline once decrypted: raster formats only (an SVG can carry
/// script, and anything else is saved, never rendered).
pub const VIEWABLE_IMAGES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// A page-local `blob:` URL showing decrypted image bytes, for an image type in
/// [`VIEWABLE_IMAGES`] only.
pub fn image_url(plain: &Uint8Array, mime: &str) -> Result<String, String> {
    if !VIEWABLE_IMAGES.contains(&mime) {
        return Err(t(Msg::E2eeImageNotShown));
    }
    crate::storage::object_url(plain, mime).ok_or_else(|| t(Msg::E2eeImageFailed))
}

pub fn save(plain: &Uint8Array, name: &str) -> Result<(), String> {
    crate::storage::offer_download(plain, name, "application/octet-stream")
        .ok_or_else(|| t(Msg::E2eeFileNotSaved))
}
