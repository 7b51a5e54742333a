//! A list of people by name, optionally each a link to their record.

use haven_protocol::identity::PersonSummary;
use leptos::prelude::*;

use crate::context::use_ctx;
use crate::route::Route;

pub fn people(list: Vec<PersonSummary>, empty: &'static str, link: bool) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="list">
            {list.into_iter().map(|p| {
                let name = p.display_name.to_string();
                if link {
                    let route = Route::PatientRecord(p.id);
                    view! { <li><a href=route.path() on:click=move |ev| {
                        ev.prevent_default();
                        if let Some(ctx) = use_ctx() { ctx.navigate(route.clone()) }
                    }>{name}</a></li> }.into_any()
                } else {
                    view! { <li>{name}</li> }.into_any()
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
