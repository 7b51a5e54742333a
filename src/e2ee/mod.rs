//! End-to-end encryption in the browser: the glue between `crates/mls` (the protocol,
//! sans I/O), the server's directory and delivery, and the browser's sealed store.
//!
//! On sign-in of someone who converses, [`start`] unlocks this browser's device (or
//! registers a new one), keeps its KeyPackages topped up, and subscribes it on the link.
//! Every change then runs through the [`messenger`]'s queue; the views read the
//! [`inbox::Inbox`] it publishes and ask for changes with [`submit`].
//!
//! Trust: nothing here sends plaintext anywhere but to the page; what is kept on disk is
//! sealed by [`vault::Vault`], whose key opens only with a secret the server releases
//! to a signed-in session of the device's owner.
//!
//! Errors are `String`s written here, on the page, in the person's language; the worker
//! only ever says a stable [`worker::Failure`], put in words here.

pub mod blob;
pub mod inbox;
pub mod messenger;
pub mod vault;
pub mod worker;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

use gloo_events::EventListener;
use haven_protocol::access::{Action, allowed};
use haven_protocol::identity::Id;
use haven_protocol::messaging::{
    ClaimedKeyPackage, ConversationSummary, DeviceChallenge, DeviceStateKey, KEY_PACKAGE_TARGET,
    KeyPackagePool, RegisteredDevice, TrustAnchor, WaitingDevice, parse_hex,
};
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::context::Ctx;
use crate::i18n::{Msg, t};
use crate::storage::{KeyValue, StoreError};
use crate::transport::https::HttpError;
use inbox::{Inbox, Status};
use messenger::Job;
use vault::Vault;
use worker::{Failure, Reply, Request};

/// The vault record holding the device's whole state.
const STATE: &str = "state";

/// The page's end of the worker: requests out, replies matched back by id.
struct Proxy {
    worker: web_sys::Worker,
    waiting: Rc<RefCell<HashMap<u64, js_sys::Function>>>,
    next: Cell<u64>,
    _replies: EventListener,
    _errors: EventListener,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

impl Proxy {
    /// Starts the worker and waits until it listens.
    async fn spawn() -> Result<Self, String> {
        let cannot = || t(Msg::E2eeWorkerCannotStart);
        let worker = web_sys::Worker::new(worker::SCRIPT).map_err(|_| cannot())?;
        let waiting: Rc<RefCell<HashMap<u64, js_sys::Function>>> = Rc::default();
        // A worker that fails to load or crashes answers nothing more: every caller
        // waiting hears so.
        let errors = {
            let waiting = Rc::clone(&waiting);
            EventListener::new(&worker, "error", move |_| {
                for (_, resolve) in waiting.borrow_mut().drain() {
                    let _ =
                        resolve.call1(&wasm_bindgen::JsValue::NULL, &wasm_bindgen::JsValue::NULL);
                }
            })
        };
        let started = {
            let waiting = Rc::clone(&waiting);
            js_sys::Promise::new(&mut |resolve, _reject| {
                waiting.borrow_mut().insert(0, resolve);
            })
        };
        let replies = {
            let waiting = Rc::clone(&waiting);
            EventListener::new(&worker, "message", move |event| {
                let Some(event) = event.dyn_ref::<web_sys::MessageEvent>() else {
                    return;
                };
                let data = event.data();
                let Some(id) = js_sys::Array::from(&data).get(0).as_f64() else {
                    return;
                };
                let resolve = waiting.borrow_mut().remove(&(id as u64));
                if let Some(resolve) = resolve {
                    let _ = resolve.call1(&wasm_bindgen::JsValue::NULL, &data);
                }
            })
        };
        let data = JsFuture::from(started).await.map_err(|_| cannot())?;
        match worker::decode::<Reply>(&data) {
            Some((_, Reply::Started, _)) => {}
            _ => return Err(cannot()),
        }
        Ok(Self {
            worker,
            waiting,
            next: Cell::new(0),
            _replies: replies,
            _errors: errors,
        })
    }

