//! One conversation: who is in it (verified names and roles), its verification code,
//! its messages with their states, and the composer.

use std::collections::HashMap;
use std::rc::Rc;

use haven_i18n::Arg;
use haven_mls::Content;
use haven_protocol::identity::Id;
use haven_protocol::messaging::MAX_ATTACHMENT_BYTES;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::components::button::{Button, Variant};
use crate::context::{Ctx, use_ctx};
use crate::e2ee::inbox::{Attachment, Body, ConversationView, Line, Sending};
use crate::e2ee::messenger::Job;
use crate::e2ee::{blob, random_id, submit};
use crate::i18n::{Msg, role_name, t, tf};

/// Longest message, in characters (as `crates/mls` accepts).
const MAX_CHARS: usize = haven_mls::content::MAX_TEXT_CHARS;
/// Longest file name, in characters (as `crates/mls` accepts).
const MAX_NAME_CHARS: usize = haven_mls::content::MAX_NAME_CHARS;

/// A download under way or failed, by blob: kept by the pane, so it survives the
/// conversation's view being rebuilt as messages arrive.
#[derive(Clone, PartialEq)]
enum Transfer {
    Running(f64),
    Failed(String),
}

#[derive(Clone, Copy)]
struct Transfers(RwSignal<HashMap<Id, Transfer>>);

/// Images shown, by blob: the page-local `blob:` URL of each decrypted image. Kept by
/// the pane, like [`Transfers`]: the conversation's view is rebuilt whenever it changes
/// (a message arrives, one's own read mark comes back), and an image shown, or one
/// still being fetched, must not go with the build of the line that asked for it. The
/// URLs are revoked when the pane goes.
#[derive(Clone, Copy)]
struct Images(RwSignal<HashMap<Id, String>>);

/// The message of one's own being edited, with the draft: kept by the pane, so the
/// draft survives the conversation's view being rebuilt as messages arrive.
#[derive(Clone, Copy)]
struct Editing(RwSignal<Option<(Id, String)>>);

/// "12.3 KB", "4 MB", as the person's language writes them.
fn size_label(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let b = bytes as f64;
    // One decimal at most.
    let tenths = |n: f64| (n * 10.0).round() / 10.0;
    if b < KB {
        tf(Msg::MessagesSizeBytes, &[("count", Arg::from(bytes))])
    } else if b < KB * KB {
        tf(Msg::MessagesSizeKb, &[("size", Arg::from(tenths(b / KB)))])
    } else {
        tf(
            Msg::MessagesSizeMb,
            &[("size", Arg::from(tenths(b / (KB * KB))))],
        )
    }
}

/// A message is too long, in words.
fn too_long() -> String {
    tf(Msg::MessagesTooLong, &[("max", Arg::from(MAX_CHARS))])
}

/// Progress (0.0 to 1.0) in whole percent, for a message's `$percent`.
fn percent(progress: f64) -> Arg<'static> {
    Arg::from((progress * 100.0).clamp(0.0, 100.0).round())
}

/// `msg` split around its variable `var`: the words before and after it, so the value
/// (data: a name, a code) can sit in its own `translate="no"` element wherever the
/// language puts it.
fn around(msg: Msg, var: &str) -> (String, String) {
    const MARK: &str = "\u{1}";
    let text = tf(msg, &[(var, Arg::from(MARK))]);
    match text.split_once(MARK) {
        Some((before, after)) => (before.to_owned(), after.to_owned()),
        None => (text, String::new()),
    }
}

