//! The auditor's view: search the log, read an entry, download the export, and verify the
//! whole log here in the browser with the same code the command line uses. The verdict
//! says plainly whether the log is intact and, if not, the first entry that is wrong.
//! People appear by name (from `GET /api/audit/people`) and are picked by name in the
//! filters; where a name is unknown the id shows instead. Names, ids and the log's own
//! words are data, shown untranslated; everything else comes from the catalogue.

use haven_audit_log::{HeadError, SignedTreeHead, Verdict, verify_export};
use haven_i18n::Arg;
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
use crate::i18n::{Msg, t, tf};
use crate::pages::auditor::directory::{Directory, action_about, action_label};
use crate::transport::https::HttpError;

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

async fn verify(ctx: Ctx) -> Result<Verdict, HttpError> {
    // The key to trust comes from the server's own head endpoint, which signs with the
    // key in its data directory; rows or heads rewritten in the store cannot change it.
    let head: SignedTreeHead = ctx.call("GET", "/audit/head", None).await?;
    let export = ctx.text("/audit/export").await?;
    Ok(verify_export(&export, &head.public_key, &head.organisation))
}

/// A head the verifier refused, in words.
fn head_error(error: &HeadError) -> Msg {
    match error {
        HeadError::Malformed => Msg::AuditReasonHeadMalformed,
        HeadError::WrongKey => Msg::AuditReasonHeadWrongKey,
        HeadError::WrongOrganisation => Msg::AuditReasonHeadWrongOrganisation,
        HeadError::BadSignature => Msg::AuditReasonHeadBadSignature,
    }
}

/// Why the verifier found the log broken, in the reader's language. The verifier (shared
/// with the command line) gives its reason as an English clause; each one it can give has
/// a message here, and one it does not know yet shows as it is.
fn broken_reason(reason: &str) -> String {
    const FIXED: [(&str, Msg); 9] = [
        ("the export is empty", Msg::AuditReasonEmpty),
        (
            "the export does not start with a signed tree head",
            Msg::AuditReasonNoHead,
        ),
        ("this line is not a valid entry", Msg::AuditReasonNotAnEntry),
        (
            "it belongs to another organisation",
            Msg::AuditReasonOtherOrganisation,
        ),
        (
            "it is not covered by the signed tree head (inserted)",
            Msg::AuditReasonInserted,
        ),
        (
            "it is stored in a form that is not an entry",
            Msg::AuditReasonStoredOtherwise,
        ),
        (
            "its content does not match its hash in the tree (changed)",
            Msg::AuditReasonChanged,
        ),
        ("the tree has no hash for it", Msg::AuditReasonNoHash),
        (
            "it is missing (the signed head covers more entries)",
            Msg::AuditReasonMissing,
        ),
    ];
    if let Some((_, msg)) = FIXED.iter().find(|(words, _)| *words == reason) {
        return t(*msg);
    }
    let heads = [
        HeadError::Malformed,
        HeadError::WrongKey,
        HeadError::WrongOrganisation,
        HeadError::BadSignature,
    ];
    if let Some(error) = heads.iter().find(|e| e.to_string() == reason) {
        return t(head_error(error));
    }
    if let Some(found) = reason
        .strip_prefix("it is missing or out of order (found #")
        .and_then(|rest| rest.strip_suffix(" in its place)"))
    {
        return tf(Msg::AuditReasonOutOfOrder, &[("found", Arg::from(found))]);
    }
    if let Some(root) = reason
        .strip_prefix("the entries do not produce the signed root ")
        .and_then(|rest| rest.strip_suffix(" (the tree itself was rewritten)"))
    {
        return tf(Msg::AuditReasonRootMismatch, &[("root", Arg::from(root))]);
    }
    reason.to_owned()
}

/// The verdict (or why there is none) as one sentence.
fn verdict_text(checked: &Result<Verdict, HttpError>) -> String {
    match checked {
        Ok(Verdict::Intact { entries, head }) => tf(
            Msg::AuditVerdictIntact,
            &[
                ("entries", Arg::from(*entries)),
                ("signed", Arg::from(head.size)),
            ],
        ),
        // The entry's number is an index, written as the table writes it.
        Ok(Verdict::Broken {
            first_bad: Some(index),
            reason,
        }) => tf(
            Msg::AuditVerdictBrokenAt,
            &[
                ("index", Arg::from(index.to_string())),
                ("reason", Arg::from(broken_reason(reason))),
            ],
        ),
        Ok(Verdict::Broken {
            first_bad: None,
            reason,
        }) => tf(
            Msg::AuditVerdictBroken,
            &[("reason", Arg::from(broken_reason(reason)))],
        ),
        Err(e) => tf(
            Msg::AuditVerifyFailed,
            &[("error", Arg::from(e.to_string()))],
        ),
    }
}