    /// Sends `request` (with `bytes`) and waits for its reply.
    async fn call(
        &self,
        request: &Request,
        bytes: Option<&[u8]>,
    ) -> Result<(Reply, Option<Vec<u8>>), String> {
        let id = self.next.get() + 1;
        self.next.set(id);
        let message =
            worker::encode(id as f64, request, bytes).ok_or_else(|| t(Msg::E2eeWorkerEncode))?;
        let waiting = Rc::clone(&self.waiting);
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            waiting.borrow_mut().insert(id, resolve);
        });
        self.worker
            .post_message(&message)
            .map_err(|_| t(Msg::E2eeWorkerStopped))?;
        let data = JsFuture::from(promise)
            .await
            .map_err(|_| t(Msg::E2eeWorkerStopped))?;
        let (_, reply, bytes) =
            worker::decode::<Reply>(&data).ok_or_else(|| t(Msg::E2eeWorkerGarbled))?;
        match reply {
            Reply::Failed { failure: why } => Err(failure(why)),
            reply => Ok((reply, bytes)),
        }
    }
}

/// A running messenger: the worker holding its state, the jobs waiting for it, and the
/// vault its state is sealed in.
pub struct Engine {
    proxy: Proxy,
    device: Id,
    queue: RefCell<VecDeque<Job>>,
    running: Cell<bool>,
    /// Fetches of the trust anchor under way: jobs wait for them, so a commit that
    /// removes a just-revoked device is never judged with an old list of revocations.
    holds: Cell<u32>,
    /// How many anchor fetches were started: only the newest one's result is used.
    trust_asked: Cell<u64>,
    /// Conversations this device is adding waiting devices to right now.
    adding: RefCell<BTreeSet<Id>>,
    vault: Vault,
    /// Held as long as this engine runs.
    tab: RefCell<Option<TabLock>>,
}

impl Engine {
    /// The device this messenger runs.
    pub fn device(&self) -> &Id {
        &self.device
    }
}

/// The Web Lock that makes this tab the only one of the browser running a person's
/// device; released when dropped (and by the browser when the page goes).
struct TabLock {
    release: Option<js_sys::Function>,
}

impl Drop for TabLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&wasm_bindgen::JsValue::NULL);
        }
    }
}

/// How long to wait for another tab before saying so (and waiting on).
const OTHER_TAB_MS: u32 = 3_000;

impl TabLock {
    /// Waits for the lock. If another tab holds it, the person is told so, and this tab
    /// takes over once that one closes. A browser without Web Locks goes on without.
    async fn acquire(ctx: Ctx, user: &Id) -> Self {
        use js_sys::Reflect;
        use wasm_bindgen::JsValue;
        let none = Self { release: None };
        let Some(navigator) =
            web_sys::window().and_then(|w| Reflect::get(&w, &JsValue::from_str("navigator")).ok())
        else {
            return none;
        };
        let Some(locks) = Reflect::get(&navigator, &JsValue::from_str("locks"))
            .ok()
            .filter(JsValue::is_object)
        else {
            return none;
        };
        let Some(request) = Reflect::get(&locks, &JsValue::from_str("request"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        else {
            return none;
        };
        let granted: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
        let release: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
        let got = {
            let granted = Rc::clone(&granted);
            js_sys::Promise::new(&mut |resolve, _reject| {
                *granted.borrow_mut() = Some(resolve);
            })
        };
        let callback = {
            let release = Rc::clone(&release);
            wasm_bindgen::closure::Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
                // The lock is held until this promise settles.
                let held = js_sys::Promise::new(&mut |resolve, _reject| {
                    *release.borrow_mut() = Some(resolve);
                });
                if let Some(resolve) = granted.borrow_mut().take() {
                    let _ = resolve.call0(&JsValue::NULL);
                }
                held
            })
        };
        let name = JsValue::from_str(&format!("haven-e2ee/{user}"));
        if request.call2(&locks, &name, &callback).is_err() {
            return none;
        }
        let timer = gloo_timers::future::TimeoutFuture::new(OTHER_TAB_MS);
        let got = JsFuture::from(got);
        let got = match futures::future::select(got, timer).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right((_, got)) => {
                fail(ctx, t(Msg::E2eeOtherTab));
                got.await
            }
        };
        if got.is_err() {
            return none;
        }
        let release = release.borrow_mut().take();
        Self { release }
    }
}

fn fail(ctx: Ctx, message: impl Into<String>) {
    ctx.inbox.set(Inbox {
        status: Status::Failed(message.into()),
        conversations: Vec::new(),
    });
}

