//! The confirmation dialog for consequential actions (deactivating an account, changing
//! a role, withdrawing an invitation). It is the browser's modal `<dialog>`: the rest of
//! the page is inert while it is open, Escape cancels, focus starts on the safe choice
//! (Cancel) and goes back to where it was when the dialog closes. One dialog serves the
//! whole signed-in app; a view asks for it with [`use_confirm`].

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::i18n::{Msg, t};

/// What to ask, and what to do once the person confirms.
pub struct Request {
    pub title: String,
    pub message: String,
    /// The confirm button says what will happen ("Deactivate account"), never "OK".
    pub confirm: Msg,
    pub on_confirm: Box<dyn FnOnce()>,
    /// Runs when the person cancels (button, Escape) instead.
    pub on_cancel: Option<Box<dyn FnOnce()>>,
}

struct Pending {
    on_confirm: Box<dyn FnOnce()>,
    on_cancel: Option<Box<dyn FnOnce()>>,
}

#[derive(Clone, Copy)]
pub struct Confirm {
    text: RwSignal<(String, String, Msg)>,
    pending: StoredValue<Option<Pending>, LocalStorage>,
    opener: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
    dialog: NodeRef<html::Dialog>,
}

impl Confirm {
    /// Opens the dialog with `request`; a request still open is cancelled first.
    pub fn ask(self, request: Request) {
        self.settle(false);
        let opener = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        self.opener.set_value(opener);
        self.text
            .set((request.title, request.message, request.confirm));
        self.pending.set_value(Some(Pending {
            on_confirm: request.on_confirm,
            on_cancel: request.on_cancel,
        }));
        if let Some(dialog) = self.dialog.get_untracked()
            && !dialog.open()
            && dialog.show_modal().is_err()
        {
            // No modal possible (should not happen): never act without a yes.
            self.settle(false);
        }
    }

    /// Runs the pending choice once: confirm or cancel.
    fn settle(self, confirmed: bool) {
        let Some(pending) = self.pending.try_update_value(Option::take).flatten() else {
            return;
        };
        if confirmed {
            (pending.on_confirm)();
        } else if let Some(cancel) = pending.on_cancel {
            cancel();
        }
    }

    fn close(self, confirmed: bool) {
        if let Some(dialog) = self.dialog.get_untracked() {
            dialog.close();
        }
        self.settle(confirmed);
    }

    /// After any close (buttons, Escape): cancel what is still pending and put focus back.
    fn closed(self) {
        self.settle(false);
        let opener = self.opener.try_update_value(Option::take).flatten();
        let target = opener.filter(|e| e.is_connected()).or_else(|| {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("content"))
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        });
        if let Some(target) = target {
            let _ = target.focus();
        }
    }
}

/// Makes the dialog available below; render [`ConfirmDialog`] once with the result.
pub fn provide_confirm() -> Confirm {
    let confirm = Confirm {
        text: RwSignal::new((String::new(), String::new(), Msg::Confirm)),
        pending: StoredValue::new_local(None),
        opener: StoredValue::new_local(None),
        dialog: NodeRef::new(),
    };
    provide_context(confirm);
    confirm
}

pub fn use_confirm() -> Option<Confirm> {
    use_context::<Confirm>()
}

#[component]
pub fn ConfirmDialog(confirm: Confirm) -> impl IntoView {
    view! {
        <dialog id="confirm-dialog" class="dialog" node_ref=confirm.dialog
            aria-labelledby="confirm-title" aria-describedby="confirm-message"
            on:close=move |_| confirm.closed()>
            <div class="dialog-body">
                <h2 id="confirm-title">{move || confirm.text.with(|t| t.0.clone())}</h2>
                <p id="confirm-message">{move || confirm.text.with(|t| t.1.clone())}</p>
                <div class="form-actions">
                    <button type="button" id="confirm-cancel" class="btn btn-secondary" autofocus
                        on:click=move |_| confirm.close(false)>{crate::tr!(Cancel)}</button>
                    <button type="button" id="confirm-accept" class="btn btn-danger"
                        on:click=move |_| confirm.close(true)>{move || t(confirm.text.with(|text| text.2))}</button>
                </div>
            </div>
        </dialog>
    }
}
