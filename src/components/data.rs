//! Loading a view's data once and showing it: a loading line, an error, or the data.

use haven_protocol::ws::Topic;
use leptos::prelude::*;
use serde::de::DeserializeOwned;

use crate::context::Ctx;

/// What a view has fetched: `None` while loading, then the data or an error.
pub type Loaded<T> = RwSignal<Option<Result<T, String>>>;

/// Loads `path` into `data` (again, when called again).
pub fn fetch_into<T: DeserializeOwned + Send + Sync + 'static>(
    ctx: Ctx,
    path: &'static str,
    data: Loaded<T>,
) {
    leptos::task::spawn_local(async move {
        data.set(Some(
            ctx.call::<T>("GET", path, None)
                .await
                .map_err(|e| e.to_string()),
        ));
    });
}

/// Loads `path` once into a signal: `None` while loading, then the data or an error.
pub fn load<T: DeserializeOwned + Send + Sync + 'static>(
    ctx: Ctx,
    path: &'static str,
) -> Loaded<T> {
    let data = RwSignal::new(None);
    fetch_into(ctx, path, data);
    data
}

/// Fetches `path` into `data` again whenever the server announces a change of `topic`.
pub fn refresh_on<T: DeserializeOwned + Send + Sync + 'static>(
    ctx: Ctx,
    topic: Topic,
    path: &'static str,
    data: Loaded<T>,
) {
    Effect::new(move |_| {
        if ctx.changed.get() == Some(topic) {
            fetch_into(ctx, path, data);
        }
    });
}

pub fn show<T: Clone + Send + Sync + 'static, V: IntoView + 'static>(
    data: Loaded<T>,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView {
    move || match data.get() {
        None => view! { <p class="loading" role="status">{crate::tr!(Loading)}</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
        Some(Ok(value)) => render(value).into_any(),
    }
}
