//! Identity on the wire: the values a person types (email, name, password, codes,
//! reasons) as newtypes that parse or refuse, and the request and response bodies of
//! sign-in, sessions, invitations, users, patients and emergency access.
//!
//! Secrets (passwords, codes, tokens) have a redacted `Debug`, so they cannot reach a
//! log through `{:?}`.

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::access::{Role, View};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("enter an email address like name@example.org (at most 254 characters)")]
    Email,
    #[error(
        "enter a name of 1 to 100 characters, without control, invisible or direction-changing characters"
    )]
    DisplayName,
    #[error("a password must be 12 to 256 characters long")]
    Password,
    #[error("a code is 6 digits")]
    TotpCode,
    #[error("give a reason of 20 to 500 characters")]
    Reason,
    #[error("this identifier is not valid")]
    Id,
    #[error("this device credential is not valid")]
    Device,
    #[error("expected lower-case hexadecimal bytes of the right length")]
    Bytes,
}

impl FieldError {
    pub const ALL: [FieldError; 8] = [
        FieldError::Email,
        FieldError::DisplayName,
        FieldError::Password,
        FieldError::TotpCode,
        FieldError::Reason,
        FieldError::Id,
        FieldError::Device,
        FieldError::Bytes,
    ];

    /// The message as a static string: it never echoes what was typed.
    pub fn message(self) -> &'static str {
        match self {
            Self::Email => "Enter an email address like name@example.org (at most 254 characters).",
            Self::DisplayName => {
                "Enter a name of 1 to 100 characters, without control, invisible or direction-changing characters."
            }
            Self::Password => "A password must be 12 to 256 characters long.",
            Self::TotpCode => "A code is 6 digits.",
            Self::Reason => "Give a reason of 20 to 500 characters.",
            Self::Id => "This identifier is not valid.",
            Self::Device => "This device credential is not valid.",
            Self::Bytes => "Expected lower-case hexadecimal bytes of the right length.",
        }
    }
}

// The limits of what people type. The parsers below and the schemas of the OpenAPI
// document (`schema.rs`) read the same constants, so what a client is told and what the
// server takes cannot drift apart.

/// An email address's length in bytes of UTF-8, after trimming.
pub const EMAIL_BYTES: RangeInclusive<usize> = 3..=254;
/// The longest part before the `@`, in bytes of UTF-8.
pub const EMAIL_LOCAL_MAX_BYTES: usize = 64;
/// Refused anywhere in an email address (beside whitespace, controls and [`DECEPTIVE`]):
/// they quote, comment or separate addresses in mail headers.
pub const EMAIL_FORBIDDEN: [char; 9] = ['<', '>', '"', '\'', '\\', ',', ';', '(', ')'];
/// A display name's length in characters, after trimming.
pub const DISPLAY_NAME_CHARS: RangeInclusive<usize> = 1..=100;
/// A reason's length in characters, after trimming.
pub const REASON_CHARS: RangeInclusive<usize> = 20..=500;
/// A password's length in characters (not trimmed).
pub const PASSWORD_CHARS: RangeInclusive<usize> = 12..=256;
/// The digits of an authenticator code.
pub const TOTP_DIGITS: usize = 6;
/// An identifier's length: lower-case hex of 128 random bits.
pub const ID_HEX_CHARS: usize = 32;
/// A one-time token's length: base64url of 256 random bits, without padding.
pub const TOKEN_CHARS: usize = 43;

/// Characters that render text in a different order than it is stored (Trojan Source),
/// or that show as nothing, so that two names that look the same differ: every format
/// character (Unicode general category `Cf`: zero-width spaces and joiners, word joiner
/// and invisible operators, soft hyphen, direction marks, embeddings and isolates, byte
/// order mark, interlinear annotation, tags) and the blank letters that stand for no
/// sound (Hangul fillers, the combining grapheme joiner, Khmer inherent vowels, the
/// blank Braille pattern). Refused in names, reasons, email addresses, brand names and
/// support contacts. Variation selectors stay: emoji and ideographs need them.
pub const DECEPTIVE: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

