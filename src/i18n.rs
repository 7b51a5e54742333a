//! The words the app shows, in the person's language. Every string comes from a catalogue
//! (`locales/<lang>/*.ftl`, compiled into tables at build time by `haven-i18n`): a view
//! writes `tr!(SignIn)` (a closure that follows the language) or calls [`t`] / [`tf`].
//! Data (names, messages, addresses) is not translated and sits in elements marked
//! `translate="no"`, which is also what tells the pseudo-locale test to skip it.
//!
//! The language is chosen by `?lang=` in the page's address (a partner's iframe may set
//! it), else the person's own choice kept in this browser, else the organisation's
//! default. Dates, times and numbers are written by the browser's `Intl` for it.

use std::borrow::Cow;

use haven_i18n::{Arg, Locale};
use leptos::prelude::*;

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// A language the app can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
    /// English with every letter accented: text that bypasses the catalogue stands out.
    /// Only reachable through `?lang=en-XA`.
    Pseudo,
}

impl Lang {
    /// The languages offered in the switch.
    pub const CHOOSABLE: [Lang; 2] = [Lang::En, Lang::Es];

    /// Its BCP 47 tag (`<html lang>`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
            Self::Pseudo => "en-XA",
        }
    }

    pub fn parse(tag: &str) -> Option<Self> {
        match tag {
            "en" => Some(Self::En),
            "es" => Some(Self::Es),
            "en-XA" => Some(Self::Pseudo),
            _ => None,
        }
    }

    /// Its name in itself, as a language switch shows it.
    pub fn endonym(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Es => "Español",
            Self::Pseudo => "Ƥšéúďó",
        }
    }

    /// The compiled message `msg` in this language; English until the language's
    /// catalogue has arrived.
    fn message(self, msg: Msg) -> &'static str {
        let fetched = match self {
            Self::Es => ES_MESSAGES.with(|m| m.get().and_then(|m| m.get(msg as usize).copied())),
            Self::En | Self::Pseudo => None,
        };
        fetched.unwrap_or_else(|| english(msg))
    }

    /// The tag `Intl` formats with.
    fn intl(self) -> &'static str {
        match self {
            Self::Es => "es",
            Self::En | Self::Pseudo => "en",
        }
    }
}

impl From<haven_protocol::brand::Language> for Lang {
    fn from(language: haven_protocol::brand::Language) -> Self {
        match language {
            haven_protocol::brand::Language::En => Self::En,
            haven_protocol::brand::Language::Es => Self::Es,
        }
    }
}

fn english(msg: Msg) -> &'static str {
    let index = msg as usize;
    let start = index
        .checked_sub(1)
        .and_then(|i| EN_ENDS.get(i))
        .map_or(0, |&e| e as usize);
    let end = EN_ENDS.get(index).map_or(start, |&e| e as usize);
    let text = EN.get(start..end).unwrap_or_default();
    if !text.is_empty() {
        return text;
    }
    // Left out of the page (only some roles see it): from its own file once that came.
    #[cfg(test)]
    EN_LAZY.with(|m| {
        if m.get().is_none() {
            let _ = m.set(haven_i18n::messages(EN_LAZY_TEXT, Msg::COUNT).unwrap_or_default());
        }
    });
    if let Some(text) = EN_LAZY.with(|m| m.get().and_then(|m| m.get(index).copied())) {
        return text;
    }
    lazy_ready();
    ""
}

/// Whether the English texts left out of the page (the audit log's words) are here; a
/// reactive read, and the first asks for them. A view that shows them waits for this.
pub fn lazy_ready() -> bool {
    if cfg!(test) || LAZY_ARRIVED.with(|a| a.get()) {
        return true;
    }
    if !LAZY_ASKED.with(|a| a.replace(true)) {
        leptos::task::spawn_local(async {
            match fetch_catalogue(EN_LAZY_FILE).await {
                Some(messages) => {
                    EN_LAZY.with(|m| {
                        let _ = m.set(messages);
                    });
                    LAZY_ARRIVED.with(|a| a.set(true));
                }
                // The next view that needs them asks again.
                None => LAZY_ASKED.with(|a| a.set(false)),
            }
        });
    }
    false
}

