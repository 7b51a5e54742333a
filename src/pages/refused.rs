//! The screen shown instead of the app when it is not safe to run: the page is not
//! secure, or the configuration names an endpoint that is not https:// or wss://.
//! No connection has been opened when this shows.

use leptos::prelude::*;

use crate::error::AppError;

#[component]
pub fn Refused(error: AppError) -> impl IntoView {
    let kind = error.kind();
    let detail = error.detail();
    let message = move || error.message();
    view! {
        <section id="refused" class="card refused" role="alert" data-reason=kind>
            <h1>{crate::tr!(RefusedTitle)}</h1>
            <p class="reason">{message}</p>
            {detail.map(|detail| view! {
                <p class="detail">
                    {crate::tr!(RefusedDetail)}" "<code translate="no">{detail}</code>
                </p>
            })}
            <p>{crate::tr!(RefusedProtect)}</p>
        </section>
    }
}