#[component]
pub fn ConversationPane(selected: RwSignal<Option<Id>>) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    provide_context(Transfers(RwSignal::new(HashMap::new())));
    let editing = Editing(RwSignal::new(None));
    provide_context(editing);
    // Starting or ending an edit redraws the conversation; typing in it does not.
    let edited_id = Memo::new(move |_| editing.0.with(|e| e.as_ref().map(|(id, _)| id.clone())));
    let current = Memo::new(move |_| {
        let id = selected.get()?;
        ctx.inbox
            .with(|i| i.conversations.iter().find(|c| c.id == id).cloned())
    });
    let images = Images(RwSignal::new(HashMap::new()));
    provide_context(images);
    on_cleanup(move || {
        let _ = images.0.try_with_untracked(|m| {
            for url in m.values() {
                let _ = web_sys::Url::revoke_object_url(url);
            }
        });
    });
    // What is on screen counts as read: tell the others (and one's other devices).
    Effect::new(move |_| {
        if let Some(c) = current.get()
            && c.joined
            && c.unread > 0
        {
            submit(ctx, Job::Seen { conversation: c.id });
        }
    });
    // The composer is built once per conversation, so what is being typed (and the
    // focus) survives messages arriving.
    let writable = Memo::new(move |_| {
        current.with(|c| {
            c.as_ref()
                .filter(|c| c.joined && !c.left)
                .map(|c| c.id.clone())
        })
    });
    view! {
        <section class="conversation-pane card stack" aria-labelledby="conversation-title">
            {move || {
                edited_id.track();
                match current.get() {
                    None => view! { <p class="muted">{crate::tr!(MessagesChoose)}</p> }.into_any(),
                    Some(c) => view! { <Conversation c/> }.into_any(),
                }
            }}
            {move || writable.get().map(|conversation| view! { <Composer conversation/> })}
        </section>
    }
    .into_any()
}

fn state_line(line: &Line) -> impl IntoView + use<> {
    let Some(state) = line.state else {
        return ().into_any();
    };
    let retry = line.request.filter(|_| state == Sending::Failed);
    let ctx = use_ctx();
    view! {
        <span class="line-state" data-state=state.id()>{move || t(state.label())}</span>
        {retry.map(|request| view! {
            <Button variant=Variant::Quiet small=true class="retry"
                on:click=move |_| if let Some(ctx) = ctx { submit(ctx, Job::Retry { request }) }>
                {crate::tr!(MessagesRetry)}
            </Button>
        })}
    }
    .into_any()
}