pub(crate) fn is_deceptive(c: char) -> bool {
    DECEPTIVE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

macro_rules! text_newtype {
    ($name:ident, $err:expr, $parse:expr) => {
        // Its schema is written by hand from the same limits (`schema.rs`).
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, FieldError> {
                let parse: fn(&str) -> Option<String> = $parse;
                parse(input).map(Self).ok_or($err)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

text_newtype!(Email, FieldError::Email, |input| {
    let email = input.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let ok = EMAIL_BYTES.contains(&email.len())
        && !local.is_empty()
        && local.len() <= EMAIL_LOCAL_MAX_BYTES
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_deceptive(c))
        && !email.contains(EMAIL_FORBIDDEN);
    ok.then_some(email)
});

text_newtype!(DisplayName, FieldError::DisplayName, |input| {
    let name = input.trim();
    let count = name.chars().count();
    let ok = DISPLAY_NAME_CHARS.contains(&count)
        && !name.chars().any(|c| c.is_control() || is_deceptive(c));
    ok.then(|| name.to_owned())
});

text_newtype!(Reason, FieldError::Reason, |input| {
    let reason = input.trim();
    let count = reason.chars().count();
    let ok = REASON_CHARS.contains(&count)
        && !reason
            .chars()
            .any(|c| (c.is_control() && c != '\n') || is_deceptive(c));
    ok.then(|| reason.to_owned())
});

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An email address identifies a person: never in logs.
        f.write_str("Email(<redacted>)")
    }
}
impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName(<redacted>)")
    }
}
impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reason(<redacted>)")
    }
}
impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed. Never logged, never stored: only its argon2id hash is.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Password(String);

impl Password {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let count = input.chars().count();
        if PASSWORD_CHARS.contains(&count) && !input.trim().is_empty() {
            Ok(Self(input.to_owned()))
        } else {
            Err(FieldError::Password)
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Password {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Password> for String {
    fn from(v: Password) -> String {
        v.0
    }
}
impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Six digits from an authenticator app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let code: String = input.chars().filter(|c| *c != ' ').collect();
        if code.len() == TOTP_DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code))
        } else {
            Err(FieldError::TotpCode)
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for TotpCode {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<TotpCode> for String {
    fn from(v: TotpCode) -> String {
        v.0
    }
}
impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(<redacted>)")
    }
}

/// An opaque identifier: 32 lower-case hex characters (128 random bits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

impl Id {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        if input.len() == ID_HEX_CHARS
            && input
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(input.to_owned()))
        } else {
            Err(FieldError::Id)
        }
    }
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Id {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Id> for String {
    fn from(v: Id) -> String {
        v.0
    }
}
impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}
impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `POST /api/auth/login`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: Email,
    pub password: Password,
    /// The credential this browser was given when it last signed in to this account,
    /// if any: it lets the account's owner sign in while a guesser has locked the
    /// account's own budget of attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceCredential>,
}

/// `POST /api/auth/totp` and `POST /api/auth/totp/confirm`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpRequest {
    pub code: TotpCode,
    /// As in [`LoginRequest::device`]: refreshed instead of a new one issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceCredential>,
}

/// What the server needs next after a step of signing in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum SignInStep {
    /// Password accepted; send a code from the authenticator app.
    TotpRequired,
    /// Password accepted; this account must set up an authenticator app first.
    TotpEnrolmentRequired { secret: String, otpauth_uri: String },
    /// Signed in.
    SignedIn { session: SessionInfo },
}

/// The answer to each step: a token for the next step (or the session itself).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInResponse {
    pub token: String,
    #[serde(flatten)]
    pub step: SignInStep,
    /// On a completed sign-in: this browser's device credential for the account, to
    /// keep in IndexedDB and send with later sign-ins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceCredential>,
}

impl fmt::Debug for SignInResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInResponse")
            .field("token", &"<redacted>")
            .field("step", &self.step)
            .field("device", &self.device.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A current emergency-access grant, as its clinician sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassGrant {
    pub id: Id,
    pub clinician: DisplayName,
    pub patient_id: Id,
    pub patient: DisplayName,
    pub reason: Reason,
    pub granted_at: i64,
    pub expires_at: i64,
}

/// Why a session is being ended from the app.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogoutWhy {
    /// The person chose to sign out.
    #[default]
    User,
    /// The app's automatic logoff after the idle time.
    Inactivity,
}

