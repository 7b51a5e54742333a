//! The MLS client runs in a dedicated Web Worker (`src/bin/e2ee-worker.rs`), loaded only
//! after someone who converses signs in: openmls and its crypto stay out of the bundle
//! every visitor downloads, and no MLS operation ever blocks the page.
//!
//! The worker is pure computation: it holds the [`Messenger`] and answers [`Request`]s
//! with [`Reply`]s, handing back the sealed-state bytes to store. The page does all I/O
//! (HTTPS, the WebSocket, the vault). Messages are `[id, json, bytes?]` arrays.
//!
//! The worker does not know the person's language: what goes wrong is said as a stable
//! [`Failure`], which the page puts in words.

use std::cell::RefCell;
use std::rc::Rc;

use haven_mls::{Device, Trust};
use haven_protocol::identity::Id;
use haven_protocol::messaging::{
    RegistrationChallenge, RegistrationSignature, TrustAnchor, parse_hex, to_hex,
};
use js_sys::{Array, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::inbox::{Fault, Inbox};
use super::messenger::{self, Handover, Job, Messenger, Offered};

/// Where trunk puts the worker's loader (workers are not content-hashed).
pub const SCRIPT: &str = "/e2ee-worker_loader.js";

/// Externally tagged: read without buffering (the page and the worker come from one
/// build, so no one else reads this form).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// A fresh device: answered with its signature key and its signature over the
    /// server's registration challenge for this person, to register.
    New {
        organisation: Id,
        user: Id,
        challenge: RegistrationChallenge,
    },
    /// The server's certificate for the fresh device: answered with its first state.
    Certify {
        device: Id,
        certificate: String,
        anchor: TrustAnchor,
    },
    /// The device's sealed state comes with this request.
    Restore {
        device: Id,
        anchor: TrustAnchor,
        /// The highest state version the server knows this device sent from: an older
        /// sealed state was put back, and is not opened.
        #[serde(default)]
        floor: u64,
    },
    KeyPackages {
        count: usize,
        last_resort: bool,
    },
    Jobs {
        jobs: Vec<Job>,
    },
}

/// Externally tagged: read without buffering (the page and the worker come from one
/// build, so no one else reads this form).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The worker is listening (sent once, unasked, with id 0).
    Started,
    Signature {
        key: String,
        signature: RegistrationSignature,
    },
    Ready {
        inbox: Inbox,
    },
    /// Hex; sealed state to store before publishing them comes with the reply.
    Packages {
        list: Vec<String>,
    },
    Effects {
        /// Each frame already written as the JSON the server reads: the page only
        /// forwards them, and so carries no parser for them.
        frames: Vec<String>,
        inbox: Inbox,
        #[serde(default)]
        handovers: Vec<Handover>,
        #[serde(default)]
        offered: Vec<Offered>,
        /// Nothing kept changed: no sealed state comes with it, and none is to be saved.
        #[serde(default)]
        unchanged: bool,
        /// Messages for the visit module ([`crate::visit::bridge::ToVisit`] as JSON: its
        /// groups when they changed, and their signalling), which the page hands on
        /// unread.
        #[serde(default)]
        visit: Vec<String>,
        /// Fetch the conversations again (one joined is not listed yet).
        #[serde(default)]
        refresh: bool,
    },
    Failed {
        failure: Failure,
    },
}

/// Why the worker could not do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// No device is set up in the worker (yet).
    NotReady,
    /// The server's certificate for the new device cannot be read.
    Certificate,
    /// The device's state could not be sealed.
    Seal,
    /// The saved conversations cannot be read.
    Saved,
    /// The saved conversations are older than a state the device already sent from.
    RolledBack,
    /// The encryption layer refused.
    Mls(Fault),
}

impl From<haven_mls::Error> for Failure {
    fn from(error: haven_mls::Error) -> Self {
        Self::Mls(Fault::from(&error))
    }
}

impl From<haven_mls::CertificateError> for Failure {
    fn from(error: haven_mls::CertificateError) -> Self {
        Self::Mls(Fault::from(&error))
    }
}

#[derive(Default)]
pub(crate) struct State {
    fresh: Option<Device>,
    messenger: Option<Messenger>,
    /// The visit groups last told to the page.
    groups: Vec<crate::visit::bridge::Group>,
}

fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

fn failed(failure: impl Into<Failure>) -> (Reply, Option<Vec<u8>>) {
    (
        Reply::Failed {
            failure: failure.into(),
        },
        None,
    )
}

