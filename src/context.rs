//! The app's shared state, one context: configuration, the signed-in session (memory
//! only), the current route (parsed from the URL, which is the source of truth), a
//! notice for the sign-in page, the WebSocket link and the changes it announces. Components read it with [`use_ctx`].

use haven_protocol::ws::Topic;
use haven_protocol::{HttpsUrl, RuntimeConfig};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use crate::route::Route;
use crate::session::{Auth, SignedOut};
use crate::transport::https::{self, HttpError};
use crate::transport::wss::Link;

#[derive(Clone, Copy)]
pub struct Ctx {
    pub config: StoredValue<RuntimeConfig>,
    pub auth: RwSignal<Option<Auth>>,
    pub notice: RwSignal<Option<crate::i18n::Msg>>,
    pub route: RwSignal<Route>,
    /// The last change the server announced over the link; views showing that topic
    /// fetch again.
    pub changed: RwSignal<Option<Topic>>,
    pub link: StoredValue<Option<Link>, LocalStorage>,
    /// The running end-to-end encryption, while someone who converses is signed in.
    pub e2ee: StoredValue<Option<std::rc::Rc<crate::e2ee::Engine>>, LocalStorage>,
    /// What the messaging views show.
    pub inbox: RwSignal<crate::e2ee::inbox::Inbox>,
}

pub fn use_ctx() -> Option<Ctx> {
    use_context::<Ctx>()
}

/// The route of the address the browser shows now.
pub fn current_route() -> Route {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .map_or(Route::Home, |path| Route::parse(&path))
}

impl Ctx {
    /// Moves to `route` within the app (history entry, no reload).
    pub fn navigate(self, route: Route) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&route.path()));
        }
        self.route.set(route);
    }

    /// The API's address for `path`.
    pub fn url(self, path: &str) -> Result<HttpsUrl, HttpError> {
        self.config
            .with_value(|c| c.api_origin.with_path(&format!("/api{path}")))
            .map_err(|_| HttpError::Malformed)
    }

    /// Calls the API as the signed-in user. A refused session signs out here, once, for
    /// every caller.
    pub async fn call<T: DeserializeOwned>(
        self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, HttpError> {
        https::parse(&self.call_text(method, path, body).await?)
    }

    /// [`Ctx::call`]'s request, the same for every kind of answer: one copy of it in the
    /// app, not one per type read.
    async fn call_text(
        self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<String, HttpError> {
        let url = self.url(path)?;
        let token = self.auth.get_untracked().map(|a| a.token);
        let result = https::call_text(&url, method, token.as_deref(), body.as_ref()).await;
        self.refused(token, result)
    }

    /// [`Ctx::call`] with a file as the body.
    pub async fn call_bytes<T: DeserializeOwned>(
        self,
        method: &str,
        path: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<T, HttpError> {
        let url = self.url(path)?;
        let token = self.auth.get_untracked().map(|a| a.token);
        let result = https::call_bytes(&url, method, token.as_deref(), bytes, content_type).await;
        https::parse(&self.refused(token, result)?)
    }

    /// Signs out here when the server refused the session `token` the call carried.
    fn refused(
        self,
        token: Option<String>,
        result: Result<String, HttpError>,
    ) -> Result<String, HttpError> {
        // Only if the refused session is still the one signed in: an answer that arrives
        // after signing out (or in again) says nothing about the current state.
        let current = self.auth.get_untracked().map(|a| a.token);
        if let Err(HttpError::Api { code, .. }) = &result
            && token.is_some()
            && current == token
            && matches!(
                code,
                haven_protocol::ErrorCode::SessionExpired
                    | haven_protocol::ErrorCode::Unauthenticated
            )
        {
            self.wipe(SignedOut::Ended(
                haven_protocol::audit::SessionEndReason::Expired,
            ));
        }
        result
    }

    /// `GET path` as the signed-in user, for a body that is not JSON.
    pub async fn text(self, path: &str) -> Result<String, HttpError> {
        let url = self.url(path)?;
        let token = self.auth.get_untracked().map(|a| a.token);
        https::get_text(&url, token.as_deref()).await
    }

    /// Forgets the session here: memory, link binding, view. The server side is ended by
    /// [`Ctx::sign_out`] or has already ended.
    pub fn wipe(self, why: SignedOut) {
        crate::e2ee::stop(self);
        // Only once: the server's "session ended" and the answer to the sign-out request
        // race, and setting the session again would rebuild a sign-in form being typed in.
        if self.auth.with_untracked(Option::is_some) {
            self.auth.set(None);
        }
        self.link.with_value(|link| {
            if let Some(link) = link {
                link.authenticate(None);
            }
        });
        self.notice.set(Some(why.message()));
        self.navigate(Route::Home);
    }

    /// Ends the session on the server (saying whether it is the automatic logoff, for the
    /// audit log), then here.
    pub async fn sign_out(self, why: SignedOut) {
        let reason = if why == SignedOut::Inactivity {
            "inactivity"
        } else {
            "user"
        };
        let body = serde_json::json!({ "reason": reason });
        let token = self.auth.get_untracked().map(|a| a.token);
        let _: Result<serde_json::Value, _> = self.call("POST", "/auth/logout", Some(body)).await;
        // The server's "session ended" may have wiped it already, and someone may even
        // have signed in again meanwhile: only the session signed out here is wiped.
        let current = self
            .auth
            .with_untracked(|a| a.as_ref().map(|a| a.token.clone()));
        if current == token {
            self.wipe(why);
        } else if current.is_none() {
            // Wiped already: the sign-in page says why in the person's own words.
            self.notice.set(Some(why.message()));
        }
    }

    pub fn signed_in(self, auth: Auth) {
        let token = auth.token.clone();
        self.auth.set(Some(auth));
        self.notice.set(None);
        self.link.with_value(|link| {
            if let Some(link) = link {
                link.authenticate(Some(token));
            }
        });
        leptos::task::spawn_local(crate::e2ee::start(self));
        self.navigate(Route::Home);
    }
}
