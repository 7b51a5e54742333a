//! Haven's end-to-end encryption worker: the MLS client, off the page's thread and out of
//! its first download. See `src/e2ee/worker.rs`.

fn main() {
    haven_app::e2ee::worker::serve();
}