/// 128 random bits from the browser's CSPRNG.
pub fn random_id() -> Option<Id> {
    let mut bytes = [0u8; 16];
    web_sys::window()?
        .crypto()
        .ok()?
        .get_random_values_with_u8_array(&mut bytes)
        .ok()?;
    Some(Id::from_bytes(bytes))
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    parse_hex(text, 64 * 1024).map_err(|_| t(Msg::ErrorMalformed))
}

fn said(error: HttpError) -> String {
    error.to_string()
}

/// What the browser's storage refused, in words.
fn stored(error: StoreError) -> String {
    t(match error {
        StoreError::Unavailable => Msg::E2eeStorageUnavailable,
        StoreError::Refused => Msg::E2eeStorageRefused,
    })
}

/// What the worker could not do, in words.
fn failure(failure: Failure) -> String {
    match failure {
        Failure::NotReady => t(Msg::E2eeWorkerNotReady),
        Failure::Certificate => t(Msg::E2eeWorkerCertificate),
        Failure::Seal => t(Msg::E2eeWorkerSeal),
        Failure::Saved => t(Msg::E2eeWorkerSaved),
        Failure::RolledBack => t(Msg::E2eeWorkerRolledBack),
        Failure::Mls(fault) => fault.text(),
    }
}

/// Starts end-to-end encryption for the signed-in person, if their role converses.
pub async fn start(ctx: Ctx) {
    let Some(auth) = ctx.auth.get_untracked() else {
        return;
    };
    if !allowed(auth.info.role, Action::Converse) {
        return;
    }
    ctx.inbox.set(Inbox {
        status: Status::Starting,
        conversations: Vec::new(),
    });
    // One tab at a time runs this browser's device: two would both encrypt with the
    // same keys and overwrite each other's sealed state.
    let tab = TabLock::acquire(ctx, &auth.info.user_id).await;
    if !still_signed_in(ctx, &auth.token) {
        return;
    }
    // Again: waiting for another tab may have said so meanwhile.
    ctx.inbox.set(Inbox {
        status: Status::Starting,
        conversations: Vec::new(),
    });
    let (engine, inbox) = match unlock(ctx, &auth.info.user_id).await {
        Ok((engine, inbox)) => {
            engine.tab.replace(Some(tab));
            (Rc::new(engine), inbox)
        }
        Err(message) => return fail(ctx, message),
    };
    // Signed out (or in as someone else) meanwhile: this engine is not wanted.
    if !still_signed_in(ctx, &auth.token) {
        return;
    }
    ctx.e2ee.set_value(Some(engine.clone()));
    if let Err(message) = top_up(ctx, &engine).await {
        return fail(ctx, message);
    }
    ctx.inbox.set(inbox);
    refresh(ctx).await;
    ctx.link.with_value(|link| {
        if let Some(link) = link {
            link.subscribe(Some(engine.device.clone()));
        }
    });
}

/// Whether the session `token` is still the one signed in here.
fn still_signed_in(ctx: Ctx, token: &str) -> bool {
    ctx.auth
        .with_untracked(|a| a.as_ref().is_some_and(|a| a.token == token))
}

/// Forgets the running messenger (sign-out, automatic logoff): the worker goes, and what
/// it kept stays sealed in the vault.
pub fn stop(ctx: Ctx) {
    ctx.e2ee.set_value(None);
    ctx.link.with_value(|link| {
        if let Some(link) = link {
            link.subscribe(None);
        }
    });
    ctx.inbox.set(Inbox::default());
}

/// How long one step of setting up may take before the person is told which one hangs.
const STEP_TIMEOUT_MS: u32 = 30_000;
/// What is said when the browser's storage, or the worker, does not answer in time.
const STORAGE: Msg = Msg::E2eeStorageTimeout;
const WORKER: Msg = Msg::E2eeWorkerTimeout;

/// `step`, or the error `late` (which names what did not answer in time).
async fn within<T>(
    late: Msg,
    step: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let timer = gloo_timers::future::TimeoutFuture::new(STEP_TIMEOUT_MS);
    let step = std::pin::pin!(step);
    match futures::future::select(step, timer).await {
        futures::future::Either::Left((result, _)) => result,
        futures::future::Either::Right(_) => Err(t(late)),
    }
}

