//! The frame of the signed-in app: the brand, the navigation built from the role's views,
//! who is signed in, the link status and sign-out; then the page. From 56rem wide the
//! navigation is a sidebar; below, a bar across the top whose links scroll inside it
//! (never the page). A skip link jumps past the navigation to the content.

use haven_protocol::access::View;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::button::{Button, Variant};
use crate::components::link_status::LinkStatus;
use crate::transport::wss::LinkState;

/// Who is signed in, as the frame shows it.
pub struct Account {
    pub name: String,
    pub role: crate::i18n::Msg,
}

fn focus_content() {
    if let Some(main) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("content"))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = main.focus();
    }
}

/// On a phone the navigation scrolls sideways in its bar: bring the chosen link fully
/// into view there (the page itself does not move).
fn reveal(ev: &web_sys::MouseEvent) {
    if let Some(link) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Nearest);
        options.set_inline(web_sys::ScrollLogicalPosition::Nearest);
        link.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// The brand's logo, or the first letter of its name as its mark. Decorative: the name
/// is written beside it.
pub fn brand_mark(brand: &str, logo: Option<String>) -> impl IntoView + use<> {
    match logo {
        Some(src) => view! { <img class="brand-logo" src=src alt=""/> }.into_any(),
        None => {
            view! { <span class="brand-mark" aria-hidden="true" translate="no">{mark(brand)}</span> }.into_any()
        }
    }
}

/// The first letter of the brand.
fn mark(brand: &str) -> String {
    brand
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}

#[component]
pub fn AppShell(
    brand: String,
    /// The brand's logo (`/api/brand/logo/…`), if it has one.
    logo: Option<String>,
    link: RwSignal<LinkState>,
    account: Account,
    /// The views of the role, in order.
    views: Vec<View>,
    /// The view whose entry is current.
    #[prop(into)]
    current: Signal<Option<View>>,
    on_navigate: Callback<View>,
    on_sign_out: Callback<()>,
    children: Children,
) -> impl IntoView {
    let nav = views
        .into_iter()
        .map(|view| {
            let path = view.path();
            view! {
                <li>
                    <a href=path data-view=path
                        aria-current=move || (current.get() == Some(view)).then_some("page")
                        on:click=move |ev| {
                            ev.prevent_default();
                            reveal(&ev);
                            on_navigate.run(view);
                        }>
                        {move || crate::i18n::t(crate::i18n::view_title(view))}
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <a class="skip-link" href="#content"
            on:click=|ev| { ev.prevent_default(); focus_content(); }>{crate::tr!(SkipToContent)}</a>
        <header class="app-bar">
            <div class="brand-name">
                {brand_mark(&brand, logo)}
                <span translate="no">{brand.clone()}</span>
            </div>
            <nav id="nav" class="nav" aria-label=crate::tr!(NavMain)><ul>{nav}</ul></nav>
            <div class="who">
                <span><span id="user-name" class="who-name" translate="no">{account.name}</span>" "
                    <span id="user-role" class="badge role">{move || crate::i18n::t(account.role)}</span></span>
                <LinkStatus state=link/>
            </div>
            <div class="account">
                <Button variant=Variant::Secondary small=true attr:id="sign-out"
                    on:click=move |_| on_sign_out.run(())>{crate::tr!(SignOut)}</Button>
                <crate::i18n::LanguageSwitch/>
            </div>
        </header>
        <main id="content" class="content" tabindex="-1">
            {children()}
        </main>
    }
}