/// The people known to the page: `None` while loading, `Some(None)` when the list could
/// not be had (ids show, and filters take typed ids).
type People = RwSignal<Option<Option<Directory>>>;

/// A filter by person: a choice by name, or a typed id when no names are known.
#[component]
fn PersonPicker(
    id: &'static str,
    label: Msg,
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
                    <label class="field-label" for=id>{move || t(label)}</label>
                    <select id=id name=id prop:value=move || value.get()
                        on:change=move |ev| value.set(event_target_value(&ev))>
                        <option value="">{move || t(if only == Some(Role::Patient) { Msg::AuditAnyPatient } else { Msg::AuditAnyone })}</option>
                        {groups.into_iter().map(|(role, people)| view! {
                            <optgroup label=move || t(crate::i18n::role_name(role))>
                                {people.into_iter().map(|(pid, name)| {
                                    let selected = value.get_untracked() == pid;
                                    view! { <option value=pid selected=selected translate="no">{name}</option> }
                                }).collect_view()}
                            </optgroup>
                        }).collect_view()}
                    </select>
                </div>
            }
            .into_any()
        }
        _ => view! {
            <TextField id=id label=label value=value help=Msg::AuditNamesUnavailable/>
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
    let (class, text) = match o {
        AuditOutcome::Success => ("badge ok", Msg::AuditOutcomeSuccess),
        AuditOutcome::Failure => ("badge bad", Msg::AuditOutcomeFailure),
    };
    view! { <span class=class>{move || t(text)}</span> }
}

/// A role's name, following the language.
fn role_name(role: Role) -> impl IntoView {
    view! { <span class="sub">{move || t(crate::i18n::role_name(role))}</span> }
}

/// A person cell: the name and role, or the id in a monospace font.
fn who(directory: &Option<Directory>, id: &str, role: Option<Role>) -> AnyView {
    let named = directory.as_ref().map(|d| d.person(id));
    match named {
        Some(n) if n.role.is_some() => view! {
            <span translate="no">{n.name}</span>
            {n.role.or(role).map(role_name)}
        }
        .into_any(),
        _ => view! {
            <span class="mono" title=crate::tr!(AuditNoName)><span translate="no">{id.to_owned()}</span></span>
            {role.map(role_name)}
        }
        .into_any(),
    }
}

fn target(directory: &Option<Directory>, target: &str) -> AnyView {
    match directory.as_ref().map(|d| d.target(target)) {
        Some(found) => {
            let class = if found.is_id { "mono" } else { "" };
            view! {
                <span class=class translate="no">{found.text}</span>
                {found.kind.map(|kind| view! { <span class="sub">{move || t(kind)}</span> })}
            }
            .into_any()
        }
        None => view! { <span class="mono" translate="no">{target.to_owned()}</span> }.into_any(),
    }
}