/// Fetches a catalogue file from the app's own origin. `None` if it could not be had
/// (the page stays as it is).
async fn fetch_catalogue(file: &str) -> Option<Vec<&'static str>> {
    let url = crate::boot::page_origin()
        .ok()?
        .with_path(&format!("/{file}"))
        .ok()?;
    let text = crate::transport::https::get_text(&url, None).await.ok()?;
    // Kept for the page's life, like the English table compiled in.
    let text: &'static str = Box::leak(text.into_boxed_str());
    haven_i18n::messages(text, Msg::COUNT)
}

/// Fetches the Spanish catalogue, once: only pages shown in Spanish pay for it. False
/// if it could not be had.
async fn fetch_spanish() -> bool {
    if ES_MESSAGES.with(|m| m.get().is_some()) {
        return true;
    }
    match fetch_catalogue(ES_FILE).await {
        Some(messages) => {
            ES_MESSAGES.with(|m| {
                let _ = m.set(messages);
            });
            true
        }
        None => false,
    }
}

fn tags(lang: Lang) -> js_sys::Array {
    js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(lang.intl()))
}

impl Locale for Lang {
    fn plural(&self, n: f64) -> Cow<'static, str> {
        let rules = js_sys::Intl::PluralRules::new(&tags(*self), &js_sys::Object::new());
        let category: String = rules.select(n).into();
        Cow::Owned(category)
    }

    fn number(&self, n: f64) -> String {
        let format = js_sys::Intl::NumberFormat::new(&tags(*self), &js_sys::Object::new());
        format
            .format()
            .call1(&format, &wasm_bindgen::JsValue::from_f64(n))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| n.to_string())
    }

    fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self {
            Self::Pseudo => Cow::Owned(haven_i18n::pseudo(text)),
            Self::En | Self::Es => Cow::Borrowed(text),
        }
    }
}

thread_local! {
    /// The Spanish catalogue's messages, once fetched.
    static ES_MESSAGES: std::cell::OnceCell<Vec<&'static str>> = const { std::cell::OnceCell::new() };
    /// The English texts left out of the page, once fetched.
    static EN_LAZY: std::cell::OnceCell<Vec<&'static str>> = const { std::cell::OnceCell::new() };
    static LAZY_ASKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAZY_ARRIVED: ArcRwSignal<bool> = ArcRwSignal::new(false);
    /// The language last asked for: a catalogue that arrives after another choice is
    /// not shown.
    static WANTED: std::cell::Cell<Lang> = const { std::cell::Cell::new(Lang::En) };
    static CURRENT: ArcRwSignal<Lang> = ArcRwSignal::new(Lang::default());
    /// Set by `?lang=`: then neither the stored choice nor the brand's default applies.
    static FIXED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The language shown now; a reactive read (views that call it follow a switch).
pub fn lang() -> Lang {
    CURRENT.with(|l| l.get())
}

pub fn lang_untracked() -> Lang {
    CURRENT.with(|l| l.get_untracked())
}

/// Shows `lang`: at once, or once its catalogue has arrived.
fn show(lang: Lang) {
    WANTED.with(|w| w.set(lang));
    if lang == Lang::Es && ES_MESSAGES.with(|m| m.get().is_none()) {
        leptos::task::spawn_local(async move {
            if fetch_spanish().await && WANTED.with(std::cell::Cell::get) == lang {
                apply(lang);
            }
        });
    } else {
        apply(lang);
    }
}

fn apply(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.tag());
    }
    CURRENT.with(|l| {
        if l.get_untracked() != lang {
            l.set(lang);
        }
    });
}

const PREFERENCES: &str = "haven-preferences";
const STORE: &str = "preferences";
const LANGUAGE_KEY: &str = "language";

/// Shows `lang` without keeping it as a choice (the visit module follows the page).
pub fn follow(lang: Lang) {
    show(lang);
}

/// The language from the page's address, before anything else is shown.
pub fn init() {
    let from_address = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| {
            search
                .trim_start_matches('?')
                .split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .and_then(Lang::parse)
        });
    if let Some(lang) = from_address {
        FIXED.with(|f| f.set(true));
        show(lang);
    } else {
        show(Lang::En);
    }
}

/// Once the organisation is known: the person's stored choice, else its default.
pub async fn settle(default: haven_protocol::brand::Language) {
    if FIXED.with(std::cell::Cell::get) {
        return;
    }
    let stored = match crate::storage::KeyValue::open(PREFERENCES, &[STORE]).await {
        Ok(store) => store.get(STORE, LANGUAGE_KEY).await.ok().flatten(),
        Err(_) => None,
    };
    let chosen = stored
        .as_deref()
        .and_then(Lang::parse)
        .filter(|l| Lang::CHOOSABLE.contains(l));
    show(chosen.unwrap_or_else(|| default.into()));
}

