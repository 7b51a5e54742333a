//! The auditor's view: search the log, read an entry, download the export, and verify the
//! whole log here in the browser with the same code the command line uses. The verdict
//! says plainly whether the log is intact and, if not, the first entry that is wrong.
//! People appear by name (from `GET /api/audit/people`) and are picked by name in the
//! filters; where a name is unknown the id shows instead.

use haven_audit_log::{SignedTreeHead, verify_export};
use haven_protocol::access::Role;
use haven_protocol::audit::{AuditAction, AuditEntry, AuditOutcome, AuditPage};
use haven_protocol::identity::AuditPerson;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::button::{Button, Variant};
use crate::components::empty::EmptyState;
use crate::components::field::{SelectField, TextField};
use crate::components::table::Table;
use crate::context::{Ctx, use_ctx};
use crate::pages::auditor::directory::{Directory, action_label};

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` in UTC.
fn utc(unix: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    let iso: String = date.to_iso_string().into();
    iso.get(..19).map_or(iso.clone(), |s| s.replace('T', " "))
}

/// `YYYY-MM-DD` from a date input, as Unix seconds at UTC midnight.
fn day_start(input: &str) -> Option<i64> {
    if input.is_empty() {
        return None;
    }
    let ms = js_sys::Date::parse(&format!("{input}T00:00:00Z"));
    (!ms.is_nan()).then_some((ms / 1000.0) as i64)
}

/// The search as it was submitted.
#[derive(Debug, Clone, Default)]
struct Filters {
    action: String,
    actor: String,
    patient: String,
    conversation: String,
    from: String,
    to: String,
}

fn query_string(f: &Filters, after: Option<u64>) -> String {
    let mut q = String::from("?limit=50");
    let pairs = [
        ("action", f.action.trim()),
        ("actor", f.actor.trim()),
        ("patient", f.patient.trim()),
        (
            "conversation",
            f.conversation
                .trim()
                .trim_start_matches("conversation:")
                .trim(),
        ),
    ];
    for (key, value) in pairs {
        if !value.is_empty() {
            let encoded: String = js_sys::encode_uri_component(value).into();
            q.push_str(&format!("&{key}={encoded}"));
        }
    }
    if let Some(from) = day_start(&f.from) {
        q.push_str(&format!("&from={from}"));
    }
    if let Some(to) = day_start(&f.to) {
        q.push_str(&format!("&to={}", to + 86_400));
    }
    if let Some(after) = after {
        q.push_str(&format!("&after={after}"));
    }
    q
}

/// Offers `text` as a file download (a blob URL; nothing leaves the page).
fn download(text: &str, name: &str) -> Option<()> {
    crate::storage::offer_download(
        &wasm_bindgen::JsValue::from_str(text),
        name,
        "application/jsonl",
    )
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

/// The people known to the page: `None` while loading, `Some(None)` when the list could
/// not be had (ids show, and filters take typed ids).
type People = RwSignal<Option<Option<Directory>>>;

/// A filter by person: a choice by name, or a typed id when no names are known.
#[component]
fn PersonPicker(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    people: People,
    /// Only people of this role.
    #[prop(optional)]
    only: Option<Role>,
) -> impl IntoView {
    move || match people.get() {
        Some(Some(directory)) => {
            let groups = directory.by_role(only);
            view! {
                <div class="field">
                    <label class="field-label" for=id>{label}</label>
                    <select id=id name=id prop:value=move || value.get()
                        on:change=move |ev| value.set(event_target_value(&ev))>
                        <option value="">{if only == Some(Role::Patient) { "Any patient" } else { "Anyone" }}</option>
                        {groups.into_iter().map(|(role, people)| view! {
                            <optgroup label=role.label()>
                                {people.into_iter().map(|(pid, name)| {
                                    let selected = value.get_untracked() == pid;
                                    view! { <option value=pid selected=selected>{name}</option> }
                                }).collect_view()}
                            </optgroup>
                        }).collect_view()}
                    </select>
                </div>
            }
            .into_any()
        }
        _ => view! {
            <TextField id=id label=label value=value help="Names are not available: type an id."/>
        }
        .into_any(),
    }
}

fn focus_detail() {
    if let Some(detail) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("audit-entry"))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = detail.focus();
    }
}

fn outcome(o: AuditOutcome) -> impl IntoView {
    match o {
        AuditOutcome::Success => view! { <span class="badge ok">"Success"</span> },
        AuditOutcome::Failure => view! { <span class="badge bad">"Failure"</span> },
    }
}

/// A person cell: the name and role, or the id in a monospace font.
fn who(directory: &Option<Directory>, id: &str, role: Option<Role>) -> AnyView {
    let named = directory.as_ref().map(|d| d.person(id));
    match named {
        Some(n) if n.role.is_some() => view! {
            <span>{n.name}</span>
            <span class="sub">{n.role.or(role).map(Role::label)}</span>
        }
        .into_any(),
        _ => view! {
            <span class="mono" title="No name is known for this id">{id.to_owned()}</span>
            {role.map(|r| view! { <span class="sub">{r.label()}</span> })}
        }
        .into_any(),
    }
}

fn target(directory: &Option<Directory>, target: &str) -> AnyView {
    match directory.as_ref().map(|d| d.target(target)) {
        Some(t) => {
            let class = if t.is_id { "mono" } else { "" };
            view! {
                <span class=class>{t.text}</span>
                {t.kind.map(|k| view! { <span class="sub">{k}</span> })}
            }
            .into_any()
        }
        None => view! { <span class="mono">{target.to_owned()}</span> }.into_any(),
    }
}

fn detail(e: AuditEntry, directory: Option<Directory>) -> impl IntoView {
    let raw = serde_json::to_string_pretty(&e).unwrap_or_default();
    view! {
        <section id="audit-entry" class="card entry-detail stack-sm" tabindex="-1" aria-labelledby="audit-entry-title">
            <h2 id="audit-entry-title" class="section-title">"Entry #" {e.index}</h2>
            <dl>
                <dt>"Time (UTC)"</dt><dd>{utc(e.time)}</dd>
                <dt>"Action"</dt><dd>{action_label(e.action)}<span class="sub">{e.action.about()}</span></dd>
                <dt>"Who"</dt><dd>{match &e.actor {
                    Some(a) => who(&directory, &a.user, Some(a.role)),
                    None => view! { <span class="muted">"Nobody signed in"</span> }.into_any(),
                }}</dd>
                <dt>"Target"</dt><dd>{match &e.target {
                    Some(t) => target(&directory, t),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}</dd>
                <dt>"Patient"</dt><dd>{match &e.patient {
                    Some(p) => who(&directory, p, None),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}</dd>
                <dt>"Detail"</dt><dd>{e.detail.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>"Outcome"</dt><dd>{outcome(e.outcome)}</dd>
                <dt>"From"</dt><dd class="mono">{e.source.clone().unwrap_or_else(|| "—".to_owned())}</dd>
            </dl>
            <details>
                <summary>"The entry as recorded"</summary>
                <pre>{raw}</pre>
            </details>
        </section>
    }
}

#[component]
pub fn AuditView() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let patient = RwSignal::new(String::new());
    let conversation = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let entries = RwSignal::new(None::<Vec<AuditEntry>>);
    let next = RwSignal::new(None::<u64>);
    let error = RwSignal::new(None::<String>);
    let selected = RwSignal::new(None::<AuditEntry>);
    let verdict = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let people: People = RwSignal::new(None);

    leptos::task::spawn_local(async move {
        let list = ctx
            .call::<Vec<AuditPerson>>("GET", "/audit/people", None)
            .await;
        people.set(Some(list.ok().map(Directory::new)));
    });

    let filters = move || Filters {
        action: action.get_untracked(),
        actor: actor.get_untracked(),
        patient: patient.get_untracked(),
        conversation: conversation.get_untracked(),
        from: from.get_untracked(),
        to: to.get_untracked(),
    };
    let load = move |after: Option<u64>| {
        let q = query_string(&filters(), after);
        leptos::task::spawn_local(async move {
            match ctx
                .call::<AuditPage>("GET", &format!("/audit/entries{q}"), None)
                .await
            {
                Ok(page) => {
                    error.set(None);
                    if after.is_some() {
                        entries.update(|e| {
                            if let Some(e) = e {
                                e.extend(page.entries);
                            }
                        });
                    } else {
                        entries.set(Some(page.entries));
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
        selected.set(None);
        load(None);
    };
    let clear = move |_| {
        for field in [action, actor, patient, conversation, from, to] {
            field.set(String::new());
        }
        selected.set(None);
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

    let actions: Vec<(String, String)> = std::iter::once((String::new(), "Any action".to_owned()))
        .chain(
            AuditAction::ALL
                .iter()
                .map(|a| (a.as_str().to_owned(), action_label(*a))),
        )
        .collect();

    let rows = move || {
        let directory = people.get().flatten();
        let chosen = selected.with(|s| s.as_ref().map(|e| e.index));
        entries
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let shown = e.clone();
                let index = e.index;
                let is_selected = chosen == Some(index);
                view! {
                    <tr data-index=index data-action=e.action.as_str() data-selectable=""
                        aria-selected=is_selected.to_string()
                        on:click=move |_| {
                            selected.set(Some(shown.clone()));
                            // Take the reader (and keyboard focus) to the entry shown.
                            request_animation_frame(focus_detail);
                        }>
                        <td data-label="#" class="num">
                            <button type="button" class="btn btn-quiet btn-small"
                                aria-label=format!("Show entry {index}")>{format!("#{index}")}</button>
                        </td>
                        <td data-label="Time (UTC)" class="nowrap">{utc(e.time)}</td>
                        <td data-label="Action">{action_label(e.action)}</td>
                        <td data-label="Who">{match &e.actor {
                            Some(a) => who(&directory, &a.user, Some(a.role)),
                            None => view! { <span class="muted">"—"</span> }.into_any(),
                        }}</td>
                        <td data-label="Target">{match &e.target {
                            Some(t) => target(&directory, t),
                            None => view! { <span class="muted">"—"</span> }.into_any(),
                        }}</td>
                        <td data-label="Outcome">{outcome(e.outcome)}</td>
                    </tr>
                }
            })
            .collect_view()
    };

    let witnessed = RwSignal::new(false);
    view! {
        <div class="audit stack">
            <crate::audit::WitnessPanel done=witnessed/>
            <div class="audit-toolbar">
                <p class="muted small">"Verification checks every entry against the server's signed tree head, here in your browser."</p>
                <div class="actions">
                    <Button attr:id="audit-verify" on:click=run_verify attr:disabled=move || busy.get()>
                        {move || if busy.get() { "Verifying…" } else { "Verify the log" }}
                    </Button>
                    <Button variant=Variant::Secondary attr:id="audit-export" on:click=export>"Download export"</Button>
                </div>
            </div>
            {move || verdict.get().map(|(intact, text)| view! {
                <p id="verify-result" class=if intact { "verdict ok" } else { "verdict bad" } role="status"
                    data-intact=intact.to_string()>{text}</p>
            })}
            <form id="audit-search" class="card stack" on:submit=search aria-label="Search the log">
                <div class="filters">
                    <SelectField id="audit-action" label="Action" value=action options=actions/>
                    <PersonPicker id="audit-actor" label="Who" value=actor people/>
                    <PersonPicker id="audit-patient" label="Patient concerned" value=patient people only=Role::Patient/>
                    <TextField id="audit-conversation" label="Conversation" value=conversation maxlength="45"
                        help="Its id, as an entry's target shows it: conversation:…"/>
                    <TextField id="audit-from" label="From" kind="date" value=from/>
                    <TextField id="audit-to" label="To" kind="date" value=to/>
                </div>
                <div class="actions">
                    <Button submit=true>"Search"</Button>
                    <Button variant=Variant::Secondary on:click=clear>"Clear"</Button>
                </div>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match entries.with(|e| e.as_ref().map(Vec::is_empty)).filter(|_| witnessed.get()) {
                // The log is shown only once the witness has checked the server's head.
                None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                Some(empty) => view! {
                    {empty.then(|| view! { <EmptyState title="No entries match this search."/> })}
                    <Table id="audit-entries" label="Audit log entries"
                        columns=&["#", "Time (UTC)", "Action", "Who", "Target", "Outcome"]>
                        {rows}
                    </Table>
                }.into_any(),
            }}
            {move || next.get().map(|after| view! {
                <div class="actions">
                    <Button variant=Variant::Secondary attr:id="audit-more" on:click=move |_| load(Some(after))>"Show more"</Button>
                </div>
            })}
            {move || selected.get().map(|e| detail(e, people.get().flatten()))}
        </div>
    }
    .into_any()
}
