//! Times as people read them.

/// Unix seconds as a local date and time.
pub fn date(unix: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    date.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
        .into()
}
