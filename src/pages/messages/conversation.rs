//! One conversation: who is in it (verified names and roles), its verification code,
//! its messages with their states, and the composer.

use haven_mls::Content;
use haven_protocol::identity::Id;
use leptos::prelude::*;

use crate::components::button::{Button, Variant};
use crate::context::use_ctx;
use crate::e2ee::inbox::{Body, ConversationView, Line, Sending};
use crate::e2ee::messenger::Job;
use crate::e2ee::{random_id, submit};

/// Longest message, in characters (as `crates/mls` accepts).
const MAX_CHARS: usize = haven_mls::content::MAX_TEXT_CHARS;

#[component]
pub fn ConversationPane(selected: RwSignal<Option<Id>>) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let current = Memo::new(move |_| {
        let id = selected.get()?;
        ctx.inbox
            .with(|i| i.conversations.iter().find(|c| c.id == id).cloned())
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
            {move || match current.get() {
                None => view! { <p class="muted">"Choose a conversation."</p> }.into_any(),
                Some(c) => view! { <Conversation c/> }.into_any(),
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
        <span class="line-state" data-state=state.id()>{state.label()}</span>
        {retry.map(|request| view! {
            <Button variant=Variant::Quiet small=true class="retry"
                on:click=move |_| if let Some(ctx) = ctx { submit(ctx, Job::Retry { request }) }>
                "Try again"
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
            view! {
                <li class="member" data-role=m.role.as_str() data-me=m.me.to_string()>
                    <span class="member-name">{m.name.clone()}</span>
                    " · "<span class="member-role">{m.role.label()}</span>
                    {m.me.then_some(" (this browser)")}
                    {m.removal_pending.then(|| view! { <span class="pending">" · removal pending"</span> })}
                </li>
            }
        })
        .collect_view();
    let lines = c
        .lines
        .iter()
        .map(|l| {
            let text = match &l.body {
                Body::Text(t) => view! { <p class="line-text">{t.clone()}</p> }.into_any(),
                Body::Deleted => {
                    view! { <p class="line-text deleted">"Message deleted"</p> }.into_any()
                }
            };
            view! {
                <li class="line" data-mine=l.mine.to_string() data-seq=l.seq.map(|s| s.to_string())>
                    <span class="line-author">{l.author.clone()}" · "{l.role.label()}</span>
                    {text}
                    {l.edited.then(|| view! { <span class="edited">"(edited)"</span> })}
                    {state_line(l)}
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="conversation stack" data-conversation=c.id.to_string() data-joined=c.joined.to_string()>
            <header class="stack-sm">
                <h2 id="conversation-title" class="section-title">{c.title.clone()}</h2>
                {c.code.clone().map(|code| view! {
                    <p class="verification">"Verification code: "<code id="verification-code">{code}</code>
                        " — the same for everyone in this conversation. Compare it when you meet or call."</p>
                })}
                <details class="members-box">
                    <summary>{format!("{} member devices", c.members.len())}</summary>
                    <ul class="members">{members}</ul>
                </details>
            </header>
            {(!c.joined).then(|| view! {
                <p id="history-pending" class="notice" role="status">"History will appear when a care-team device is online."</p>
            })}
            {c.catching_up.then(|| view! { <p id="catching-up" class="notice" role="status">"Catching up…"</p> })}
            {c.left.then(|| view! { <p class="notice" role="status">"You are no longer a member of this conversation."</p> })}
            {c.problem.clone().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            {(c.unreadable > 0).then(|| view! {
                <p class="notice">{format!("{} messages could not be verified and are not shown.", c.unreadable)}</p>
            })}
            <ol class="transcript" aria-live="polite" aria-label="Messages">{lines}</ol>
        </div>
    }
    .into_any()
}

#[component]
fn Composer(conversation: Id) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let draft = RwSignal::new(String::new());
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = draft.get_untracked().trim().to_owned();
        if body.is_empty() {
            error.set(Some("Write a message first.".to_owned()));
            return;
        }
        if body.chars().count() > MAX_CHARS {
            error.set(Some(format!(
                "A message can be at most {MAX_CHARS} characters."
            )));
            return;
        }
        let Some(id) = random_id() else {
            error.set(Some(
                "This browser offers no secure random numbers.".to_owned(),
            ));
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
            <label class="field-label" for="message-text">"Message"</label>
            <textarea id="message-text" name="message-text" rows="3"
                aria-describedby="message-help"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
            <p id="message-help" class="field-help">"End-to-end encrypted: only the people in this conversation can read it."</p>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <div class="actions"><Button submit=true class="send-message">"Send"</Button></div>
        </form>
    }
    .into_any()
}
