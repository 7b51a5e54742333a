//! Buttons in three weights (primary, secondary, destructive) and a quiet one for
//! actions inside tables. Attributes and handlers given to `<Button>` (`attr:id`,
//! `on:click`, `attr:disabled`) land on the `<button>` itself.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// The one main action of a form or view.
    #[default]
    Primary,
    Secondary,
    /// Destroys or takes away something; always behind a confirmation.
    Danger,
    /// A low-key action in a row of a table.
    Quiet,
    /// A low-key destructive action in a row of a table.
    QuietDanger,
}

impl Variant {
    fn class(self) -> &'static str {
        match self {
            Self::Primary => "btn btn-primary",
            Self::Secondary => "btn btn-secondary",
            Self::Danger => "btn btn-danger",
            Self::Quiet => "btn btn-quiet",
            Self::QuietDanger => "btn btn-quiet danger",
        }
    }
}

#[component]
pub fn Button(
    #[prop(optional)] variant: Variant,
    /// A form's submit button rather than a plain button.
    #[prop(optional)]
    submit: bool,
    #[prop(optional)] small: bool,
    /// Extra classes (for tests and page-specific layout).
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    let mut classes = variant.class().to_owned();
    if small {
        classes.push_str(" btn-small");
    }
    if !class.is_empty() {
        classes.push(' ');
        classes.push_str(class);
    }
    view! {
        <button type=if submit { "submit" } else { "button" } class=classes>
            {children()}
        </button>
    }
}
