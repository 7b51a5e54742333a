//! Wall-clock time in Unix seconds: the one place the server reads the clock, so that
//! expiry rules are written against one notion of "now".

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
