//! A list of people by name with their initials, optionally each a link to their record.

use haven_protocol::identity::PersonSummary;
use leptos::prelude::*;

use crate::context::use_ctx;
use crate::route::Route;

/// Up to two initials: the first and last word, skipping titles such as "Dr.".
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name
        .split_whitespace()
        .filter(|w| !w.ends_with('.'))
        .collect();
    let first = words.first().and_then(|w| w.chars().next());
    let last = (words.len() > 1)
        .then(|| words.last().and_then(|w| w.chars().next()))
        .flatten();
    first
        .into_iter()
        .chain(last)
        .flat_map(char::to_uppercase)
        .collect()
}

/// `list` by name; with `link`, each name opens that patient's record.
pub fn person_list(list: Vec<PersonSummary>, link: bool) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <ul class="people" translate="no">
            {list.into_iter().map(|p| {
                let name = p.display_name.to_string();
                let avatar = view! { <span class="avatar" aria-hidden="true">{initials(&name)}</span> };
                if link {
                    let route = Route::PatientRecord(p.id);
                    view! { <li>{avatar}<a href=route.path() on:click=move |ev| {
                        ev.prevent_default();
                        if let Some(ctx) = ctx { ctx.navigate(route.clone()) }
                    }>{name}</a></li> }.into_any()
                } else {
                    view! { <li>{avatar}<span>{name}</span></li> }.into_any()
                }
            }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::initials;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn initials_skip_titles_and_keep_accents() {
        assert_eq!(initials("Dr. Cleo Ruiz"), "CR");
        assert_eq!(initials("Zoë Ångström"), "ZÅ");
        assert_eq!(initials("Madonna"), "M");
        assert_eq!(initials("  "), "");
        assert_eq!(initials("Ada Lovelace King"), "AK");
    }
}
