//! Form fields: the label above the control, optional help text, and an inline error
//! that the control points at (`aria-describedby`, `aria-invalid`), so a screen reader
//! reads the label, the help and the error with the control.

use leptos::prelude::*;

use crate::i18n::{Msg, t};

/// The ids of the help and error texts of the control `id`, for `aria-describedby`.
fn described_by(id: &str, help: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if help {
        ids.push(format!("{id}-help"));
    }
    if error {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// Label, help, control and error, in reading order.
fn frame(
    id: &'static str,
    label: Msg,
    help: Option<Msg>,
    error: MaybeProp<String>,
    control: impl IntoView,
) -> impl IntoView {
    view! {
        <div class="field">
            <label class="field-label" for=id>{move || t(label)}</label>
            {help.map(|h| view! { <p class="field-help" id=format!("{id}-help")>{move || t(h)}</p> })}
            {control}
            {move || error.get().map(|e| view! { <p class="field-error" id=format!("{id}-error")>{e}</p> })}
        </div>
    }
}

/// A one-line text input bound to `value`.
#[component]
pub fn TextField(
    id: &'static str,
    label: Msg,
    value: RwSignal<String>,
    /// The input's `type`.
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(optional)] help: Option<Msg>,
    #[prop(into, optional)] error: MaybeProp<String>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let control = view! {
        <input id=id name=id type=kind
            autocomplete=autocomplete inputmode=inputmode maxlength=maxlength required=required
            aria-describedby=move || described_by(id, help.is_some(), error.get().is_some())
            aria-invalid=move || error.get().is_some().then_some("true")
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))/>
    };
    frame(id, label, help, error, control)
}

/// A multi-line text area bound to `value`.
#[component]
pub fn TextArea(
    id: &'static str,
    label: Msg,
    value: RwSignal<String>,
    #[prop(optional)] help: Option<Msg>,
    #[prop(into, optional)] error: MaybeProp<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let control = view! {
        <textarea id=id name=id required=required
            aria-describedby=move || described_by(id, help.is_some(), error.get().is_some())
            aria-invalid=move || error.get().is_some().then_some("true")
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))></textarea>
    };
    frame(id, label, help, error, control)
}

/// A choice among `options` (value, label), bound to `value`.
#[component]
pub fn SelectField(
    id: &'static str,
    label: Msg,
    value: RwSignal<String>,
    options: Vec<(String, String)>,
    #[prop(optional)] help: Option<Msg>,
    #[prop(into, optional)] error: MaybeProp<String>,
) -> impl IntoView {
    let options = options
        .into_iter()
        .map(|(v, l)| {
            let selected = value.get_untracked() == v;
            view! { <option value=v selected=selected>{l}</option> }
        })
        .collect_view();
    let control = view! {
        <select id=id name=id
            aria-describedby=move || described_by(id, help.is_some(), error.get().is_some())
            aria-invalid=move || error.get().is_some().then_some("true")
            prop:value=move || value.get()
            on:change=move |ev| value.set(event_target_value(&ev))>
            {options}
        </select>
    };
    frame(id, label, help, error, control)
}

/// Parses what was typed with one of the protocol's own parsers (the server uses the
/// same), showing its message under the field when it is refused.
pub fn check<T>(
    input: &str,
    parse: fn(&str) -> Result<T, haven_protocol::identity::FieldError>,
    error: RwSignal<Option<String>>,
) -> Option<T> {
    match parse(input) {
        Ok(value) => {
            error.set(None);
            Some(value)
        }
        Err(e) => {
            error.set(Some(crate::i18n::field_error(e)));
            None
        }
    }
}