/// The device of this browser for `user`, unlocked, or a new one registered.
async fn unlock(ctx: Ctx, user: &Id) -> Result<(Engine, Inbox), String> {
    let index = within(STORAGE, async {
        KeyValue::open(vault::DATABASE, &[vault::STORE])
            .await
            .map_err(stored)
    })
    .await?;
    let anchor: TrustAnchor = ctx.call("GET", "/mls/trust", None).await.map_err(said)?;
    let proxy = within(WORKER, Proxy::spawn()).await?;
    let index_key = format!("index/{user}");
    let known = within(STORAGE, async {
        index.get(vault::STORE, &index_key).await.map_err(stored)
    })
    .await?
    .and_then(|s| Id::parse(&s).ok());
    if let Some(device) = known
        && let Some((vault, floor)) = within(STORAGE, open_vault(ctx, &device)).await?
        && let Some(sealed) = within(STORAGE, async {
            vault.get(STATE).await.map_err(|e| e.to_string())
        })
        .await?
    {
        let request = Request::Restore {
            device: device.clone(),
            anchor,
            floor,
        };
        let (reply, _) = within(WORKER, proxy.call(&request, Some(&sealed))).await?;
        let Reply::Ready { inbox } = reply else {
            return Err(t(Msg::E2eeWorkerGarbled));
        };
        return Ok((engine(proxy, device, vault), inbox));
    }
    // No device here yet (or it was revoked): register a new one, whose key signs the
    // server's challenge to show that this browser holds it.
    let DeviceChallenge { challenge, .. } = ctx
        .call::<DeviceChallenge>("POST", "/mls/devices/challenge", None)
        .await
        .map_err(said)?;
    let request = Request::New {
        organisation: anchor.organisation.clone(),
        user: user.clone(),
        challenge: challenge.clone(),
    };
    let Reply::Signature { key, signature } = within(WORKER, proxy.call(&request, None)).await?.0
    else {
        return Err(t(Msg::E2eeWorkerGarbled));
    };
    let registered: RegisteredDevice = ctx
        .call(
            "POST",
            "/mls/devices",
            Some(json!({ "signature_key": key, "challenge": challenge, "signature": signature })),
        )
        .await
        .map_err(said)?;
    let (vault, _) = within(STORAGE, open_vault(ctx, &registered.device))
        .await?
        .ok_or_else(|| t(Msg::E2eeDeviceRemoved))?;
    let request = Request::Certify {
        device: registered.device.clone(),
        certificate: registered.certificate,
        anchor,
    };
    let (Reply::Ready { inbox }, Some(sealed)) = within(WORKER, proxy.call(&request, None)).await?
    else {
        return Err(t(Msg::E2eeWorkerGarbled));
    };
    within(STORAGE, async {
        vault.put(STATE, &sealed).await.map_err(|e| e.to_string())?;
        index
            .put(vault::STORE, &index_key, registered.device.as_str())
            .await
            .map_err(stored)
    })
    .await?;
    Ok((engine(proxy, registered.device, vault), inbox))
}

fn engine(proxy: Proxy, device: Id, vault: Vault) -> Engine {
    Engine {
        proxy,
        device,
        queue: RefCell::default(),
        running: Cell::new(false),
        holds: Cell::new(0),
        trust_asked: Cell::new(0),
        adding: RefCell::default(),
        vault,
        tab: RefCell::default(),
    }
}

/// The vault of `device`, or `None` if the server no longer knows the device as ours.
/// The device's vault, with the highest state version the server knows it sent from.
async fn open_vault(ctx: Ctx, device: &Id) -> Result<Option<(Vault, u64)>, String> {
    let secret: DeviceStateKey = match ctx
        .call("GET", &format!("/mls/devices/{device}/state-key"), None)
        .await
    {
        Ok(secret) => secret,
        Err(HttpError::Api {
            status: 404 | 409, ..
        }) => return Ok(None),
        Err(e) => return Err(said(e)),
    };
    let (key, floor) = (unhex(&secret.key)?, secret.version);
    Vault::open(device.as_str(), &key)
        .await
        .map(|vault| Some((vault, floor)))
        .map_err(|e| e.to_string())
}

