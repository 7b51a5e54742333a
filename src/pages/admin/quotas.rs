//! Storage quotas: what each device, each person and the whole organisation may store,
//! per day and held at once. Typed in megabytes; the server keeps bytes.

use haven_protocol::messaging::QUOTA_RANGE_BYTES;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{Map, Value};

use crate::components::button::Button;
use crate::components::field::TextField;
use crate::components::toast::use_toasts;
use crate::context::use_ctx;
use crate::i18n::{Msg, t, tf};

const MB: u64 = 1_000_000;

/// A quota as typed (whole megabytes), or the message to show under its field.
fn parse_mb(input: &str) -> Result<u64, String> {
    let (min, max) = (QUOTA_RANGE_BYTES.start() / MB, QUOTA_RANGE_BYTES.end() / MB);
    match input.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v * MB),
        _ => Err(tf(
            Msg::AdminQuotaInvalid,
            &[
                ("min", min.to_string().into()),
                ("max", max.to_string().into()),
            ],
        )),
    }
}

/// One field of the form: its id, label, where its value sits in `Quotas` (scope, key),
/// and where its text and error live. The JSON is read and written as it is: typed
/// parsing would cost the bundle more than these six numbers are worth.
struct Field {
    id: &'static str,
    label: Msg,
    at: (&'static str, &'static str),
    text: RwSignal<String>,
    error: RwSignal<Option<String>>,
}

impl Field {
    fn new(id: &'static str, label: Msg, at: (&'static str, &'static str)) -> Self {
        Self {
            id,
            label,
            at,
            text: RwSignal::new(String::new()),
            error: RwSignal::new(None),
        }
    }

    /// Shows its value from the server's `Quotas`; false if it is not there.
    fn show(&self, quotas: &Value) -> bool {
        let (scope, key) = self.at;
        let bytes = quotas
            .get(scope)
            .and_then(|q| q.get(key))
            .and_then(Value::as_u64);
        if let Some(bytes) = bytes {
            self.text.set((bytes / MB).to_string());
        }
        bytes.is_some()
    }

    /// The bytes typed, or `None` with the field's error shown.
    fn read(&self) -> Option<u64> {
        let parsed = parse_mb(&self.text.get_untracked());
        self.error.set(parsed.as_ref().err().cloned());
        parsed.ok()
    }
}

#[component]
pub fn QuotaForm() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let toasts = use_toasts();
    const DAY: &str = "bytes_per_day";
    const HELD: &str = "bytes_held";
    let fields = StoredValue::new([
        Field::new(
            "quota-device-day",
            Msg::AdminQuotaDeviceDay,
            ("device", DAY),
        ),
        Field::new(
            "quota-device-held",
            Msg::AdminQuotaDeviceHeld,
            ("device", HELD),
        ),
        Field::new(
            "quota-person-day",
            Msg::AdminQuotaPersonDay,
            ("person", DAY),
        ),
        Field::new(
            "quota-person-held",
            Msg::AdminQuotaPersonHeld,
            ("person", HELD),
        ),
        Field::new(
            "quota-org-day",
            Msg::AdminQuotaOrgDay,
            ("organisation", DAY),
        ),
        Field::new(
            "quota-org-held",
            Msg::AdminQuotaOrgHeld,
            ("organisation", HELD),
        ),
    ]);
    let shown = move |q: &Value| fields.with_value(|f| f.iter().all(|field| field.show(q)));
    let loaded = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        match ctx.call::<Value>("GET", "/org/quotas", None).await {
            Ok(q) if shown(&q) => loaded.set(true),
            Ok(_) => load_error.set(Some(t(Msg::ErrorMalformed))),
            Err(e) => load_error.set(Some(e.to_string())),
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        // Every field is read (so each shows its own error) before any is sent.
        let read: Vec<(&'static str, &'static str, Option<u64>)> = fields.with_value(|f| {
            f.iter()
                .map(|field| (field.at.0, field.at.1, field.read()))
                .collect()
        });
        let mut wanted = Map::new();
        for (scope, key, bytes) in read {
            let Some(bytes) = bytes else { return };
            if let Value::Object(quota) = wanted
                .entry(scope)
                .or_insert_with(|| Value::Object(Map::new()))
            {
                quota.insert(key.into(), bytes.into());
            }
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = ctx
                .call::<Value>("PUT", "/org/quotas", Some(Value::Object(wanted)))
                .await;
            busy.set(false);
            match (r, toasts) {
                (Ok(q), Some(toasts)) => {
                    shown(&q);
                    toasts.success(t(Msg::AdminQuotaSaved));
                }
                (Err(e), Some(toasts)) => toasts.error(e.to_string()),
                _ => {}
            }
        });
    };
    let inputs = fields.with_value(|f| {
        f.iter()
            .map(|field| {
                view! {
                    <TextField id=field.id label=field.label value=field.text error=field.error
                        inputmode="numeric"/>
                }
            })
            .collect_view()
    });
    view! {
        {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <form id="quotas" class="card form" novalidate on:submit=submit
            aria-labelledby="quotas-title" data-loaded=move || loaded.get().to_string()>
            <h2 id="quotas-title" class="section-title">{crate::tr!(AdminQuotaTitle)}</h2>
            <p class="muted">{crate::tr!(AdminQuotaHelp)}</p>
            {inputs}
            <div class="form-actions">
                <Button submit=true attr:disabled=move || busy.get()>{crate::tr!(Save)}</Button>
            </div>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn quotas_are_typed_in_whole_megabytes_within_the_range() {
        assert_eq!(parse_mb(" 250 "), Ok(250 * MB));
        assert_eq!(parse_mb("1"), Ok(MB));
        assert!(parse_mb("0").is_err());
        assert!(parse_mb("1.5").is_err());
        assert!(parse_mb("100000001").is_err());
        assert!(parse_mb("lots").unwrap_err().contains("1 to 100000000"));
    }
}
