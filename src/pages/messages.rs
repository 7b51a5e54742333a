//! Messages, shared by patients and clinicians. Secure messaging arrives with a later
//! feature; until then the view says so rather than pretend.

use leptos::prelude::*;

#[component]
pub fn Messages() -> impl IntoView {
    view! { <p class="empty">"Secure messaging is not available yet."</p> }
}