/// Keeps the directory stocked with this device's KeyPackages, so others can add it.
async fn top_up(ctx: Ctx, engine: &Engine) -> Result<(), String> {
    let path = format!("/mls/devices/{}/key-packages", engine.device);
    let pool: KeyPackagePool = ctx.call("GET", &path, None).await.map_err(said)?;
    let count = KEY_PACKAGE_TARGET.saturating_sub(pool.one_time) as usize;
    if count < (KEY_PACKAGE_TARGET / 2) as usize && pool.last_resort {
        return Ok(());
    }
    let request = Request::KeyPackages {
        count,
        last_resort: !pool.last_resort,
    };
    let (Reply::Packages { list }, Some(sealed)) =
        within(WORKER, engine.proxy.call(&request, None)).await?
    else {
        return Err(t(Msg::E2eeWorkerGarbled));
    };
    // Their private keys are sealed before anyone can claim them.
    engine
        .vault
        .put(STATE, &sealed)
        .await
        .map_err(|e| e.to_string())?;
    let _: KeyPackagePool = ctx
        .call("POST", &path, Some(json!({ "key_packages": list })))
        .await
        .map_err(said)?;
    Ok(())
}

/// Fetches the device's conversations from the server (what it has not processed yet
/// shows as "catching up").
pub async fn refresh(ctx: Ctx) {
    let Some(device) = ctx
        .e2ee
        .with_value(|e| e.as_ref().map(|e| e.device.clone()))
    else {
        return;
    };
    if let Ok(list) = ctx
        .call::<Vec<ConversationSummary>>(
            "GET",
            &format!("/mls/devices/{device}/conversations"),
            None,
        )
        .await
    {
        let waiting: Vec<(Id, Vec<WaitingDevice>)> = list
            .iter()
            .filter(|s| !s.waiting.is_empty())
            .map(|s| (s.id.clone(), s.waiting.clone()))
            .collect();
        submit(ctx, Job::Summaries { list });
        for (conversation, devices) in waiting {
            add_waiting(ctx, conversation, devices).await;
        }
    }
}

/// Adds a member's new devices to a conversation this device is in: claims their
/// KeyPackages and commits the Add; the history follows once the commit lands.
async fn add_waiting(ctx: Ctx, conversation: Id, devices: Vec<WaitingDevice>) {
    let Some(engine) = ctx.e2ee.with_value(Clone::clone) else {
        return;
    };
    let joined = ctx.inbox.with_untracked(|i| {
        i.conversations
            .iter()
            .any(|c| c.id == conversation && c.joined && !c.left)
    });
    if !joined || !engine.adding.borrow_mut().insert(conversation.clone()) {
        return;
    }
    let users: BTreeSet<&Id> = devices.iter().map(|d| &d.user).collect();
    let request = json!({
        "users": users,
        "devices": devices.iter().map(|d| &d.device).collect::<Vec<_>>(),
    });
    let claimed = ctx
        .call::<Vec<ClaimedKeyPackage>>("POST", "/mls/key-packages/claim", Some(request))
        .await;
    engine.adding.borrow_mut().remove(&conversation);
    let Ok(claimed) = claimed else { return };
    let Ok(key_packages) = claimed
        .iter()
        .map(|c| unhex(&c.key_package))
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    if !key_packages.is_empty() {
        submit(
            ctx,
            Job::Add {
                conversation,
                devices: devices.iter().map(|d| d.device.clone()).collect(),
                key_packages,
            },
        );
    }
}

/// How long frames wait for a fresh trust anchor before going on with the one this
/// device has (a fetch that hangs must not hold messages back for good).
const TRUST_WAIT_MS: u32 = 10_000;

