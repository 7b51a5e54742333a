//! Entry point of the browser app; everything lives in the library so that browser
//! tests can reach it.

fn main() {
    haven_app::start();
}