#[component]
fn Conversation(c: ConversationView) -> impl IntoView {
    let members = c
        .members
        .iter()
        .map(|m| {
            let role = m.role;
            view! {
                <li class="member" data-role=m.role.as_str() data-me=m.me.to_string()>
                    <span class="member-name" translate="no">{m.name.clone()}</span>
                    " · "<span class="member-role">{move || t(role_name(role))}</span>
                    {m.me.then(|| view! { " "{crate::tr!(MessagesThisBrowser)} })}
                    {m.removal_pending.then(|| view! {
                        <span class="pending">" · "{crate::tr!(MessagesRemovalPending)}</span>
                    })}
                </li>
            }
        })
        .collect_view();
    let lines = c
        .lines
        .iter()
        .map(|l| {
            let text = match &l.body {
                Body::Text(text) => {
                    view! { <p class="line-text" translate="no">{text.clone()}</p> }.into_any()
                }
                Body::Attachment(a) => attachment_line(a.clone(), l.seq.is_some()).into_any(),
                Body::Deleted => {
                    view! { <p class="line-text deleted">{crate::tr!(MessagesDeleted)}</p> }
                        .into_any()
                }
            };
            let changeable = (l.mine && l.seq.is_some() && c.joined && !c.left)
                .then(|| match &l.body {
                    Body::Text(text) => Some(text.clone()),
                    _ => None,
                })
                .flatten();
            let text = match changeable.clone() {
                Some(current) => own_text(c.id.clone(), l.id.clone(), current, text).into_any(),
                None => text,
            };
            let role = l.role;
            view! {
                <li class="line" data-mine=l.mine.to_string() data-seq=l.seq.map(|s| s.to_string())>
                    <span class="line-author"><span translate="no">{l.author.clone()}</span>
                        " · "{move || t(role_name(role))}</span>
                    {text}
                    {l.edited.then(|| view! { <span class="edited">{crate::tr!(MessagesEdited)}</span> })}
                    {l.shared_by.clone().map(|by| view! {
                        <span class="shared-by">{move || {
                            let (before, after) = around(Msg::MessagesSharedBy, "name");
                            view! { {before}<span translate="no">{by.clone()}</span>{after} }
                        }}</span>
                    })}
                    {state_line(l)}
                </li>
            }
        })
        .collect_view();
    let title = c.title.clone();
    // A patient's name is data; the other titles are words.
    let title_name = title.is_name().then_some("no");
    let member_count = c.members.len();
    let unreadable = c.unreadable;
    let lost = c.lost;
    let (missing, reordered) = (c.missing, c.reordered);
    view! {
        <div class="conversation stack" data-conversation=c.id.to_string() data-joined=c.joined.to_string()
            data-care-team=c.care_team.to_string()>
            <header class="stack-sm">
                <h2 id="conversation-title" class="section-title" translate=title_name>{move || title.text()}</h2>
                {c.care_team.then(|| view! {
                    <p class="muted care-team-note">{crate::tr!(MessagesCareTeamNote)}</p>
                })}
                {c.code.clone().map(|code| view! {
                    <p class="verification">{move || {
                        let (before, after) = around(Msg::MessagesVerification, "code");
                        view! {
                            {before}<code id="verification-code" translate="no">{code.clone()}</code>{after}
                        }
                    }}</p>
                })}
                <details class="members-box">
                    <summary>{crate::tr!(MessagesMemberDevices, count = member_count)}</summary>
                    <ul class="members">{members}</ul>
                </details>
            </header>
            {(!c.joined || c.history_pending).then(|| view! {
                <p id="history-pending" class="notice" role="status">{crate::tr!(MessagesHistoryPending)}</p>
            })}
            {c.catching_up.then(|| view! {
                <p id="catching-up" class="notice" role="status">{crate::tr!(MessagesCatchingUp)}</p>
            })}
            {c.left.then(|| view! {
                <p class="notice" role="status">{crate::tr!(MessagesLeft)}</p>
            })}
            {c.problem.clone().map(|p| view! { <p class="error" role="alert">{move || p.text()}</p> })}
            {(lost > 0).then(|| view! {
                <p id="messages-lost" class="notice">{crate::tr!(MessagesLost, count = lost)}</p>
            })}
            {(missing > 0).then(|| view! {
                <p id="messages-missing" class="notice">{crate::tr!(MessagesMissing, count = missing)}</p>
            })}
            {(reordered > 0).then(|| view! {
                <p id="messages-reordered" class="notice">{crate::tr!(MessagesReordered, count = reordered)}</p>
            })}
            {(unreadable > 0).then(|| view! {
                <p class="notice">{crate::tr!(MessagesUnverified, count = unreadable)}</p>
            })}
            <ol class="transcript" aria-live="polite" aria-label=crate::tr!(MessagesTranscript)>{lines}</ol>
        </div>
    }
    .into_any()
}