/// The person picks a language: shown at once and kept in this browser.
pub fn choose(lang: Lang) {
    show(lang);
    FIXED.with(|f| f.set(false));
    leptos::task::spawn_local(async move {
        if let Ok(store) = crate::storage::KeyValue::open(PREFERENCES, &[STORE]).await {
            let _ = store.put(STORE, LANGUAGE_KEY, lang.tag()).await;
        }
    });
}

/// `msg` in the current language (a reactive read).
pub fn t(msg: Msg) -> String {
    tf(msg, &[])
}

/// `msg` with its variables.
pub fn tf(msg: Msg, args: &[(&str, Arg<'_>)]) -> String {
    let lang = lang();
    haven_i18n::format(lang.message(msg), args, &lang)
}

/// `msg` as a signal that follows the language. One closure type serves every message,
/// so the hundreds of texts in the views share one copy of the rendering code.
pub fn text(msg: Msg) -> Signal<String> {
    Signal::derive(move || t(msg))
}

/// A number written for the current language.
pub fn number(n: f64) -> String {
    let lang = lang();
    lang.text(&lang.number(n)).into_owned()
}

/// Unix seconds as a date and time for the current language, in the browser's time zone.
pub fn date_time(unix: i64) -> String {
    let lang = lang();
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    let text: String = date.to_locale_string(lang.intl(), &options).into();
    lang.text(&text).into_owned()
}

/// The catalogue's text for `msg` as a view child or attribute value that follows the
/// language: `tr!(SignIn)`, `tr!(Unread, count = n)`.
#[macro_export]
macro_rules! tr {
    ($msg:ident) => {
        $crate::i18n::text($crate::i18n::Msg::$msg)
    };
    ($msg:ident, $($name:ident = $value:expr),+ $(,)?) => {
        move || $crate::i18n::tf(
            $crate::i18n::Msg::$msg,
            &[$((stringify!($name), ::haven_i18n::Arg::from($value))),+],
        )
    };
}

/// The language switch: the languages by their own names.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let options = Lang::CHOOSABLE
        .into_iter()
        .map(|l| {
            view! {
                <option value=l.tag() lang=l.tag() selected=move || lang() == l>{l.endonym()}</option>
            }
        })
        .collect_view();
    view! {
        <label class="language-switch">
            <span class="visually-hidden">{tr!(LanguageLabel)}</span>
            <select id="language" translate="no"
                prop:value=move || lang().tag()
                on:change=move |ev| {
                    if let Some(l) = Lang::parse(&event_target_value(&ev)) {
                        choose(l);
                    }
                }>
                {options}
            </select>
        </label>
    }
}

/// A failed request in words: in English the server's own sentence when it gave one,
/// in any other language the catalogue's message for its stable code.
pub fn http_error(error: &crate::transport::https::HttpError) -> String {
    use crate::transport::https::HttpError;
    match error {
        HttpError::Unreachable => t(Msg::ErrorUnreachable),
        HttpError::Status(status) => tf(Msg::ErrorStatus, &[("status", Arg::from(*status))]),
        HttpError::Malformed => t(Msg::ErrorMalformed),
        HttpError::Api { code, message, .. } => {
            if lang() == Lang::En && !message.is_empty() {
                message.clone()
            } else {
                t(error_message(*code))
            }
        }
    }
}

/// The catalogue's message for each of the server's error codes (a code without one
/// does not compile).
pub fn error_message(code: haven_protocol::ErrorCode) -> Msg {
    use haven_protocol::ErrorCode as E;
    match code {
        E::NotFound => Msg::ErrorNotFound,
        E::MethodNotAllowed => Msg::ErrorMethodNotAllowed,
        E::PayloadTooLarge => Msg::ErrorPayloadTooLarge,
        E::UnsupportedMediaType => Msg::ErrorUnsupportedMediaType,
        E::MalformedJson => Msg::ErrorMalformedJson,
        E::InvalidBody => Msg::ErrorInvalidBody,
        E::InvalidHost => Msg::ErrorInvalidHost,
        E::ForbiddenOrigin => Msg::ErrorForbiddenOrigin,
        E::WebsocketRequired => Msg::ErrorWebsocketRequired,
        E::UnknownFrame => Msg::ErrorUnknownFrame,
        E::FrameTooLarge => Msg::ErrorFrameTooLarge,
        E::TooManyRequests => Msg::ErrorTooManyRequests,
        E::Unauthenticated => Msg::ErrorUnauthenticated,
        E::SessionExpired => Msg::ErrorSessionExpired,
        E::SecondFactorRequired => Msg::ErrorSecondFactorRequired,
        E::Forbidden => Msg::ErrorForbidden,
        E::InvalidCredentials => Msg::ErrorInvalidCredentials,
        E::InvalidCode => Msg::ErrorInvalidCode,
        E::TooManyAttempts => Msg::ErrorTooManyAttempts,
        E::InvalidField => Msg::ErrorInvalidField,
        E::InvitationInvalid => Msg::ErrorInvitationInvalid,
        E::InvitationUsed => Msg::ErrorInvitationUsed,
        E::InvitationExpired => Msg::ErrorInvitationExpired,
        E::EmailTaken => Msg::ErrorEmailTaken,
        E::NotInCareTeam => Msg::ErrorNotInCareTeam,
        E::CannotChangeSelf => Msg::ErrorCannotChangeSelf,
        E::InvalidQuery => Msg::ErrorInvalidQuery,
        E::NoChange => Msg::ErrorNoChange,
        E::InvitationRevoked => Msg::ErrorInvitationRevoked,
        E::InvalidKeyPackage => Msg::ErrorInvalidKeyPackage,
        E::TooManyDevices => Msg::ErrorTooManyDevices,
        E::DeviceUnavailable => Msg::ErrorDeviceUnavailable,
        E::InvalidDeviceKey => Msg::ErrorInvalidDeviceKey,
        E::InvalidDeviceProof => Msg::ErrorInvalidDeviceProof,
        E::KeyPackagePoolFull => Msg::ErrorKeyPackagePoolFull,
        E::Superseded => Msg::ErrorSuperseded,
        E::QuotaExceeded => Msg::ErrorQuotaExceeded,
        E::NotAMember => Msg::ErrorNotAMember,
        E::StaleEpoch => Msg::ErrorStaleEpoch,
        E::Replayed => Msg::ErrorReplayed,
        E::InvalidMessage => Msg::ErrorInvalidMessage,
        E::UnknownClinic => Msg::ErrorUnknownClinic,
        E::Internal => Msg::ErrorInternal,
    }
}

/// A field the protocol's parser refused, in words.
pub fn field_error(error: haven_protocol::identity::FieldError) -> String {
    use haven_protocol::identity::FieldError as F;
    t(match error {
        F::Email => Msg::FieldErrorEmail,
        F::DisplayName => Msg::FieldErrorDisplayName,
        F::Password => Msg::FieldErrorPassword,
        F::TotpCode => Msg::FieldErrorTotpCode,
        F::Reason => Msg::FieldErrorReason,
        F::Id => Msg::FieldErrorId,
        F::Device => Msg::FieldErrorDevice,
        F::Bytes => Msg::FieldErrorBytes,
    })
}

/// A role's name as people read it.
pub fn role_name(role: haven_protocol::access::Role) -> Msg {
    use haven_protocol::access::Role;
    match role {
        Role::Patient => Msg::RolePatient,
        Role::Clinician => Msg::RoleClinician,
        Role::Staff => Msg::RoleStaff,
        Role::Admin => Msg::RoleAdmin,
        Role::Auditor => Msg::RoleAuditor,
    }
}

/// A view's title, in the navigation and as its heading.
pub fn view_title(view: haven_protocol::access::View) -> Msg {
    use haven_protocol::access::View;
    match view {
        View::CareTeam => Msg::ViewCareTeam,
        View::Visits => Msg::ViewVisits,
        View::Messages => Msg::ViewMessages,
        View::MyActivity => Msg::ViewMyActivity,
        View::MyPatients => Msg::ViewMyPatients,
        View::WaitingRoom => Msg::ViewWaitingRoom,
        View::Schedule => Msg::ViewSchedule,
        View::PatientContacts => Msg::ViewPatientContacts,
        View::Users => Msg::ViewUsers,
        View::Invitations => Msg::ViewInvitations,
        View::OrgSettings => Msg::ViewOrgSettings,
        View::BreakGlassEvents => Msg::ViewBreakGlassEvents,
        View::Audit => Msg::ViewAudit,
    }
}
