//! Times as people read them: in their language, in the browser's time zone.

/// Unix seconds as a local date and time.
pub fn date(unix: i64) -> String {
    crate::i18n::date_time(unix)
}
