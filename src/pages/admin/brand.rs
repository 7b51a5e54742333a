//! The organisation's brand, edited by its administrators: name, support contact,
//! default language and colours, with a live preview in those colours and the contrast
//! of every text colour on its background. Colours below 4.5:1 cannot be saved (the
//! server refuses them too, with the same checks from `haven-protocol`).

use haven_i18n::Arg;
use haven_protocol::brand::{
    BrandColours, Colour, ContrastCheck, Language, MAX_LOGO_BYTES, MIN_TEXT_CONTRAST,
};
use haven_protocol::config::Brand;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::button::Button;
use crate::components::field::TextField;
use crate::components::toast::use_toasts;
use crate::context::use_ctx;
use crate::i18n::{Lang, Msg, t, tf};

/// What the form calls each of [`BrandColours::FIELDS`]; `None` for a colour it has no
/// name for (shown by its wire name, as data).
fn colour_name(field: &str) -> Option<Msg> {
    match field {
        "primary" => Some(Msg::AdminColourPrimary),
        "on_primary" => Some(Msg::AdminColourOnPrimary),
        "page" => Some(Msg::AdminColourPage),
        "surface" => Some(Msg::AdminColourSurface),
        "text" => Some(Msg::AdminColourText),
        "text_muted" => Some(Msg::AdminColourTextMuted),
        _ => None,
    }
}

/// What the contrast list calls each pair of [`BrandColours::contrast_checks`].
fn pair_name(foreground: &str, background: &str) -> Option<Msg> {
    match (foreground, background) {
        ("text", "page") => Some(Msg::AdminPairTextPage),
        ("text", "surface") => Some(Msg::AdminPairTextSurface),
        ("text_muted", "page") => Some(Msg::AdminPairTextMutedPage),
        ("text_muted", "surface") => Some(Msg::AdminPairTextMutedSurface),
        ("on_primary", "primary") => Some(Msg::AdminPairOnPrimaryPrimary),
        ("primary", "surface") => Some(Msg::AdminPairPrimarySurface),
        _ => None,
    }
}

