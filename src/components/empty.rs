//! What a view shows when it has nothing to list: a plain sentence of what will appear
//! here and when, never a bare blank.

use leptos::prelude::*;

use crate::i18n::{Msg, t};

#[component]
pub fn EmptyState(
    title: Msg,
    #[prop(optional)] text: Option<Msg>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="empty-state">
            <div class="empty-icon" aria-hidden="true">
                <svg viewBox="0 0 24 24"><path d="M4 13h4l1.5 3h5l1.5-3h4M5.5 6h13L21 13v5a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-5z"/></svg>
            </div>
            <p class="empty-title">{move || t(title)}</p>
            {text.map(|text| view! { <p>{move || t(text)}</p> })}
            {children.map(|c| c())}
        </div>
    }
}
