//! A QR code as SVG path data, for enrolling an authenticator app. Rendered as an inline
//! SVG element (no image URL, nothing for the CSP to allow).

use qrcodegen::{QrCode, QrCodeEcc};

/// `(size in modules including a 4-module border, path data)`, or `None` if the text
/// cannot be encoded.
pub fn svg_path(text: &str) -> Option<(i32, String)> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let border = 4;
    let mut path = String::new();
    for y in 0..code.size() {
        for x in 0..code.size() {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Some((code.size() + 2 * border, path))
}

/// The QR code of `text` as an inline SVG figure, or nothing if it cannot be encoded.
pub fn figure(text: &str) -> impl leptos::IntoView + use<> {
    use leptos::prelude::*;
    svg_path(text).map(|(size, path)| {
        view! {
            <figure id="totp-qr" class="qr">
                <svg xmlns="http://www.w3.org/2000/svg" viewBox=format!("0 0 {size} {size}") width="200" height="200" role="img" aria-label=crate::tr!(AccountQrLabel)>
                    <rect class="qr-light" width="100%" height="100%"/>
                    <path class="qr-dark" d=path/>
                </svg>
            </figure>
        }
    })
}
