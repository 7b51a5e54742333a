//! The root component: start-up, then either the brand's start page or the refusal
//! screen. It holds the app's long-lived resources (the link, the diagnostics
//! listeners) and releases them when it is torn down.

use haven_protocol::RuntimeConfig;
use leptos::prelude::*;

use crate::diagnostics::Diagnostics;
use crate::error::AppError;
use crate::pages::{refused::Refused, start::StartPage};

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Loading,
    Ready(RuntimeConfig),
    Refused(AppError),
}

impl Phase {
    fn id(&self) -> &'static str {
        match self {
            Self::Loading => "loading",
            Self::Ready(_) => "ready",
            Self::Refused(_) => "refused",
        }
    }
}

/// The organisation's colours, as the custom properties every colour in `style/` reads
/// (set through the CSSOM, which the CSP allows; no inline style).
pub fn apply_brand(brand: &haven_protocol::Brand) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
    else {
        return;
    };
    let style = root.style();
    for (name, value) in brand.colours.custom_properties() {
        let _ = style.set_property(name, &value);
    }
}

fn set_title(text: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(text);
    }
}

#[component]
pub fn App() -> impl IntoView {
    let diagnostics = StoredValue::new_local(Diagnostics::install());
    let phase = RwSignal::new(Phase::Loading);

    leptos::task::spawn_local(async move {
        match crate::boot::load_config().await {
            Ok(config) => {
                crate::i18n::settle(config.brand.language).await;
                set_title(&config.brand.name);
                apply_brand(&config.brand);
                phase.set(Phase::Ready(config));
            }
            Err(error) => phase.set(Phase::Refused(error)),
        }
    });

    on_cleanup(move || diagnostics.set_value(None));

    view! {
        <div id="haven" data-state=move || phase.with(Phase::id)>
            {move || match phase.get() {
                Phase::Loading => view! {
                    <main class="loading" role="status">{crate::tr!(StartingSecurely)}</main>
                }.into_any(),
                Phase::Refused(error) => view! { <main><Refused error/></main> }.into_any(),
                Phase::Ready(config) => view! { <StartPage config/> }.into_any(),
            }}
        </div>
    }
}
