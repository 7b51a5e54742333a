//! Shared widgets: what more than one page renders the same way. They read state and
//! send intents; they own no data of their own.

pub mod data;
pub mod invite;
pub mod people;
pub mod time;