/// What the contrast list says of one pair, in the current language: whether it is
/// readable, its contrast, and what it needs when it is not.
pub fn describe(check: &ContrastCheck) -> String {
    let pair = match pair_name(check.foreground, check.background) {
        Some(msg) => t(msg),
        // A pair without a name of its own: the names of its two colours.
        None => {
            let colour = |field: &str| colour_name(field).map_or_else(|| field.to_owned(), t);
            tf(
                Msg::AdminPairOther,
                &[
                    ("foreground", Arg::from(colour(check.foreground))),
                    ("background", Arg::from(colour(check.background))),
                ],
            )
        }
    };
    // One decimal, as contrast ratios are given.
    let ratio = (check.ratio * 10.0).round() / 10.0;
    if check.passes() {
        tf(
            Msg::AdminContrastReadable,
            &[("pair", Arg::from(pair)), ("ratio", Arg::from(ratio))],
        )
    } else {
        tf(
            Msg::AdminContrastTooFaint,
            &[
                ("pair", Arg::from(pair)),
                ("ratio", Arg::from(ratio)),
                ("min", Arg::from(MIN_TEXT_CONTRAST)),
            ],
        )
    }
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
    let logo = RwSignal::new(None::<String>);
    let logo_error = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        match ctx.call::<Brand>("GET", "/org/brand", None).await {
            Ok(brand) => {
                logo.set(brand.logo);
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
                        t.success(crate::i18n::t(Msg::AdminBrandSaved));
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
    // The logo is sent on its own, as the file it is; the server checks it again.
    let logo_done = move |answer: Result<Brand, crate::transport::https::HttpError>, msg: Msg| {
        busy.set(false);
        match answer {
            Ok(brand) => {
                logo.set(brand.logo);
                logo_error.set(None);
                if let Some(toasts) = toasts {
                    toasts.success(t(msg));
                }
            }
            Err(e) => logo_error.set(Some(e.to_string())),
        }
    };
    let upload = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        let kind = file.type_();
        if kind != "image/png" && kind != "image/svg+xml" {
            logo_error.set(Some(t(Msg::AdminBrandLogoType)));
            return;
        }
        if file.size() > MAX_LOGO_BYTES as f64 {
            let kb = MAX_LOGO_BYTES / 1000;
            logo_error.set(Some(tf(Msg::AdminBrandLogoSize, &[("kb", Arg::from(kb))])));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            let Ok(buffer) = read else {
                busy.set(false);
                logo_error.set(Some(t(Msg::AdminBrandLogoUnreadable)));
                return;
            };
            let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
            let answer = ctx
                .call_bytes::<Brand>("PUT", "/org/brand/logo", &bytes, &kind)
                .await;
            logo_done(answer, Msg::AdminBrandLogoSaved);
        });
    };
    let remove = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = ctx.call::<Brand>("DELETE", "/org/brand/logo", None).await;
            logo_done(answer, Msg::AdminBrandLogoRemoved);
        });
    };
    let pickers = BrandColours::FIELDS
        .into_iter()
        .map(|field| {
            let id = format!("brand-{}", field.replace('_', "-"));
            let label = match colour_name(field) {
                Some(msg) => view! {
                    <label class="field-label" for=id.clone()>{move || t(msg)}</label>
                }
                .into_any(),
                None => view! {
                    <label class="field-label" for=id.clone() translate="no">{field}</label>
                }
                .into_any(),
            };
            view! {
                <div class="field colour-field">
                    {label}
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
                        {describe(&check)}
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
    // The languages by their own names, as data (like the language switch).
    let languages = [Language::En, Language::Es]
        .into_iter()
        .map(|l| {
            let shown = Lang::from(l);
            let selected = language.get_untracked() == l.as_str();
            view! { <option value=l.as_str() lang=shown.tag() selected=selected>{shown.endonym()}</option> }
        })
        .collect_view();
    view! {
        {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <form id="brand" class="card form" novalidate on:submit=submit aria-labelledby="brand-title"
            data-loaded=move || loaded.get().to_string()>
            <h2 id="brand-title" class="section-title">{crate::tr!(AdminBrandTitle)}</h2>
            <p class="muted">{crate::tr!(AdminBrandIntro)}</p>
            <TextField id="brand-name" label=Msg::AdminBrandNameLabel value=name maxlength="80" required=true/>
            <TextField id="brand-support" label=Msg::AdminBrandSupportLabel value=support maxlength="200"
                help=Msg::AdminBrandSupportHelp/>
            <div class="field">
                <label class="field-label" for="brand-language">{crate::tr!(AdminBrandLanguageLabel)}</label>
                <select id="brand-language" name="brand-language" translate="no"
                    prop:value=move || language.get()
                    on:change=move |ev| language.set(event_target_value(&ev))>
                    {languages}
                </select>
            </div>
            <div class="field logo-field">
                <label class="field-label" for="brand-logo">{crate::tr!(AdminBrandLogoLabel)}</label>
                <p class="field-help" id="brand-logo-help">{crate::tr!(AdminBrandLogoHelp, kb = MAX_LOGO_BYTES / 1000)}</p>
                {move || logo.get().map(|src| view! {
                    <img id="brand-logo-current" class="brand-logo-current" src=src alt=crate::tr!(AdminBrandLogoCurrent)/>
                })}
                <input id="brand-logo" type="file" accept="image/png,image/svg+xml"
                    aria-describedby="brand-logo-help" disabled=move || busy.get() on:change=upload/>
                {move || logo_error.get().map(|e| view! {
                    <p class="field-error" id="brand-logo-error" role="alert">{e}</p>
                })}
                {move || logo.get().is_some().then(|| view! {
                    <div><Button variant=crate::components::button::Variant::Secondary small=true
                        attr:id="brand-logo-remove" attr:disabled=move || busy.get()
                        on:click=remove>{crate::tr!(AdminBrandLogoRemove)}</Button></div>
                })}
            </div>
            <fieldset class="colours">
                <legend>{crate::tr!(AdminBrandColours)}</legend>
                {pickers}
            </fieldset>
            <div id="brand-preview" class="brand-preview" aria-label=crate::tr!(AdminBrandPreview)
                style:--haven-color-primary=preview_colour("--haven-color-primary")
                style:--haven-color-on-primary=preview_colour("--haven-color-on-primary")
                style:--haven-color-page=preview_colour("--haven-color-page")
                style:--haven-color-surface=preview_colour("--haven-color-surface")
                style:--haven-color-text=preview_colour("--haven-color-text")
                style:--haven-color-text-muted=preview_colour("--haven-color-text-muted")>
                <div class="preview-surface">
                    <p class="preview-title" translate="no">{move || name.get()}</p>
                    <p class="preview-muted">{crate::tr!(AdminBrandPreviewMuted)}</p>
                    <span class="preview-link">{crate::tr!(AdminBrandPreviewLink)}</span>
                    <span class="preview-button">{crate::tr!(AdminBrandPreviewButton)}</span>
                </div>
            </div>
            <ul id="brand-contrast" class="contrast-list" aria-live="polite">{checks}</ul>
            {move || (failures.get() > 0).then(|| view! {
                <p id="brand-contrast-error" class="field-error" role="alert">
                    {crate::tr!(AdminBrandContrastError)}
                </p>
            })}
            <div class="form-actions">
                <Button submit=true attr:id="brand-save"
                    attr:disabled=move || busy.get() || !loaded.get() || failures.get() != 0>{crate::tr!(AdminBrandSave)}</Button>
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
    fn every_colour_and_every_checked_pair_has_a_name() {
        for field in BrandColours::FIELDS {
            assert!(colour_name(field).is_some(), "{field}");
        }
        for check in BrandColours::default().contrast_checks() {
            assert!(
                pair_name(check.foreground, check.background).is_some(),
                "{} on {}",
                check.foreground,
                check.background
            );
        }
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
            failing[0].starts_with("Too faint: secondary text on the page background: 2."),
            "{}",
            failing[0]
        );
        assert!(failing[0].ends_with("(needs 4.5:1)"), "{}", failing[0]);
    }
}
