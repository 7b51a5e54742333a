//! Messages, shared by patients and clinicians: the conversations with unread counts,
//! the open conversation, and starting a new one. Everything shown comes from the
//! browser's own MLS client ([`crate::e2ee`]); the server only ever held ciphertext.

mod conversation;
mod start;

use haven_protocol::identity::Id;
use leptos::prelude::*;

use crate::components::empty::EmptyState;
use crate::context::use_ctx;
use crate::e2ee::inbox::Status;
use crate::i18n::Msg;

use conversation::ConversationPane;
use start::StartConversation;

#[component]
pub fn Messages() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let selected: RwSignal<Option<Id>> = RwSignal::new(None);
    // The first conversation opens by itself.
    Effect::new(move |_| {
        if selected.with(Option::is_none)
            && let Some(first) = ctx.inbox.with(|i| {
                i.conversations
                    .iter()
                    .find(|c| c.visit.is_none())
                    .map(|c| c.id.clone())
            })
        {
            selected.set(Some(first));
        }
    });
    // Memos: the layout is built once, not again for every message that arrives.
    let status = Memo::new(move |_| ctx.inbox.with(|i| i.status.clone()));
    let ready = Memo::new(move |_| status.get() == Status::Ready);
    view! {
        <div id="messages" class="messages stack" data-e2ee=move || status.with(Status::id)>
            {move || match status.get() {
                Status::Off | Status::Starting => view! {
                    <p class="loading" role="status">{crate::tr!(MessagesSettingUp)}</p>
                }.into_any(),
                Status::Ready => ().into_any(),
                failed @ (Status::Failed(_) | Status::Stopped { .. }) => view! {
                    <p id="e2ee-failed" class="error" role="alert">{failed.failure()}</p>
                }.into_any(),
            }}
            {move || ready.get().then(|| view! {
                <div class="messages-layout">
                    <nav class="conversation-list card" aria-label=crate::tr!(MessagesConversations)>
                        <StartConversation selected/>
                        <ConversationList selected/>
                    </nav>
                    <ConversationPane selected/>
                </div>
            })}
        </div>
    }
    .into_any()
}

#[component]
fn ConversationList(selected: RwSignal<Option<Id>>) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let rows = move || {
        ctx.inbox.with(|i| {
            // A visit's group shows with its visit.
            i.conversations
                .iter()
                .filter(|c| c.visit.is_none())
                .map(|c| (c.id.clone(), c.title.clone(), c.unread))
                .collect::<Vec<_>>()
        })
    };
    view! {
        {move || rows().is_empty().then(|| view! {
            <EmptyState title=Msg::MessagesNoneTitle text=Msg::MessagesNoneText/>
        })}
        <ul class="conversations">
            <For each=rows key=|row| row.clone() let:row>
                {
                    let (id, title, unread) = row;
                    let current = {
                        let id = id.clone();
                        move || selected.with(|s| s.as_ref() == Some(&id))
                    };
                    let open = {
                        let id = id.clone();
                        move |_| selected.set(Some(id.clone()))
                    };
                    // A patient's name is data; the other titles are words.
                    let name = title.is_name().then_some("no");
                    view! {
                        <li>
                            <button type="button" class="conversation" data-conversation=id.to_string()
                                aria-current=move || current().then_some("true") on:click=open>
                                <span class="conversation-title" translate=name>{move || title.text()}</span>
                                {(unread > 0).then(|| view! {
                                    <span class="badge unread" data-unread=unread.to_string()
                                        aria-label={crate::tr!(MessagesUnread, count = unread)}>{unread}</span>
                                })}
                            </button>
                        </li>
                    }
                }
            </For>
        </ul>
    }
    .into_any()
}
