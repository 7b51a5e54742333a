//! The brand's start page: who this service is, whether the secure link is up, and what
//! this browser can and cannot do.

use haven_protocol::RuntimeConfig;
use leptos::prelude::*;

use crate::capabilities::Capability;
use crate::transport::wss::LinkState;

#[component]
fn LinkStatus(state: RwSignal<LinkState>) -> impl IntoView {
    view! {
        <p id="link-status" class="link-status" role="status" aria-live="polite"
            data-link=move || state.get().id()>
            <span class="dot" aria-hidden="true"></span>
            {move || state.get().label()}
        </p>
    }
}

#[component]
pub fn StartPage(config: RuntimeConfig, link_state: RwSignal<LinkState>) -> impl IntoView {
    let name = config.brand.name;
    let capabilities = Capability::ALL
        .iter()
        .map(|&capability| {
            let supported = capability.supported();
            let detail = if supported {
                "Available"
            } else {
                capability.missing_message()
            };
            view! {
                <li data-capability=capability.id() data-supported=supported.to_string()>
                    <strong>{capability.label()}</strong>
                    <span>{detail}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <header class="topbar">
            <span class="brand-name">{name.clone()}</span>
            <LinkStatus state=link_state/>
        </header>
        <section class="panel welcome">
            <h1>"Welcome to " {name}</h1>
            <p>"Your connection to this service is encrypted from end to end of the network."</p>
        </section>
        <section class="panel capabilities" aria-labelledby="capabilities-title">
            <h2 id="capabilities-title">"This browser"</h2>
            <ul>{capabilities}</ul>
        </section>
    }
}
