//! The visit module's side of the bridge (it runs in `src/bin/visit.rs`'s WebAssembly,
//! not the page's): takes the app's messages, mounts the visit views in the place the
//! app gave, and keeps the call going between them.
//!
//! Signalling can come a moment before this device knows its group is the visit's (the
//! Welcome and the first offer arrive together): it is held, a bounded amount, until the
//! call for its group starts.

use std::cell::RefCell;
use std::collections::VecDeque;

use gloo_events::EventListener;
use haven_protocol::identity::Id;
use leptos::prelude::*;
use wasm_bindgen::{JsCast as _, JsValue};

use super::bridge::{FromVisit, Group, ToVisit};
use super::call::Call;
use crate::e2ee::messenger::Signalled;

/// Signalling held for a call not started yet, at most.
const HELD: usize = 256;

/// What the app told the module, for the views.
#[derive(Clone, Copy)]
pub struct Module {
    pub groups: RwSignal<Vec<Group>>,
    pub device: RwSignal<Option<Id>>,
    /// Bumped when the server says the visits changed.
    pub changed: RwSignal<u64>,
}

struct Running {
    port: web_sys::MessagePort,
    _listener: EventListener,
    mounted: Option<leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>>,
    module: Option<Module>,
    call: Option<Call>,
    held: VecDeque<Signalled>,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

/// Tells the app.
pub fn tell(message: &FromVisit) {
    let Ok(text) = serde_json::to_string(message) else {
        return;
    };
    RUNNING.with(|r| {
        if let Some(r) = r.borrow().as_ref() {
            let _ = r.port.post_message(&JsValue::from_str(&text));
        }
    });
}

/// The call now running (one at a time), for the views.
pub fn set_call(call: Option<Call>) {
    let held: Vec<Signalled> = RUNNING.with(|r| {
        let mut r = r.borrow_mut();
        let Some(r) = r.as_mut() else {
            return Vec::new();
        };
        r.call = call.clone();
        let Some(call) = &call else {
            return Vec::new();
        };
        let (mine, rest): (Vec<_>, Vec<_>) = r
            .held
            .drain(..)
            .partition(|s| &s.conversation == call.conversation());
        r.held = rest.into();
        mine
    });
    if let Some(call) = call {
        for signal in held {
            call.received(signal.from, signal.content);
        }
    }
}

/// The module's own styles (`style/haven-visit.css`, copied beside it by trunk).
const STYLES: &str = "/haven-visit.css";

/// Links the module's styles into the page, once.
fn link_styles() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("haven-visit-css").is_some() {
        return;
    }
    if let (Ok(link), Some(head)) = (document.create_element("link"), document.head()) {
        let _ = link.set_attribute("id", "haven-visit-css");
        let _ = link.set_attribute("rel", "stylesheet");
        let _ = link.set_attribute("href", STYLES);
        let _ = head.append_child(&link);
    }
}

/// The entry point: the app hands its place and its end of the channel.
pub fn mount(place: web_sys::HtmlElement, port: web_sys::MessagePort) {
    // Tasks run from the first message on, before the views mount.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    stop();
    link_styles();
    let listener = {
        let place = place.clone();
        EventListener::new(&port, "message", move |event| {
            let Some(text) = event
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|e| e.data().as_string())
            else {
                return;
            };
            if let Ok(message) = serde_json::from_str::<ToVisit>(&text) {
                take(&place, message);
            }
        })
    };
    port.start();
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(Running {
            port,
            _listener: listener,
            mounted: None,
            module: None,
            call: None,
            held: VecDeque::new(),
        });
    });
}

/// Ends the call and takes the views down.
fn stop() {
    let running = RUNNING.with(|r| r.borrow_mut().take());
    if let Some(mut running) = running {
        running.call = None;
        drop(running.mounted.take());
    }
}

fn module() -> Option<Module> {
    RUNNING.with(|r| r.borrow().as_ref().and_then(|r| r.module))
}

fn take(place: &web_sys::HtmlElement, message: ToVisit) {
    match message {
        ToVisit::Start {
            token,
            device,
            lang,
        } => {
            let place = place.clone();
            leptos::task::spawn_local(async move {
                if let Some(lang) = crate::i18n::Lang::parse(&lang) {
                    crate::i18n::follow(lang);
                }
                let Ok(config) = crate::boot::load_config().await else {
                    return;
                };
                // Who is signed in, as the server says for this session.
                let Ok(url) = config.api_origin.with_path("/api/session") else {
                    return;
                };
                let Ok(session) = crate::transport::https::get_text(&url, Some(&token))
                    .await
                    .and_then(|text| {
                        crate::transport::https::parse::<haven_protocol::identity::SessionInfo>(
                            &text,
                        )
                    })
                else {
                    return;
                };
                let mounted = leptos::mount::mount_to(place, move || {
                    let module = Module {
                        groups: RwSignal::new(Vec::new()),
                        device: RwSignal::new(device),
                        changed: RwSignal::new(0),
                    };
                    RUNNING.with(|r| {
                        if let Some(r) = r.borrow_mut().as_mut() {
                            r.module = Some(module);
                        }
                    });
                    let ctx = crate::context::Ctx {
                        config: StoredValue::new(config),
                        auth: RwSignal::new(Some(crate::session::Auth {
                            token,
                            info: session,
                        })),
                        notice: RwSignal::new(None),
                        route: RwSignal::new(crate::context::current_route()),
                        changed: RwSignal::new(None),
                        link: StoredValue::new_local(None),
                        e2ee: StoredValue::new_local(None),
                        inbox: RwSignal::new(Default::default()),
                    };
                    provide_context(ctx);
                    provide_context(module);
                    view! { <super::views::VisitApp/> }.into_any()
                });
                RUNNING.with(|r| {
                    if let Some(r) = r.borrow_mut().as_mut() {
                        r.mounted = Some(mounted);
                    }
                });
            });
        }
        ToVisit::Lang { tag } => {
            if let Some(lang) = crate::i18n::Lang::parse(&tag) {
                crate::i18n::follow(lang);
            }
        }
        ToVisit::Device { device } => {
            if let Some(module) = module()
                && module.device.get_untracked() != device
            {
                module.device.set(device);
            }
        }
        ToVisit::Groups { groups } => {
            if let Some(module) = module() {
                module.groups.set(groups);
            }
        }
        ToVisit::Signals { signals } => {
            let call = RUNNING.with(|r| r.borrow().as_ref().and_then(|r| r.call.clone()));
            for signal in signals {
                match &call {
                    Some(call) if &signal.conversation == call.conversation() => {
                        call.received(signal.from, signal.content);
                    }
                    _ => RUNNING.with(|r| {
                        if let Some(r) = r.borrow_mut().as_mut() {
                            if r.held.len() >= HELD {
                                r.held.pop_front();
                            }
                            r.held.push_back(signal);
                        }
                    }),
                }
            }
        }
        ToVisit::Changed => {
            if let Some(module) = module() {
                module.changed.update(|n| *n += 1);
            }
        }
        ToVisit::Stop => stop(),
    }
}
