//! The screen shown instead of the app when it is not safe to run: the page is not
//! secure, or the configuration names an endpoint that is not https:// or wss://.
//! No connection has been opened when this shows.

use leptos::prelude::*;

use crate::error::AppError;

#[component]
pub fn Refused(error: AppError) -> impl IntoView {
    let kind = error.kind();
    let message = error.to_string();
    view! {
        <section id="refused" class="card refused" role="alert" data-reason=kind>
            <h1>"Haven cannot start safely"</h1>
            <p class="reason">{message}</p>
            <p>
                "To protect your health information, Haven has not connected to anything. "
                "If this keeps happening, contact your clinic's support team and tell them what this page says."
            </p>
        </section>
    }
}
