//! Messages, shared by patients and clinicians. Secure messaging arrives with a later
//! feature; until then the view says so rather than pretend.

use leptos::prelude::*;

use crate::components::empty::EmptyState;

#[component]
pub fn Messages() -> impl IntoView {
    view! {
        <EmptyState title="Secure messaging is not available yet."
            text="Messages with your care team will be end-to-end encrypted: only the people in the conversation can read them."/>
    }
}