/// `POST /api/auth/logout` (the body is optional; without it, `user`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    pub reason: LogoutWhy,
}

/// `GET /api/session`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user_id: Id,
    pub display_name: DisplayName,
    pub role: Role,
    pub organisation: String,
    pub idle_timeout_secs: u32,
    pub expires_at: i64,
    pub totp_enrolled: bool,
}

impl SessionInfo {
    pub fn navigation(&self) -> Vec<View> {
        crate::access::navigation(self.role)
    }
}

/// `POST /api/auth/totp/enrol`: a new secret to confirm with a code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

impl fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpEnrolment(<redacted>)")
    }
}

/// `POST /api/invitations`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub role: Role,
    pub email: Email,
    pub display_name: DisplayName,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteResponse {
    /// `https://…/join#<token>`: the secret is in the fragment, which browsers never send.
    pub link: String,
    pub expires_at: i64,
}

impl fmt::Debug for InviteResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InviteResponse")
            .field("link", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `POST /api/invitations/accept`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::token))]
    pub token: String,
    pub password: Password,
}

impl fmt::Debug for AcceptInvitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptInvitation(<redacted>)")
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: Id,
    pub display_name: DisplayName,
    pub email: Email,
    pub role: Role,
    pub active: bool,
    pub totp_enrolled: bool,
}

/// `POST /api/users/{id}/role`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    pub role: Role,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSummary {
    pub id: Id,
    pub display_name: DisplayName,
}

/// A patient's contact card: what staff may see (no clinical content).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    pub id: Id,
    pub display_name: DisplayName,
    pub email: Email,
}

/// Why a clinician may see a record.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum AccessBasis {
    CareTeam,
    /// Emergency access: `grant` is the one to end early.
    BreakGlass {
        expires_at: i64,
        grant: Id,
    },
}

/// `GET /api/patients/{id}`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientRecord {
    pub id: Id,
    pub display_name: DisplayName,
    pub email: Email,
    pub care_team: Vec<PersonSummary>,
    pub access: AccessBasis,
}

/// `POST /api/patients/{id}/break-glass`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    pub reason: Reason,
}

/// `POST /api/patients/{id}/care-team`: bring another clinician of the organisation into
/// the patient's care team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinCareTeam {
    pub clinician: Id,
}

/// One line of a patient's own activity view.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub at: i64,
    pub what: String,
    pub who: DisplayName,
    pub reason: Option<Reason>,
}

/// `GET/PUT /api/org/settings`
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSettings {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::idle_timeout_secs))]
    pub idle_timeout_secs: u32,
}

/// A browser's credential for one account: 256 random bits, base64url (43 characters).
/// The server keeps only its hash.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DeviceCredential(String);