/// One's own text message: shown as it is, with Edit and Delete; or, while editing, a
/// field with the draft. Both changes travel as new MLS messages; everyone sees the
/// message as edited or deleted.
fn own_text(conversation: Id, message: Id, current: String, shown: AnyView) -> impl IntoView {
    let editing = use_context::<Editing>();
    let confirm = crate::components::dialog::use_confirm();
    let ctx = use_ctx();
    let (Some(editing), Some(ctx)) = (editing, ctx) else {
        return shown.into_any();
    };
    let is_editing = editing
        .0
        .with_untracked(|e| e.as_ref().is_some_and(|(id, _)| *id == message));
    if is_editing {
        let draft = editing
            .0
            .with_untracked(|e| e.as_ref().map(|(_, d)| d.clone()))
            .unwrap_or_default();
        let error: RwSignal<Option<String>> = RwSignal::new(None);
        let id = message.clone();
        let save = move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let body = editing
                .0
                .with_untracked(|e| e.as_ref().map(|(_, d)| d.trim().to_owned()))
                .unwrap_or_default();
            if body.is_empty() {
                error.set(Some(t(Msg::MessagesEditEmpty)));
                return;
            }
            if body.chars().count() > MAX_CHARS {
                error.set(Some(too_long()));
                return;
            }
            editing.0.set(None);
            submit(
                ctx,
                Job::Send {
                    conversation: conversation.clone(),
                    content: Content::Edit {
                        id: id.clone(),
                        body,
                    },
                },
            );
        };
        return view! {
            <form class="edit-form stack-sm" on:submit=save novalidate=true>
                <label class="field-label" for="edit-text">{crate::tr!(MessagesEditLabel)}</label>
                <textarea id="edit-text" rows="3" translate="no" prop:value=draft
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        editing.0.update_untracked(|e| {
                            if let Some((_, d)) = e {
                                *d = text;
                            }
                        });
                    }></textarea>
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <div class="actions">
                    <Button submit=true small=true class="save-edit">{crate::tr!(Save)}</Button>
                    <Button variant=Variant::Secondary small=true class="cancel-edit"
                        on:click=move |_| editing.0.set(None)>{crate::tr!(Cancel)}</Button>
                </div>
            </form>
        }
        .into_any();
    }
    let edit = {
        let message = message.clone();
        move |_| editing.0.set(Some((message.clone(), current.clone())))
    };
    let delete = move |_| {
        let Some(confirm) = confirm else { return };
        let (conversation, message) = (conversation.clone(), message.clone());
        confirm.ask(crate::components::dialog::Request {
            title: t(Msg::MessagesDeleteTitle),
            message: t(Msg::MessagesDeleteText),
            confirm: Msg::MessagesDeleteConfirm,
            on_confirm: Box::new(move || {
                submit(
                    ctx,
                    Job::Send {
                        conversation,
                        content: Content::Delete { id: message },
                    },
                );
            }),
            on_cancel: None,
        });
    };
    view! {
        {shown}
        <div class="line-actions">
            <Button variant=Variant::Quiet small=true class="edit-message" on:click=edit>
                {crate::tr!(MessagesEdit)}
            </Button>
            <Button variant=Variant::QuietDanger small=true class="delete-message" on:click=delete>
                {crate::tr!(MessagesDelete)}
            </Button>
        </div>
    }
    .into_any()
}

/// An attachment in the transcript: its name and size, and a download that decrypts it
/// in this browser.
fn attachment_line(a: Attachment, stored: bool) -> impl IntoView {
    let transfers = use_context::<Transfers>();
    let ctx = use_ctx();
    let blob = a.blob.clone();
    let state = move || transfers.and_then(|t| t.0.with(|m| m.get(&blob).cloned()));
    let state_for_button = state.clone();
    let fetch = {
        let a = a.clone();
        move |_| {
            let (Some(ctx), Some(transfers)) = (ctx, transfers) else {
                return;
            };
            if matches!(
                transfers.0.get_untracked().get(&a.blob),
                Some(Transfer::Running(_))
            ) {
                return;
            }
            leptos::task::spawn_local(download(ctx, transfers, a.clone()));
        }
    };
    // An image is shown here once decrypted, through a URL local to this page, kept by
    // the pane (see [`Images`]) so that it outlives this build of the line.
    let images = use_context::<Images>();
    let shown = {
        let blob = a.blob.clone();
        move || images.and_then(|i| i.0.with(|m| m.get(&blob).cloned()))
    };
    let shown_for_view = shown.clone();
    let viewable = blob::VIEWABLE_IMAGES.contains(&a.mime.as_str());
    let state_for_view = state.clone();
    let view_image = {
        let a = a.clone();
        move |_| {
            let (Some(ctx), Some(transfers), Some(images)) = (ctx, transfers, images) else {
                return;
            };
            if images.0.with_untracked(|m| m.contains_key(&a.blob))
                || matches!(
                    transfers.0.get_untracked().get(&a.blob),
                    Some(Transfer::Running(_))
                )
            {
                return;
            }
            leptos::task::spawn_local(show(ctx, transfers, a.clone(), images));
        }
    };
    let size = a.size;
    view! {
        <div class="line-attachment stack-sm" data-blob=a.blob.to_string()>
            <p><span class="attachment-name" translate="no">{a.name.clone()}</span>" · "{move || size_label(size)}</p>
            {stored.then(|| view! {
                <div class="attachment-actions">
                    {viewable.then(|| view! {
                        <Button variant=Variant::Quiet small=true class="attachment-view"
                            attr:disabled=move || shown_for_view().is_some()
                                || matches!(state_for_view(), Some(Transfer::Running(_)))
                            on:click=view_image>
                            {crate::tr!(MessagesShowImage)}
                        </Button>
                    })}
                    <Button variant=Variant::Quiet small=true class="attachment-download"
                        attr:disabled=move || matches!(state_for_button(), Some(Transfer::Running(_)))
                        on:click=fetch>
                        {crate::tr!(MessagesDownload)}
                    </Button>
                </div>
            })}
            {move || shown().map(|url| view! {
                <img class="attachment-image" translate="no" src=url alt=a.name.clone()/>
            })}
            {move || match state() {
                Some(Transfer::Running(p)) => view! {
                    <label class="transfer">{tf(Msg::MessagesDownloading, &[("percent", percent(p))])}
                        <progress class="download-progress" max="1" value=p></progress></label>
                }.into_any(),
                Some(Transfer::Failed(e)) => view! { <p class="field-error" role="alert">{e}</p> }.into_any(),
                None => ().into_any(),
            }}
        </div>
    }
}

