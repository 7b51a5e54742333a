//! Shared widgets: what more than one page renders the same way, so every view looks and
//! behaves alike (the look itself is in `style/`, from tokens a brand may override).
//! They read state and send intents; they own no data of their own. Contexts here
//! (toasts, the confirmation dialog) follow `provide_x()` / `use_x()`.

pub mod app_shell;
pub mod button;
pub mod data;
pub mod dialog;
pub mod empty;
pub mod field;
pub mod invite;
pub mod link_status;
pub mod people;
pub mod table;
pub mod time;
pub mod toast;
