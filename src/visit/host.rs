//! The app's side of the visit module: when a visit view opens, it loads the module (its
//! own WebAssembly, outside the page-load budget, like the encryption worker), gives it a
//! place on the page and one end of a `MessageChannel`, and from then on carries the
//! visit groups and their signalling between the module and the secure messaging.
//!
//! Trust: the module gets the session's token, as any view of this page holds it, and
//! sends nothing into a conversation but signalling (checked here).

use std::cell::RefCell;

use gloo_events::EventListener;
use leptos::prelude::*;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use serde_json::json;

#[cfg(doc)]
use super::bridge::ToVisit;
use crate::context::{Ctx, use_ctx};
use crate::e2ee::messenger::Job;

/// Where trunk puts the module (its files are not content-hashed, like the worker's).
const SCRIPT: &str = "/haven-visit.js";
const WASM: &str = "/haven-visit_bg.wasm";

#[wasm_bindgen]
extern "C" {
    /// The module's loader: the global its script defines (wasm-bindgen's no-modules
    /// form); fails until the script has run.
    #[wasm_bindgen(catch, js_name = wasm_bindgen)]
    fn init_module(path: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = wasm_bindgen, js_name = mount)]
    fn mount_module(
        place: &web_sys::HtmlElement,
        port: &web_sys::MessagePort,
    ) -> Result<(), JsValue>;
}

/// The open channel to the module, while a visit view shows.
struct Open {
    port: web_sys::MessagePort,
    _listener: EventListener,
}

thread_local! {
    static OPEN: RefCell<Option<Open>> = const { RefCell::new(None) };
    /// The module's script ran and its WebAssembly started (once per page).
    static LOADED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The encryption worker's last word on the visit groups, for a view opened later.
    static GROUPS: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn post_text(text: &str) {
    OPEN.with(|open| {
        if let Some(open) = open.borrow().as_ref() {
            let _ = open.port.post_message(&JsValue::from_str(text));
        }
    });
}

/// A [`ToVisit`] written as JSON here (the page has the writer of JSON values anyway).
fn post(message: serde_json::Value) {
    post_text(&message.to_string());
}

/// After each batch of the secure messaging: what the encryption worker wrote for the
/// module (the visit groups when they changed, their signalling), handed on unread.
pub fn forward(messages: Vec<String>) {
    for text in messages {
        if text.starts_with(GROUPS_PREFIX) {
            GROUPS.with(|g| *g.borrow_mut() = Some(text.clone()));
        }
        post_text(&text);
    }
}

/// How a [`ToVisit::Groups`] message starts.
pub(crate) const GROUPS_PREFIX: &str = "{\"type\":\"groups\"";

/// Runs the module's script and starts its WebAssembly, once.
async fn load() -> Result<(), JsValue> {
    if LOADED.with(std::cell::Cell::get) {
        return Ok(());
    }
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or(JsValue::NULL)?;
    // A second view opened while the first loads finds the script there: it waits for
    // the same start.
    if document.get_element_by_id("haven-visit").is_none() {
        let script: web_sys::HtmlScriptElement = document.create_element("script")?.dyn_into()?;
        script.set_id("haven-visit");
        script.set_src(SCRIPT);
        let ran = js_sys::Promise::new(&mut |resolve, reject| {
            script.set_onload(Some(&resolve));
            script.set_onerror(Some(&reject));
        });
        document
            .head()
            .ok_or(JsValue::NULL)?
            .append_child(&script)?;
        JsFuture::from(ran).await?;
        JsFuture::from(init_module(WASM)?).await?;
        LOADED.with(|l| l.set(true));
        return Ok(());
    }
    for _ in 0..600 {
        if LOADED.with(std::cell::Cell::get) {
            return Ok(());
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    Err(JsValue::NULL)
}

/// What the module says goes to the encryption worker, unread.
fn take(ctx: Ctx, event: &web_sys::Event) {
    if let Some(message) = event
        .dyn_ref::<web_sys::MessageEvent>()
        .and_then(|e| e.data().as_string())
    {
        crate::e2ee::submit(ctx, Job::Visit { message });
    }
}

/// Opens the channel and hands the module its place.
fn connect(ctx: Ctx, place: &web_sys::HtmlElement) -> Result<(), JsValue> {
    let channel = web_sys::MessageChannel::new()?;
    let port = channel.port1();
    let listener = EventListener::new(&port, "message", move |event| take(ctx, event));
    port.start();
    OPEN.with(|open| {
        *open.borrow_mut() = Some(Open {
            port,
            _listener: listener,
        });
    });
    mount_module(place, &channel.port2())?;
    let Some(auth) = ctx.auth.get_untracked() else {
        return Err(JsValue::NULL);
    };
    let device = ctx
        .e2ee
        .with_value(|e| e.as_ref().map(|e| e.device().clone()));
    post(json!({
        "type": "start",
        "token": auth.token,
        "device": device,
        "lang": crate::i18n::lang_untracked().tag(),
    }));
    if let Some(groups) = GROUPS.with(|g| g.borrow().clone()) {
        post_text(&groups);
    }
    Ok(())
}

/// What a visit view shows: the module, once loaded, in its place.
#[component]
pub fn VisitHost() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let place = NodeRef::<leptos::html::Div>::new();
    // None: loading; Some(false): it could not be loaded.
    let ready = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        let Some(element) = place.get() else {
            return;
        };
        leptos::task::spawn_local(async move {
            let element: web_sys::HtmlElement = element.into();
            let started = match load().await {
                Ok(()) => connect(ctx, &element).is_ok(),
                Err(_) => false,
            };
            ready.set(Some(started));
        });
    });
    // Secure messaging may get ready after the view opened.
    Effect::new(move |_| {
        ctx.inbox.with(|i| i.status.clone());
        let device = ctx
            .e2ee
            .with_value(|e| e.as_ref().map(|e| e.device().clone()));
        post(json!({ "type": "device", "device": device }));
    });
    Effect::new(move |_| {
        let tag = crate::i18n::lang().tag();
        post(json!({ "type": "lang", "tag": tag }));
    });
    Effect::new(move |_| {
        use haven_protocol::ws::Topic;
        if let Some(Topic::Visits | Topic::Conversations) = ctx.changed.get() {
            post(json!({ "type": "changed" }));
        }
    });
    on_cleanup(|| {
        post(json!({ "type": "stop" }));
        OPEN.with(|open| open.borrow_mut().take());
    });
    view! {
        {move || match ready.get() {
            None => Some(view! { <p class="loading" role="status">{crate::tr!(Loading)}</p> }.into_any()),
            Some(false) => Some(view! { <p class="error" role="alert">{crate::tr!(ErrorVisitModule)}</p> }.into_any()),
            Some(true) => None,
        }}
        <div class="visit-host" node_ref=place></div>
    }
    .into_any()
}
