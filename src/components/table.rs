//! Tables. A table scrolls inside its own box when it is wider than the screen, and
//! below 40rem each row becomes a card whose cells are labelled by their column (each
//! `<td>` carries `data-label`), so the page itself never scrolls sideways.

use leptos::prelude::*;

use crate::i18n::{Msg, t};

#[component]
pub fn Table(
    /// What the table lists, for screen readers (a caption and the scroll region's name).
    label: Msg,
    /// Column headings; [`Msg::Actions`] is an actions column (its heading is for
    /// screen readers only).
    columns: &'static [Msg],
    #[prop(optional)] id: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let heads = columns
        .iter()
        .map(|&c| {
            if c == Msg::Actions {
                view! { <th scope="col"><span class="visually-hidden">{move || t(c)}</span></th> }
                    .into_any()
            } else {
                view! { <th scope="col">{move || t(c)}</th> }.into_any()
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" role="region" aria-label=move || t(label) tabindex="0">
            <table id=id class="table">
                <caption class="visually-hidden">{move || t(label)}</caption>
                <thead><tr>{heads}</tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