fn detail(e: AuditEntry, directory: Option<Directory>) -> impl IntoView {
    let raw = serde_json::to_string_pretty(&e).unwrap_or_default();
    let index = e.index.to_string();
    let action = e.action;
    view! {
        <section id="audit-entry" class="card entry-detail stack-sm" tabindex="-1" aria-labelledby="audit-entry-title">
            <h2 id="audit-entry-title" class="section-title">{crate::tr!(AuditEntryTitle, index = &index)}</h2>
            <dl>
                <dt>{crate::tr!(AuditColumnTime)}</dt><dd>{utc(e.time)}</dd>
                <dt>{crate::tr!(AuditColumnAction)}</dt><dd>{move || t(action_label(action))}<span class="sub">{move || t(action_about(action))}</span></dd>
                <dt>{crate::tr!(AuditColumnWho)}</dt><dd>{match &e.actor {
                    Some(a) => who(&directory, &a.user, Some(a.role)),
                    None => view! { <span class="muted">{crate::tr!(AuditNobody)}</span> }.into_any(),
                }}</dd>
                <dt>{crate::tr!(AuditColumnTarget)}</dt><dd>{match &e.target {
                    Some(aim) => target(&directory, aim),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}</dd>
                <dt>{crate::tr!(AuditFieldPatient)}</dt><dd>{match &e.patient {
                    Some(p) => who(&directory, p, None),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}</dd>
                <dt>{crate::tr!(AuditFieldDetail)}</dt><dd translate="no">{e.detail.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>{crate::tr!(AuditColumnOutcome)}</dt><dd>{outcome(e.outcome)}</dd>
                <dt>{crate::tr!(AuditFieldSource)}</dt><dd class="mono" translate="no">{e.source.clone().unwrap_or_else(|| "—".to_owned())}</dd>
            </dl>
            <details>
                <summary>{crate::tr!(AuditEntryRecorded)}</summary>
                <pre translate="no">{raw}</pre>
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
    let verdict = RwSignal::new(None::<Result<Verdict, HttpError>>);
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
            let result = verify(ctx).await;
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

    let actions: Vec<(String, String)> = std::iter::once((String::new(), t(Msg::AuditAnyAction)))
        .chain(
            AuditAction::ALL
                .iter()
                .map(|a| (a.as_str().to_owned(), t(action_label(*a)))),
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
                let number = index.to_string();
                let action = e.action;
                let is_selected = chosen == Some(index);
                view! {
                    <tr data-index=index data-action=e.action.as_str() data-selectable=""
                        aria-selected=is_selected.to_string()
                        on:click=move |_| {
                            selected.set(Some(shown.clone()));
                            // Take the reader (and keyboard focus) to the entry shown.
                            request_animation_frame(focus_detail);
                        }>
                        <td data-label=crate::tr!(AuditColumnIndex) class="num">
                            <button type="button" class="btn btn-quiet btn-small"
                                aria-label=crate::tr!(AuditShowEntry, index = &number)>{format!("#{index}")}</button>
                        </td>
                        <td data-label=crate::tr!(AuditColumnTime) class="nowrap">{utc(e.time)}</td>
                        <td data-label=crate::tr!(AuditColumnAction)>{move || t(action_label(action))}</td>
                        <td data-label=crate::tr!(AuditColumnWho)>{match &e.actor {
                            Some(a) => who(&directory, &a.user, Some(a.role)),
                            None => view! { <span class="muted">"—"</span> }.into_any(),
                        }}</td>
                        <td data-label=crate::tr!(AuditColumnTarget)>{match &e.target {
                            Some(aim) => target(&directory, aim),
                            None => view! { <span class="muted">"—"</span> }.into_any(),
                        }}</td>
                        <td data-label=crate::tr!(AuditColumnOutcome)>{outcome(e.outcome)}</td>
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
                <p class="muted small">{crate::tr!(AuditVerifyIntro)}</p>
                <div class="actions">
                    <Button attr:id="audit-verify" on:click=run_verify attr:disabled=move || busy.get()>
                        {move || t(if busy.get() { Msg::AuditVerifying } else { Msg::AuditVerify })}
                    </Button>
                    <Button variant=Variant::Secondary attr:id="audit-export" on:click=export>{crate::tr!(AuditDownloadExport)}</Button>
                </div>
            </div>
            {move || verdict.get().map(|checked| {
                let intact = checked.as_ref().is_ok_and(Verdict::is_intact);
                view! {
                    <p id="verify-result" class=if intact { "verdict ok" } else { "verdict bad" } role="status"
                        data-intact=intact.to_string()>{verdict_text(&checked)}</p>
                }
            })}
            <form id="audit-search" class="card stack" on:submit=search aria-label=crate::tr!(AuditSearchLabel)>
                <div class="filters">
                    <SelectField id="audit-action" label=Msg::AuditColumnAction value=action options=actions/>
                    <PersonPicker id="audit-actor" label=Msg::AuditColumnWho value=actor people/>
                    <PersonPicker id="audit-patient" label=Msg::AuditFilterPatient value=patient people only=Role::Patient/>
                    <TextField id="audit-conversation" label=Msg::AuditFilterConversation value=conversation maxlength="45"
                        help=Msg::AuditFilterConversationHelp/>
                    <TextField id="audit-from" label=Msg::AuditFilterFrom kind="date" value=from/>
                    <TextField id="audit-to" label=Msg::AuditFilterTo kind="date" value=to/>
                </div>
                <div class="actions">
                    <Button submit=true>{crate::tr!(AuditSearch)}</Button>
                    <Button variant=Variant::Secondary on:click=clear>{crate::tr!(AuditClear)}</Button>
                </div>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match entries.with(|e| e.as_ref().map(Vec::is_empty)).filter(|_| witnessed.get()) {
                // The log is shown only once the witness has checked the server's head.
                None => view! { <p class="loading" role="status">{crate::tr!(Loading)}</p> }.into_any(),
                Some(empty) => view! {
                    {empty.then(|| view! { <EmptyState title=Msg::AuditNoEntries/> })}
                    <Table id="audit-entries" label=Msg::AuditEntriesLabel
                        columns=&[
                            Msg::AuditColumnIndex,
                            Msg::AuditColumnTime,
                            Msg::AuditColumnAction,
                            Msg::AuditColumnWho,
                            Msg::AuditColumnTarget,
                            Msg::AuditColumnOutcome,
                        ]>
                        {rows}
                    </Table>
                }.into_any(),
            }}
            {move || next.get().map(|after| view! {
                <div class="actions">
                    <Button variant=Variant::Secondary attr:id="audit-more" on:click=move |_| load(Some(after))>{crate::tr!(AuditShowMore)}</Button>
                </div>
            })}
            {move || selected.get().map(|e| detail(e, people.get().flatten()))}
        </div>
    }
    .into_any()
}
