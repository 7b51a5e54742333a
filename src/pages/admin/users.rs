//! The administrator's list of users, with deactivation.

use haven_protocol::identity::UserSummary;
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::context::use_ctx;

#[component]
pub fn UsersView() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let users = load::<Vec<UserSummary>>(ctx, "/users");
    let message = RwSignal::new(None::<String>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            users.set(Some(
                ctx.call::<Vec<UserSummary>>("GET", "/users", None)
                    .await
                    .map_err(|e| e.to_string()),
            ));
        });
    };
    let deactivate = move |id: String| {
        leptos::task::spawn_local(async move {
            let result: Result<serde_json::Value, _> = ctx
                .call("POST", &format!("/users/{id}/deactivate"), None)
                .await;
            message.set(Some(match result {
                Ok(_) => "Account deactivated; its sessions have ended.".into(),
                Err(e) => e.to_string(),
            }));
            reload();
        });
    };
    view! {
        {move || message.get().map(|m| view! { <p id="users-message" role="status">{m}</p> })}
        {show(users, move |list| view! {
            <table class="table"><thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th></th></tr></thead><tbody>
            {list.into_iter().map(|u| {
                let id = u.id.to_string();
                let email = u.email.as_str().to_owned();
                view! {
                    <tr data-email=email.clone()>
                        <td>{u.display_name.to_string()}</td><td>{email.clone()}</td><td>{u.role.label()}</td>
                        <td>{if u.active { "Active" } else { "Deactivated" }}</td>
                        <td>{u.active.then(|| view! {
                            <button type="button" class="deactivate" on:click=move |_| deactivate(id.clone())>"Deactivate"</button>
                        })}</td>
                    </tr>
                }
            }).collect_view()}
            </tbody></table>
        })}
    }
    .into_any()
}