/// Fetches the trust anchor again: a device was revoked, or the link came back and one
/// may have been meanwhile. Call it before handing on any frame that arrived after the
/// reason to: the jobs queued from now on wait until the fresh anchor is in. Of several
/// fetches under way, only the newest one's anchor is used.
pub fn refresh_trust(ctx: Ctx) {
    let Some(engine) = ctx.e2ee.with_value(Clone::clone) else {
        return;
    };
    let asked = engine.trust_asked.get() + 1;
    engine.trust_asked.set(asked);
    engine.holds.set(engine.holds.get() + 1);
    let released = Rc::new(Cell::new(false));
    // The timer keeps only a weak reference: after sign-out the worker (and the keys in
    // it) goes at once, not when the timer fires.
    let release = {
        let engine = Rc::downgrade(&engine);
        let released = Rc::clone(&released);
        move || {
            if released.replace(true) {
                return;
            }
            let Some(engine) = engine.upgrade() else {
                return;
            };
            engine.holds.set(engine.holds.get().saturating_sub(1));
            if engine.holds.get() == 0 && !engine.running.replace(true) {
                leptos::task::spawn_local(drain(ctx, engine));
            }
        }
    };
    gloo_timers::callback::Timeout::new(TRUST_WAIT_MS, release.clone()).forget();
    leptos::task::spawn_local(async move {
        let anchor = ctx.call::<TrustAnchor>("GET", "/mls/trust", None).await;
        if let Ok(anchor) = anchor
            && engine.trust_asked.get() == asked
        {
            if released.get() {
                // Too late to go first: it still applies from here on.
                engine.queue.borrow_mut().push_back(Job::Trust { anchor });
            } else {
                // Ahead of every frame that arrived while it was being fetched.
                engine.queue.borrow_mut().push_front(Job::Trust { anchor });
            }
        }
        release();
        if !engine.running.replace(true) {
            leptos::task::spawn_local(drain(ctx, engine));
        }
    });
}

/// Queues a job for the running messenger; ignored when none runs.
pub fn submit(ctx: Ctx, job: Job) {
    let Some(engine) = ctx.e2ee.with_value(Clone::clone) else {
        return;
    };
    engine.queue.borrow_mut().push_back(job);
    if engine.holds.get() == 0 && !engine.running.replace(true) {
        leptos::task::spawn_local(drain(ctx, engine));
    }
}

/// Runs queued jobs in batches: the worker changes the state, the page seals it, and
/// only then do the batch's frames go to the server.
async fn drain(ctx: Ctx, engine: Rc<Engine>) {
    loop {
        if engine.holds.get() > 0 {
            // `refresh_trust` starts again once the anchor is in.
            engine.running.set(false);
            return;
        }
        let jobs: Vec<Job> = engine.queue.borrow_mut().drain(..).collect();
        if jobs.is_empty() {
            engine.running.set(false);
            return;
        }
        let answer = engine.proxy.call(&Request::Jobs { jobs }, None).await;
        let current = ctx
            .e2ee
            .with_value(|e| e.as_ref().is_some_and(|e| Rc::ptr_eq(e, &engine)));
        if !current {
            return;
        }
        let (frames, inbox, handovers, offered, sealed, visit, refresh_list) = match answer {
            // A sealed state comes exactly when something kept changed.
            Ok((
                Reply::Effects {
                    frames,
                    inbox,
                    handovers,
                    offered,
                    unchanged,
                    visit,
                    refresh,
                },
                sealed,
            )) if sealed.is_some() != unchanged => {
                (frames, inbox, handovers, offered, sealed, visit, refresh)
            }
            Ok(_) => {
                fail(ctx, t(Msg::E2eeWorkerGarbledReload));
                continue;
            }
            Err(message) => {
                fail(ctx, message);
                continue;
            }
        };
        if let Some(sealed) = sealed
            && engine.vault.put(STATE, &sealed).await.is_err()
        {
            fail(ctx, t(Msg::E2eeSaveFailed));
            continue;
        }
        ctx.link.with_value(|link| {
            if let Some(link) = link {
                for frame in &frames {
                    link.send_text(frame);
                }
            }
        });
        crate::visit::host::forward(visit);
        ctx.inbox.set(inbox);
        if refresh_list {
            leptos::task::spawn_local(refresh(ctx));
        }
        for handover in handovers {
            leptos::task::spawn_local(hand_over(ctx, handover));
        }
        for offer in offered {
            leptos::task::spawn_local(take_history(ctx, offer));
        }
    }
}

/// Waits before each further attempt at a transfer that failed (a dropped link, a
/// server restart): about three minutes in all.
const RETRY_AFTER_MS: [u32; 4] = [2_000, 10_000, 30_000, 120_000];