pub(crate) fn handle(
    state: &mut State,
    request: Request,
    bytes: Option<Vec<u8>>,
) -> (Reply, Option<Vec<u8>>) {
    match request {
        Request::New {
            organisation,
            user,
            challenge,
        } => {
            let signed = Device::new().and_then(|device| {
                let signature = device.sign_registration(&organisation, &user, &challenge)?;
                Ok((device, signature))
            });
            match signed {
                Ok((device, signature)) => {
                    let key = to_hex(device.signature_key());
                    state.fresh = Some(device);
                    (Reply::Signature { key, signature }, None)
                }
                Err(e) => failed(e),
            }
        }
        Request::Certify {
            device,
            certificate,
            anchor,
        } => {
            let Some(mut fresh) = state.fresh.take() else {
                return failed(Failure::NotReady);
            };
            let trust = match Trust::from_anchor(&anchor) {
                Ok(trust) => trust,
                Err(e) => return failed(e),
            };
            let Ok(certificate) = parse_hex(&certificate, 64 * 1024) else {
                return failed(Failure::Certificate);
            };
            if let Err(e) = fresh.certify(&certificate, &trust, now()) {
                return failed(e);
            }
            let Some(sealed) = messenger::seal_new(&fresh) else {
                return failed(Failure::Seal);
            };
            match Messenger::new(device, fresh, trust, None) {
                Some(m) => {
                    let inbox = m.inbox();
                    state.messenger = Some(m);
                    (Reply::Ready { inbox }, Some(sealed))
                }
                None => failed(Failure::NotReady),
            }
        }
        Request::Restore {
            device,
            anchor,
            floor,
        } => {
            let trust = match Trust::from_anchor(&anchor) {
                Ok(trust) => trust,
                Err(e) => return failed(e),
            };
            let restored = bytes
                .as_deref()
                .and_then(Messenger::unseal)
                .and_then(|(d, saved)| Messenger::new(device, d, trust, Some(&saved)));
            match restored {
                Some(m) if m.version() < floor => failed(Failure::RolledBack),
                Some(m) => {
                    let inbox = m.inbox();
                    state.messenger = Some(m);
                    (Reply::Ready { inbox }, None)
                }
                None => failed(Failure::Saved),
            }
        }
        Request::KeyPackages { count, last_resort } => {
            let Some(m) = state.messenger.as_mut() else {
                return failed(Failure::NotReady);
            };
            let mut list = match m.key_packages(count) {
                Ok(list) => list,
                Err(e) => return failed(e),
            };
            if last_resort {
                match m.last_resort() {
                    Ok(p) => list.push(p),
                    Err(e) => return failed(e),
                }
            }
            let list = list.iter().map(|p| to_hex(p)).collect();
            (Reply::Packages { list }, m.seal())
        }
        Request::Jobs { jobs } => {
            let Some(m) = state.messenger.as_mut() else {
                return failed(Failure::NotReady);
            };
            let effects = m.run(jobs);
            let inbox = m.inbox();
            let mut visit = Vec::new();
            let groups = crate::visit::bridge::groups(&inbox);
            if groups != state.groups {
                state.groups = groups.clone();
                let message = crate::visit::bridge::ToVisit::Groups { groups };
                visit.extend(serde_json::to_string(&message).ok());
            }
            if !effects.signals.is_empty() {
                let message = crate::visit::bridge::ToVisit::Signals {
                    signals: effects.signals,
                };
                visit.extend(serde_json::to_string(&message).ok());
            }
            (
                Reply::Effects {
                    frames: effects
                        .frames
                        .iter()
                        .filter_map(|f| serde_json::to_string(f).ok())
                        .collect(),
                    inbox,
                    handovers: effects.handovers,
                    offered: effects.offered,
                    unchanged: effects.unchanged,
                    visit,
                    refresh: effects.refresh,
                },
                effects.state,
            )
        }
    }
}

/// Encodes one message: `[id, json, bytes?]`.
pub fn encode<T: Serialize>(id: f64, body: &T, bytes: Option<&[u8]>) -> Option<Array> {
    let json = serde_json::to_string(body).ok()?;
    let message = Array::new();
    message.push(&id.into());
    message.push(&json.into());
    if let Some(bytes) = bytes {
        message.push(&Uint8Array::from(bytes).into());
    }
    Some(message)
}

/// Decodes one message.
pub fn decode<T: for<'de> Deserialize<'de>>(
    data: &wasm_bindgen::JsValue,
) -> Option<(f64, T, Option<Vec<u8>>)> {
    let message = data.dyn_ref::<Array>()?;
    let id = message.get(0).as_f64()?;
    let body = serde_json::from_str(&message.get(1).as_string()?).ok()?;
    let bytes = message
        .get(2)
        .dyn_into::<Uint8Array>()
        .ok()
        .map(|b| b.to_vec());
    Some((id, body, bytes))
}

/// The worker's entry point: answers every request, in order.
pub fn serve() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let state = Rc::new(RefCell::new(State::default()));
    let reply_to = scope.clone();
    let handler =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some((id, request, bytes)) = decode::<Request>(&event.data()) else {
                return;
            };
            let Ok(mut state) = state.try_borrow_mut() else {
                return;
            };
            let (reply, sealed) = handle(&mut state, request, bytes);
            if let Some(message) = encode(id, &reply, sealed.as_deref()) {
                let _ = reply_to.post_message(&message);
            }
        });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    handler.forget();
    // Messages sent before this point were dropped: the page waits for this one.
    if let Some(message) = encode(0.0, &Reply::Started, None) {
        let _ = scope.post_message(&message);
    }
}