/// Downloads and decrypts an attachment, showing the progress in its line (and any
/// failure, as the person should read it). `None` if it failed.
async fn fetch_plain(ctx: Ctx, transfers: Transfers, a: &Attachment) -> Option<js_sys::Uint8Array> {
    let blob_id = a.blob.clone();
    let set = move |state: Option<Transfer>| {
        transfers.0.try_update(|m| match state {
            Some(s) => {
                m.insert(blob_id.clone(), s);
            }
            None => {
                m.remove(&blob_id);
            }
        });
    };
    set(Some(Transfer::Running(0.0)));
    let progress: Rc<dyn Fn(f64)> = {
        let set = set.clone();
        Rc::new(move |p| set(Some(Transfer::Running(p))))
    };
    let result = async {
        let sealed = blob::download(ctx, &a.blob, progress).await?;
        blob::open(&sealed, &a.key, blob::Kind::Attachment).await
    }
    .await;
    match result {
        Ok(plain) => {
            set(None);
            Some(plain)
        }
        Err(e) => {
            set(Some(Transfer::Failed(e)));
            None
        }
    }
}

/// Downloads and decrypts an image attachment, then shows it in its line (whichever
/// build of the line is on screen by then).
async fn show(ctx: Ctx, transfers: Transfers, a: Attachment, images: Images) {
    let Some(plain) = fetch_plain(ctx, transfers, &a).await else {
        return;
    };
    match blob::image_url(&plain, &a.mime) {
        Ok(url) => match images
            .0
            .try_update(|m| m.insert(a.blob.clone(), url.clone()))
        {
            // The pane went meanwhile: nothing shows the image.
            None => {
                let _ = web_sys::Url::revoke_object_url(&url);
            }
            // Shown twice over (two lines with the same file): the older URL goes.
            Some(Some(older)) => {
                let _ = web_sys::Url::revoke_object_url(&older);
            }
            Some(None) => {}
        },
        Err(e) => {
            transfers.0.try_update(|m| {
                m.insert(a.blob.clone(), Transfer::Failed(e));
            });
        }
    }
}

async fn download(ctx: Ctx, transfers: Transfers, a: Attachment) {
    let Some(plain) = fetch_plain(ctx, transfers, &a).await else {
        return;
    };
    if let Err(e) = blob::save(&plain, &a.name) {
        transfers.0.try_update(|m| {
            m.insert(a.blob.clone(), Transfer::Failed(e));
        });
    }
}