impl DeviceCredential {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let ok = input.len() == TOKEN_CHARS
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(FieldError::Device)
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCredential(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for DeviceCredential {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `POST /api/auth/totp/enrol`: replacing an authenticator needs a code from the current
/// one; a first enrolment sends nothing (or `{}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_code: Option<TotpCode>,
}

/// `GET /api/invitations`: an invitation not yet used, withdrawn or expired.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationSummary {
    pub id: Id,
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Role,
    pub invited_by: PersonSummary,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `GET /api/audit/people`: the names an auditor sees instead of ids (the log itself
/// keeps ids).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPerson {
    pub id: Id,
    pub display_name: DisplayName,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_strict() {
        assert_eq!(
            Email::parse(" Ana@Clinic.Example ").unwrap().as_str(),
            "ana@clinic.example"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@x.org",
            "a@.org",
            "a@x.",
            "a b@x.org",
            "a@@x.org",
            "<a>@x.org",
            "a@x\n.org",
            "x'; DROP TABLE users;--@x.org",
            "a\u{202e}@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_allow_the_world_but_not_tricks() {
        for good in [
            "Zoë Ångström",
            "李小龙",
            "محمد",
            "O'Brien-Smith",
            "Renée 👩🏽 ❤️",
            "葛\u{E0100}西",
            "<script>alert(1)</script>",
        ] {
            assert!(DisplayName::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "   ",
            "a\u{0}b",
            "evil\u{202e}gnp.exe",
            "x\u{2066}y",
            "a\nb",
            &"x".repeat(101),
            // Joiners too: a name that shows as nothing in between is another name.
            "Renée 👩\u{200D}⚕️",
        ] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// Every character that shows as nothing (format characters, fillers) is refused in
    /// every name, reason and address people type, wherever it stands.
    #[test]
    fn invisible_characters_are_refused_everywhere() {
        let invisible = [
            '\u{00AD}',
            '\u{034F}',
            '\u{061C}',
            '\u{115F}',
            '\u{17B4}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{202A}',
            '\u{2060}',
            '\u{2061}',
            '\u{2064}',
            '\u{2066}',
            '\u{206F}',
            '\u{2800}',
            '\u{3164}',
            '\u{FEFF}',
            '\u{FFA0}',
            '\u{FFF9}',
            '\u{1D173}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
        ];
        for c in invisible {
            let what = format!("U+{:04X}", u32::from(c));
            assert!(is_deceptive(c), "{what}");
            assert!(
                DisplayName::parse(&format!("Pat{c} Okafor")).is_err(),
                "{what}"
            );
            assert!(
                DisplayName::parse(&format!("Pat Okafor{c}")).is_err(),
                "{what}"
            );
            assert!(
                Email::parse(&format!("pat{c}@clinic.example")).is_err(),
                "{what}"
            );
            let reason = format!("Patient unconscious in ED,{c} no clinician on call");
            assert!(Reason::parse(&reason).is_err(), "{what}");
            assert!(
                !crate::config::valid_brand_name(&format!("North{c}side")),
                "{what}"
            );
            assert!(
                !crate::brand::valid_support(&format!("help{c}@clinic.example")),
                "{what}"
            );
        }
        // What people write stays: letters of any script, marks, emoji with their
        // variation selectors and modifiers.
        for c in [
            'é',
            'ß',
            'ع',
            'क',
            '\u{094D}',
            '\u{FE0F}',
            '\u{1F3FD}',
            ' ',
            '-',
            '\'',
        ] {
            assert!(!is_deceptive(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        let c = TotpCode::parse("123 456").unwrap();
        assert_eq!(c.expose(), "123456");
        assert!(!format!("{c:?}").contains("123"));
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&" ".repeat(20)).is_err());
        for bad in ["12345", "1234567", "12a456", "１２３４５６"] {
            assert!(TotpCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_are_32_hex() {
        let id = Id::from_bytes([0xab; 16]);
        assert_eq!(Id::parse(id.as_str()), Ok(id));
        for bad in [
            "",
            "ABABABABABABABABABABABABABABABAB",
            "1' OR '1'='1",
            &"a".repeat(33),
        ] {
            assert!(Id::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// The messages people read name the same limits the parsers enforce.
    #[test]
    fn messages_state_the_limits() {
        let says = |field: FieldError, numbers: &[usize]| {
            for n in numbers {
                assert!(field.message().contains(&n.to_string()), "{field:?}: {n}");
                assert!(field.to_string().contains(&n.to_string()), "{field:?}: {n}");
            }
        };
        says(FieldError::Email, &[*EMAIL_BYTES.end()]);
        says(
            FieldError::DisplayName,
            &[*DISPLAY_NAME_CHARS.start(), *DISPLAY_NAME_CHARS.end()],
        );
        says(
            FieldError::Password,
            &[*PASSWORD_CHARS.start(), *PASSWORD_CHARS.end()],
        );
        says(FieldError::TotpCode, &[TOTP_DIGITS]);
        says(
            FieldError::Reason,
            &[*REASON_CHARS.start(), *REASON_CHARS.end()],
        );
    }

    #[test]
    fn reasons_need_substance() {
        assert!(Reason::parse("Patient unconscious in ED, no assigned clinician on call").is_ok());
        assert!(Reason::parse("because").is_err());
    }
}