/// Runs `attempt` until it succeeds, waiting between tries, for as long as this
/// session's secure messaging runs. `None` if every try failed or it stopped.
async fn retrying<T, F, Fut>(ctx: Ctx, mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let running = || ctx.e2ee.with_value(Option::is_some);
    for wait in std::iter::once(0).chain(RETRY_AFTER_MS) {
        if wait > 0 {
            gloo_timers::future::TimeoutFuture::new(wait).await;
        }
        if !running() {
            return None;
        }
        if let Ok(value) = attempt().await {
            return Some(value);
        }
    }
    None
}

/// Encrypts the history for devices just added, stores it, and sends its key inside
/// the conversation, trying again for a while if the upload fails. If it never gets
/// through, the newcomers keep showing that history will come, and the next member
/// device that adds someone hands it over again.
async fn hand_over(ctx: Ctx, handover: messenger::Handover) {
    let plain = js_sys::Uint8Array::from(handover.archive.as_bytes());
    let conversation = handover.conversation.clone();
    let stored = retrying(ctx, || {
        let plain = plain.clone();
        let conversation = conversation.clone();
        async move {
            let sealed = blob::seal(&plain, blob::Kind::History).await?;
            let stored = blob::upload(ctx, &conversation, &sealed.bytes, Rc::new(|_| {})).await?;
            Ok::<_, String>((stored.id, sealed.key))
        }
    })
    .await;
    if let Some((blob, key)) = stored {
        submit(
            ctx,
            Job::Send {
                conversation: handover.conversation,
                content: haven_mls::Content::History { blob, key },
            },
        );
    }
}

/// Fetches and opens a history archive offered to this device, for the messenger to
/// merge, trying the download again for a while if it fails.
async fn take_history(ctx: Ctx, offer: messenger::Offered) {
    let Some(sealed) = retrying(ctx, || blob::download(ctx, &offer.blob, Rc::new(|_| {}))).await
    else {
        return;
    };
    // An archive that does not open will not open on a second try either.
    let Ok(plain) = blob::open(&sealed, &offer.key, blob::Kind::History).await else {
        return;
    };
    if let Ok(archive) = String::from_utf8(plain.to_vec()) {
        submit(
            ctx,
            Job::Import {
                conversation: offer.conversation,
                archive,
                by: offer.by,
            },
        );
    }
}

/// Starts a conversation about `patient`'s care with the patient (each of their
/// devices is added) and, for a care-team conversation, every clinician of the care team.
pub async fn start_conversation(ctx: Ctx, patient: Id, care_team: bool) -> Result<Id, String> {
    let Some(device) = ctx
        .e2ee
        .with_value(|e| e.as_ref().map(|e| e.device.clone()))
    else {
        return Err(t(Msg::E2eeNotReady));
    };
    let mut claimed: Vec<ClaimedKeyPackage> = ctx
        .call(
            "POST",
            "/mls/key-packages/claim",
            Some(json!({ "users": [&patient] })),
        )
        .await
        .map_err(said)?;
    if claimed.is_empty() {
        return Err(t(Msg::E2eeNoPatientDevice));
    }
    let summary: ConversationSummary = ctx
        .call(
            "POST",
            "/conversations",
            Some(json!({ "patient": patient, "device": device, "care_team": care_team })),
        )
        .await
        .map_err(said)?;
    // The care team's devices (and one's own other browsers), as the server lists them
    // for the new conversation; the patient's were claimed above.
    let others: Vec<&WaitingDevice> = summary
        .waiting
        .iter()
        .filter(|w| w.user != patient)
        .collect();
    if care_team && !others.is_empty() {
        let users: BTreeSet<&Id> = others.iter().map(|w| &w.user).collect();
        let devices: Vec<&Id> = others.iter().map(|w| &w.device).collect();
        // Anyone missing now is added later, when the list shows them waiting again.
        if let Ok(more) = ctx
            .call::<Vec<ClaimedKeyPackage>>(
                "POST",
                "/mls/key-packages/claim",
                Some(json!({ "users": users, "devices": devices })),
            )
            .await
        {
            claimed.extend(more);
        }
    }
    let key_packages = claimed
        .iter()
        .map(|c| unhex(&c.key_package))
        .collect::<Result<Vec<_>, _>>()?;
    let id = summary.id.clone();
    submit(
        ctx,
        Job::Create {
            summary,
            key_packages,
        },
    );
    Ok(id)
}
