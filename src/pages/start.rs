//! The brand's start page and the frame around everything once the configuration is
//! safe: who this service is, whether the secure link is up, what this browser can and
//! cannot do, and then sign-in or the signed-in app.

use gloo_events::EventListener;
use haven_protocol::RuntimeConfig;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::capabilities::Capability;
use crate::components::link_status::LinkStatus;
use crate::context::{Ctx, current_route};
use crate::pages::shell::Shell;
use crate::pages::signin::SignIn;
use crate::session::SignedOut;
use crate::transport::wss::{Link, LinkEvent, LinkState};

/// Marks the moment the app is usable, for `cargo xtask bench`.
fn mark_interactive() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance())
        && performance
            .get_entries_by_name("haven-interactive")
            .length()
            == 0
    {
        let _ = performance.mark("haven-interactive");
    }
}

fn capabilities() -> impl IntoView {
    let items = Capability::ALL
        .iter()
        .map(|&capability| {
            let supported = capability.supported();
            let detail = move || {
                if supported {
                    crate::i18n::t(crate::i18n::Msg::CapabilityAvailable)
                } else {
                    capability.missing_message()
                }
            };
            view! {
                <li data-capability=capability.id() data-supported=supported.to_string()>
                    <strong>{move || capability.label()}</strong>
                    <span>{detail}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card capabilities" aria-labelledby="capabilities-title">
            <h2 id="capabilities-title">{crate::tr!(ThisBrowser)}</h2>
            <ul>{items}</ul>
        </section>
    }
}

#[component]
pub fn StartPage(config: RuntimeConfig) -> impl IntoView {
    let name = config.brand.name.clone();
    let logo = config.brand.logo.clone();
    let link_state = RwSignal::new(LinkState::Connecting);
    let ctx = Ctx {
        config: StoredValue::new(config.clone()),
        auth: RwSignal::new(None),
        notice: RwSignal::new(None),
        route: RwSignal::new(current_route()),
        changed: RwSignal::new(None),
        link: StoredValue::new_local(None),
        e2ee: StoredValue::new_local(None),
        inbox: RwSignal::new(Default::default()),
    };
    provide_context(ctx);
    let link = Link::open(
        config.ws_url.clone(),
        move |state| {
            if state == LinkState::Open {
                mark_interactive();
            }
            link_state.set(state);
        },
        move |event| match event {
            // Deferred: the link is busy delivering this event.
            LinkEvent::SessionEnded(reason) => leptos::task::spawn_local(async move {
                if ctx.auth.get_untracked().is_some() {
                    ctx.wipe(SignedOut::Ended(reason));
                }
            }),
            LinkEvent::Changed(topic) => {
                // At once, so the frames after this one wait for the fresh anchor.
                match topic {
                    haven_protocol::ws::Topic::Devices => crate::e2ee::refresh_trust(ctx),
                    haven_protocol::ws::Topic::Conversations => {
                        leptos::task::spawn_local(crate::e2ee::refresh(ctx));
                    }
                    haven_protocol::ws::Topic::BreakGlass
                    | haven_protocol::ws::Topic::CareTeam
                    | haven_protocol::ws::Topic::Visits => {}
                }
                leptos::task::spawn_local(async move { ctx.changed.set(Some(topic)) });
            }
            // Subscribed again after a reconnect: devices may have been revoked meanwhile.
            LinkEvent::Resubscribing => crate::e2ee::refresh_trust(ctx),
            LinkEvent::Delivery(text) => {
                crate::e2ee::submit(ctx, crate::e2ee::messenger::Job::Received { text });
            }
        },
    );
    ctx.link.set_value(Some(link));
    let popstate = web_sys::window()
        .map(|w| EventListener::new(&w, "popstate", move |_| ctx.route.set(current_route())));
    let popstate = StoredValue::new_local(popstate);
    // Leaving the page (or its being kept in the back/forward cache) ends the encryption
    // worker and closes the sealed store; coming back from that cache starts them again.
    let pagehide = web_sys::window()
        .map(|w| EventListener::new(&w, "pagehide", move |_| crate::e2ee::stop(ctx)));
    let pageshow = web_sys::window().map(|w| {
        EventListener::new(&w, "pageshow", move |event| {
            let restored = event
                .dyn_ref::<web_sys::PageTransitionEvent>()
                .is_some_and(web_sys::PageTransitionEvent::persisted);
            if restored && ctx.auth.get_untracked().is_some() {
                leptos::task::spawn_local(crate::e2ee::start(ctx));
            }
        })
    });
    let page_events = StoredValue::new_local((pagehide, pageshow));
    // Framed by an allowed partner page: the postMessage API, for as long as the page.
    let embedded = StoredValue::new_local(crate::embed::install(ctx));
    on_cleanup(move || {
        popstate.set_value(None);
        page_events.set_value((None, None));
        embedded.set_value(None);
        crate::e2ee::stop(ctx);
        ctx.link.set_value(None);
    });

    // A memo: a session replaced by another (or a second sign-out) keeps the same frame.
    let signed_in = Memo::new(move |_| ctx.auth.with(Option::is_some));
    move || {
        if signed_in.get() {
            view! { <Shell brand=name.clone() logo=logo.clone() link=link_state/> }.into_any()
        } else {
            view! {
                <div class="public">
                    <header class="topbar">
                        <span class="brand-name">
                            {crate::components::app_shell::brand_mark(&name, logo.clone())}
                            <span translate="no">{name.clone()}</span>
                        </span>
                        <LinkStatus state=link_state/>
                        <crate::i18n::LanguageSwitch/>
                    </header>
                    <main class="stack">
                        <section class="card welcome">
                            <h1>{let name = name.clone(); crate::tr!(WelcomeTo, name = name.clone())}</h1>
                            <p>{crate::tr!(WelcomeEncrypted)}</p>
                        </section>
                        <SignIn/>
                        {capabilities()}
                    </main>
                </div>
            }
            .into_any()
        }
    }
}