/// Reads, encrypts and uploads the chosen file, then sends its key and name inside an
/// MLS message. Problems come back as the person should read them.
async fn attach(
    ctx: Ctx,
    conversation: Id,
    file: web_sys::File,
    progress: RwSignal<Option<f64>>,
) -> Result<(), String> {
    let name = file.name();
    let size = file.size() as u64;
    if size == 0 {
        return Err(t(Msg::MessagesFileEmpty));
    }
    if size > MAX_ATTACHMENT_BYTES {
        return Err(tf(
            Msg::MessagesFileTooLarge,
            &[
                ("max", Arg::from(size_label(MAX_ATTACHMENT_BYTES))),
                ("size", Arg::from(size_label(size))),
            ],
        ));
    }
    if name.trim().is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(tf(
            Msg::MessagesFileName,
            &[("max", Arg::from(MAX_NAME_CHARS))],
        ));
    }
    let mime = Some(file.type_())
        .filter(|m| !m.is_empty() && m.len() <= 100 && !m.chars().any(char::is_control))
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let id = random_id().ok_or_else(|| t(Msg::E2eeNoRandom))?;
    progress.try_set(Some(0.0));
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| t(Msg::MessagesFileUnreadable))?;
    let plain = js_sys::Uint8Array::new(&buffer);
    let sealed = blob::seal(&plain, blob::Kind::Attachment).await?;
    let report: Rc<dyn Fn(f64)> = Rc::new(move |p| {
        progress.try_set(Some(p));
    });
    let stored = blob::upload(ctx, &conversation, &sealed.bytes, report).await?;
    submit(
        ctx,
        Job::Send {
            conversation,
            content: Content::Attachment {
                id,
                blob: stored.id,
                key: sealed.key,
                name,
                size,
                mime,
            },
        },
    );
    Ok(())
}

#[component]
fn Composer(conversation: Id) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let draft = RwSignal::new(String::new());
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let uploading: RwSignal<Option<f64>> = RwSignal::new(None);
    let attach_conversation = conversation.clone();
    let chosen = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let file = input.files().and_then(|f| f.get(0));
        // The same file can be chosen again after a failure.
        input.set_value("");
        let Some(file) = file else { return };
        if uploading.get_untracked().is_some() {
            error.set(Some(t(Msg::MessagesFileWait)));
            return;
        }
        error.set(None);
        let conversation = attach_conversation.clone();
        leptos::task::spawn_local(async move {
            let result = attach(ctx, conversation, file, uploading).await;
            uploading.try_set(None);
            if let Err(e) = result {
                error.try_set(Some(e));
            }
        });
    };
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = draft.get_untracked().trim().to_owned();
        if body.is_empty() {
            error.set(Some(t(Msg::MessagesWriteFirst)));
            return;
        }
        if body.chars().count() > MAX_CHARS {
            error.set(Some(too_long()));
            return;
        }
        let Some(id) = random_id() else {
            error.set(Some(t(Msg::E2eeNoRandom)));
            return;
        };
        error.set(None);
        draft.set(String::new());
        submit(
            ctx,
            Job::Send {
                conversation: conversation.clone(),
                content: Content::Text { id, body },
            },
        );
    };
    view! {
        <form class="composer stack-sm" on:submit=send novalidate=true>
            <label class="field-label" for="message-text">{crate::tr!(MessagesComposerLabel)}</label>
            <textarea id="message-text" name="message-text" rows="3" translate="no"
                aria-describedby="message-help"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
            <p id="message-help" class="field-help">{crate::tr!(MessagesComposerHelp)}</p>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            {move || uploading.get().map(|p| view! {
                <label class="transfer" role="status">{tf(Msg::MessagesUploading, &[("percent", percent(p))])}
                    <progress id="upload-progress" max="1" value=p></progress></label>
            })}
            <div class="actions">
                <Button submit=true class="send-message">{crate::tr!(MessagesSend)}</Button>
                <label class="attach">
                    <span>{move || tf(Msg::MessagesAttach, &[("max", Arg::from(size_label(MAX_ATTACHMENT_BYTES)))])}</span>
                    <input type="file" id="attachment-file" on:change=chosen/>
                </label>
            </div>
        </form>
    }
    .into_any()
}
