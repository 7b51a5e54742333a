//! Whether the secure link (WSS) is up, as words and a dot.

use leptos::prelude::*;

use crate::transport::wss::LinkState;

#[component]
pub fn LinkStatus(state: RwSignal<LinkState>) -> impl IntoView {
    view! {
        <p id="link-status" class="link-status" role="status" aria-live="polite"
            data-link=move || state.get().id()>
            <span class="dot" aria-hidden="true"></span>
            {move || crate::i18n::t(state.get().label())}
        </p>
    }
}
