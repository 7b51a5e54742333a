//! The organisation's brand, edited by its administrators: name, support contact,
//! default language and colours, with a live preview in those colours and the contrast
//! of every text colour on its background. Colours below 4.5:1 cannot be saved (the
//! server refuses them too, with the same checks from `haven-protocol`).

use haven_protocol::brand::{BrandColours, Colour, ContrastCheck, Language, MIN_TEXT_CONTRAST};
use haven_protocol::config::Brand;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::button::Button;
use crate::components::field::{SelectField, TextField};
use crate::components::toast::use_toasts;
use crate::context::use_ctx;

/// What the form calls each of [`BrandColours::FIELDS`].
const PICKS: [(&str, &str); 6] = [
    ("primary", "Buttons and links"),
    ("on_primary", "Text on buttons"),
    ("page", "Page background"),
    ("surface", "Cards and panels"),
    ("text", "Text"),
    ("text_muted", "Secondary text"),
];

/// What the contrast list says of one pair.
pub fn describe(check: &ContrastCheck) -> String {
    let label = |field: &str| {
        PICKS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(field, |(_, l)| *l)
            .to_lowercase()
    };
    format!(
        "{} on {}: {:.1}:1{}",
        label(check.foreground),
        label(check.background),
        check.ratio,
        if check.passes() {
            String::new()
        } else {
            format!(" (needs {MIN_TEXT_CONTRAST}:1)")
        }
    )
}

#[component]
pub fn BrandForm() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let toasts = use_toasts();
    let name = RwSignal::new(String::new());
    let support = RwSignal::new(String::new());
    let language = RwSignal::new("en".to_owned());
    let colours = RwSignal::new(BrandColours::default());
    let loaded = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        match ctx.call::<Brand>("GET", "/org/brand", None).await {
            Ok(brand) => {
                name.set(brand.name);
                support.set(brand.support);
                language.set(brand.language.as_str().to_owned());
                colours.set(brand.colours);
                loaded.set(true);
            }
            Err(e) => load_error.set(Some(e.to_string())),
        }
    });
    let failures = Memo::new(move |_| colours.with(BrandColours::contrast_failures).len());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if failures.get_untracked() > 0 {
            return;
        }
        let body = json!({
            "name": name.get_untracked().trim(),
            "colours": colours.get_untracked(),
            "support": support.get_untracked().trim(),
            "language": Language::parse(&language.get_untracked()).unwrap_or_default(),
        });
        busy.set(true);
        leptos::task::spawn_local(async move {
            let saved = ctx.call::<Brand>("PUT", "/org/brand", Some(body)).await;
            busy.set(false);
            match saved {
                Ok(brand) => {
                    crate::app::apply_brand(&brand);
                    if let Some(t) = toasts {
                        t.success(
                            "Saved. Everyone sees the new brand the next time the app loads."
                                .to_owned(),
                        );
                    }
                }
                Err(e) => {
                    if let Some(t) = toasts {
                        t.error(e.to_string());
                    }
                }
            }
        });
    };
    let pickers = PICKS
        .iter()
        .map(|(field, label)| {
            let field = *field;
            let id = format!("brand-{}", field.replace('_', "-"));
            view! {
                <div class="field colour-field">
                    <label class="field-label" for=id.clone()>{*label}</label>
                    <input id=id type="color"
                        prop:value=move || colours.with(|c| c.get(field).map(|c| c.hex()).unwrap_or_default())
                        on:input=move |ev| {
                            if let Ok(colour) = Colour::parse(&event_target_value(&ev)) {
                                colours.update(|c| {
                                    c.set(field, colour);
                                });
                            }
                        }/>
                </div>
            }
        })
        .collect_view();
    let checks = move || {
        colours
            .with(BrandColours::contrast_checks)
            .into_iter()
            .map(|check| {
                let pass = check.passes();
                view! {
                    <li data-pass=pass.to_string() class=if pass { "contrast ok" } else { "contrast fails" }>
                        {if pass { "Readable: " } else { "Too faint: " }}{describe(&check)}
                    </li>
                }
            })
            .collect_view()
    };
    // The preview draws with the chosen colours through the same custom properties the
    // app reads (set through the CSSOM, which the CSP allows).
    let preview_colour = move |property: &'static str| {
        move || {
            colours.with(|c| {
                c.custom_properties()
                    .into_iter()
                    .find(|(p, _)| *p == property)
                    .map(|(_, v)| v)
                    .unwrap_or_default()
            })
        }
    };
    let languages = vec![
        ("en".to_owned(), "English".to_owned()),
        ("es".to_owned(), "Español".to_owned()),
    ];
    view! {
        {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <form id="brand" class="card form" novalidate on:submit=submit aria-labelledby="brand-title"
            data-loaded=move || loaded.get().to_string()>
            <h2 id="brand-title" class="section-title">"Brand"</h2>
            <p class="muted">"How the app presents your organisation to patients and staff."</p>
            <TextField id="brand-name" label="Name" value=name maxlength="80" required=true/>
            <TextField id="brand-support" label="Support contact" value=support maxlength="200"
                help="How patients reach you for help: an address, a phone number. Leave empty for none."/>
            <SelectField id="brand-language" label="Default language" value=language options=languages/>
            <fieldset class="colours">
                <legend>"Colours"</legend>
                {pickers}
            </fieldset>
            <div id="brand-preview" class="brand-preview" aria-label="Preview"
                style:--haven-color-primary=preview_colour("--haven-color-primary")
                style:--haven-color-on-primary=preview_colour("--haven-color-on-primary")
                style:--haven-color-page=preview_colour("--haven-color-page")
                style:--haven-color-surface=preview_colour("--haven-color-surface")
                style:--haven-color-text=preview_colour("--haven-color-text")
                style:--haven-color-text-muted=preview_colour("--haven-color-text-muted")>
                <div class="preview-surface">
                    <p class="preview-title">{move || name.get()}</p>
                    <p class="preview-muted">"Secondary text, such as the time of a message."</p>
                    <span class="preview-link">"A link"</span>
                    <span class="preview-button">"A button"</span>
                </div>
            </div>
            <ul id="brand-contrast" class="contrast-list" aria-live="polite">{checks}</ul>
            {move || (failures.get() > 0).then(|| view! {
                <p id="brand-contrast-error" class="field-error" role="alert">
                    "Some text would be too faint to read. Choose darker text or lighter backgrounds to save."
                </p>
            })}
            <div class="form-actions">
                <Button submit=true attr:id="brand-save"
                    attr:disabled=move || busy.get() || !loaded.get() || failures.get() != 0>"Save brand"</Button>
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
    fn the_form_labels_every_colour_in_the_protocols_order() {
        let fields: Vec<&str> = PICKS.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, BrandColours::FIELDS);
    }

    #[wasm_bindgen_test]
    fn the_contrast_list_names_the_pair_and_what_it_needs() {
        let pale = BrandColours {
            text_muted: Colour::parse("#aaaaaa").unwrap_or(Colour::new(0, 0, 0)),
            ..BrandColours::default()
        };
        let failing: Vec<String> = pale.contrast_failures().iter().map(describe).collect();
        assert_eq!(failing.len(), 2);
        assert!(
            failing[0].starts_with("secondary text on page background: 2."),
            "{}",
            failing[0]
        );
        assert!(failing[0].ends_with("(needs 4.5:1)"), "{}", failing[0]);
    }
}
