//! The auditor's view: search the log, read an entry, download the export, and verify the
//! whole log here in the browser with the same code the command line uses. The verdict
//! says plainly whether the log is intact and, if not, the first entry that is wrong.

use haven_audit_log::{SignedTreeHead, verify_export};
use haven_protocol::audit::{AuditEntry, AuditPage};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::context::{Ctx, use_ctx};

fn date(unix: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    date.to_iso_string().into()
}

/// `YYYY-MM-DD` from a date input, as Unix seconds at UTC midnight.
fn day_start(input: &str) -> Option<i64> {
    if input.is_empty() {
        return None;
    }
    let ms = js_sys::Date::parse(&format!("{input}T00:00:00Z"));
    (!ms.is_nan()).then_some((ms / 1000.0) as i64)
}

fn query_string(
    action: &str,
    actor: &str,
    patient: &str,
    from: &str,
    to: &str,
    after: Option<u64>,
) -> String {
    let mut q = String::from("?limit=50");
    let pairs = [
        ("action", action.trim()),
        ("actor", actor.trim()),
        ("patient", patient.trim()),
    ];
    for (key, value) in pairs {
        if !value.is_empty() {
            let encoded: String = js_sys::encode_uri_component(value).into();
            q.push_str(&format!("&{key}={encoded}"));
        }
    }
    if let Some(from) = day_start(from) {
        q.push_str(&format!("&from={from}"));
    }
    if let Some(to) = day_start(to) {
        q.push_str(&format!("&to={}", to + 86_400));
    }
    if let Some(after) = after {
        q.push_str(&format!("&after={after}"));
    }
    q
}

/// Offers `text` as a file download (a blob URL; nothing leaves the page).
fn download(text: &str, name: &str) -> Option<()> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/jsonl");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let document = web_sys::window()?.document()?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a").ok()?.dyn_into().ok()?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).ok()
}

async fn verify(ctx: Ctx) -> Result<(bool, String), String> {
    // The key to trust comes from the server's own head endpoint, which signs with the
    // key in its data directory; rows or heads rewritten in the store cannot change it.
    let head: SignedTreeHead = ctx
        .call("GET", "/audit/head", None)
        .await
        .map_err(|e| e.to_string())?;
    let export = ctx.text("/audit/export").await.map_err(|e| e.to_string())?;
    let verdict = verify_export(&export, &head.public_key, &head.organisation);
    Ok((verdict.is_intact(), verdict.describe()))
}

#[component]
pub fn AuditView() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let patient = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let next = RwSignal::new(None::<u64>);
    let error = RwSignal::new(None::<String>);
    let selected = RwSignal::new(None::<AuditEntry>);
    let verdict = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);

    let load = move |after: Option<u64>| {
        let q = query_string(
            &action.get_untracked(),
            &actor.get_untracked(),
            &patient.get_untracked(),
            &from.get_untracked(),
            &to.get_untracked(),
            after,
        );
        leptos::task::spawn_local(async move {
            match ctx
                .call::<AuditPage>("GET", &format!("/audit/entries{q}"), None)
                .await
            {
                Ok(page) => {
                    error.set(None);
                    if after.is_some() {
                        entries.update(|e| e.extend(page.entries));
                    } else {
                        entries.set(page.entries);
                    }
                    next.set(page.next);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    load(None);
    let search = move |ev: SubmitEvent| {
        ev.prevent_default();
        load(None);
    };
    let run_verify = move |_| {
        busy.set(true);
        verdict.set(None);
        leptos::task::spawn_local(async move {
            let result = verify(ctx)
                .await
                .unwrap_or_else(|e| (false, format!("Could not verify: {e}")));
            verdict.set(Some(result));
            busy.set(false);
        });
    };
    let export = move |_| {
        leptos::task::spawn_local(async move {
            match ctx.text("/audit/export").await {
                Ok(text) => {
                    let _ = download(&text, "haven-audit.jsonl");
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    let field = |id: &'static str,
                 label: &'static str,
                 kind: &'static str,
                 value: RwSignal<String>| {
        view! {
            <label for=id>{label}</label>
            <input id=id type=kind prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        }
    };

    view! {
        <div class="audit">
            <crate::audit::WitnessPanel/>
            <div class="actions">
                <button type="button" id="audit-verify" on:click=run_verify disabled=move || busy.get()>"Verify the log"</button>
                <button type="button" id="audit-export" on:click=export>"Download export"</button>
            </div>
            {move || verdict.get().map(|(intact, text)| view! {
                <p id="verify-result" class=if intact { "verdict ok" } else { "verdict bad" } role="status"
                    data-intact=intact.to_string()>{text}</p>
            })}
            <form id="audit-search" class="filters" on:submit=search>
                {field("audit-action", "Action", "text", action)}
                {field("audit-actor", "Actor (user id)", "text", actor)}
                {field("audit-patient", "Patient (id)", "text", patient)}
                {field("audit-from", "From", "date", from)}
                {field("audit-to", "To", "date", to)}
                <button type="submit">"Search"</button>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <table class="table" id="audit-entries">
                <thead><tr><th>"#"</th><th>"Time (UTC)"</th><th>"Action"</th><th>"Actor"</th><th>"Target"</th><th>"Outcome"</th></tr></thead>
                <tbody>
                    {move || entries.get().into_iter().map(|e| {
                        let shown = e.clone();
                        let actor = e.actor.as_ref().map(|a| format!("{} ({})", a.user.chars().take(8).collect::<String>(), a.role.as_str())).unwrap_or_default();
                        view! {
                            <tr data-index=e.index data-action=e.action.as_str() on:click=move |_| selected.set(Some(shown.clone()))>
                                <td>{e.index}</td><td>{date(e.time)}</td><td>{e.action.as_str()}</td><td>{actor}</td>
                                <td>{e.target.clone().unwrap_or_default()}</td>
                                <td>{match e.outcome { haven_protocol::audit::AuditOutcome::Success => "success", haven_protocol::audit::AuditOutcome::Failure => "failure" }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || next.get().map(|after| view! {
                <button type="button" id="audit-more" on:click=move |_| load(Some(after))>"More"</button>
            })}
            {move || selected.get().map(|e| view! {
                <section id="audit-entry" class="panel" aria-label="Entry detail">
                    <h2>"Entry #" {e.index}</h2>
                    <pre>{serde_json::to_string_pretty(&e).unwrap_or_default()}</pre>
                </section>
            })}
        </div>
    }
    .into_any()
}
