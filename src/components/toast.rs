//! Toasts: the result of an action, announced politely (`aria-live`) and shown in a
//! corner. Successes fade after a while; errors stay until dismissed, so nobody misses
//! one. Every timer is owned here and cleared when the signed-in app goes.

use gloo_timers::callback::Timeout;
use leptos::prelude::*;

/// How long a success or a note stays, in milliseconds.
const LINGER_MS: u32 = 8_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Info,
    Error,
}

impl ToastKind {
    fn id(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Info => "info",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    text: String,
}

/// The toasts of the signed-in app; cheap to copy into any handler.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
    timers: StoredValue<Vec<(u64, Timeout)>, LocalStorage>,
}

impl Toasts {
    pub fn success(self, text: impl Into<String>) {
        self.push(ToastKind::Success, text.into());
    }

    pub fn info(self, text: impl Into<String>) {
        self.push(ToastKind::Info, text.into());
    }

    pub fn error(self, text: impl Into<String>) {
        self.push(ToastKind::Error, text.into());
    }

    fn push(self, kind: ToastKind, text: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| l.push(Toast { id, kind, text }));
        // Drop the timers of toasts already gone (never the one running now).
        let shown: Vec<u64> = self
            .list
            .with_untracked(|l| l.iter().map(|t| t.id).collect());
        self.timers
            .update_value(|t| t.retain(|(id, _)| shown.contains(id)));
        if kind != ToastKind::Error {
            let list = self.list;
            let timer = Timeout::new(LINGER_MS, move || {
                list.update(|l| l.retain(|t| t.id != id));
            });
            self.timers.update_value(|t| t.push((id, timer)));
        }
    }

    pub fn dismiss(self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
        self.timers
            .update_value(|t| t.retain(|(t_id, _)| *t_id != id));
    }
}

/// Makes toasts available below; their timers are cleared when the caller goes.
pub fn provide_toasts() -> Toasts {
    let toasts = Toasts {
        list: RwSignal::new(Vec::new()),
        next: StoredValue::new(0),
        timers: StoredValue::new_local(Vec::new()),
    };
    provide_context(toasts);
    on_cleanup(move || toasts.timers.set_value(Vec::new()));
    toasts
}

pub fn use_toasts() -> Option<Toasts> {
    use_context::<Toasts>()
}

/// Where toasts appear: one polite live region, present before anything is announced.
#[component]
pub fn ToastRegion(toasts: Toasts) -> impl IntoView {
    view! {
        <div id="toasts" class="toasts" aria-live="polite" aria-relevant="additions text">
            <For each=move || toasts.list.get() key=|t| t.id let(t)>
                <div class="toast" data-kind=t.kind.id()
                    role=(t.kind == ToastKind::Error).then_some("alert")>
                    <p>{t.text}</p>
                    <button type="button" class="btn btn-quiet dismiss" aria-label=crate::tr!(Dismiss)
                        on:click=move |_| toasts.dismiss(t.id)>"×"</button>
                </div>
            </For>
        </div>
    }
}
