//! JSON Schemas of the values people type, for the server's OpenAPI document, written by
//! hand from the same limits the parsers in [`crate::identity`] and [`crate::config`] use:
//! lengths, character sets and patterns come from those constants, so a client built from
//! the document and the server cannot drift apart.
//!
//! Each schema describes the canonical value: the parsers also take a value with
//! whitespace around it (and trim it), or an email address in capitals (and lower-case
//! it), so a schema is never looser than its parser. What JSON Schema cannot say (UTF-8
//! byte limits) is said in the description.
//!
//! Patterns are ECMA-262 and Rust `regex` alike: only character classes, `\uXXXX`
//! escapes, groups and counted repetition, and only characters of the Basic Multilingual
//! Plane escaped, so both dialects read them the same.

use std::fmt::Write as _;

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{Object, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::config::IDLE_TIMEOUT_RANGE_SECS;
use crate::identity::{
    DECEPTIVE, DISPLAY_NAME_CHARS, DeviceCredential, DisplayName, EMAIL_BYTES, EMAIL_FORBIDDEN,
    EMAIL_LOCAL_MAX_BYTES, Email, ID_HEX_CHARS, Id, PASSWORD_CHARS, Password, REASON_CHARS, Reason,
    TOKEN_CHARS, TOTP_DIGITS, TotpCode,
};

/// The characters `char::is_whitespace` (Unicode `White_Space`) takes, which `str::trim`
/// removes; a unit test compares every code point.
pub const WHITESPACE: &[(char, char)] = &[
    ('\u{9}', '\u{D}'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{A0}', '\u{A0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200A}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202F}', '\u{202F}'),
    ('\u{205F}', '\u{205F}'),
    ('\u{3000}', '\u{3000}'),
];

/// The characters `char::is_control` (Unicode `Cc`) takes; a unit test compares every
/// code point.
pub const CONTROL: &[(char, char)] = &[('\u{0}', '\u{1F}'), ('\u{7F}', '\u{9F}')];

/// One character of a class, escaped where ECMA-262 or `regex` would read it otherwise.
fn class_char(out: &mut String, c: char) {
    match c {
        '\\' | ']' | '[' | '^' | '-' => {
            out.push('\\');
            out.push(c);
        }
        '!'..='~' => out.push(c),
        _ if u32::from(c) <= 0xFFFF => {
            let _ = write!(out, "\\u{:04X}", u32::from(c));
        }
        // Outside the BMP ECMA-262 without the `u` flag sees two halves: written as
        // itself, which both dialects read as one character with the flag.
        _ => out.push(c),
    }
}

/// `[^…]`: any character outside the given ranges and characters.
fn none_of(ranges: &[&[(char, char)]], chars: &[char]) -> String {
    let mut out = String::from("[^");
    for &(lo, hi) in ranges.iter().copied().flatten() {
        class_char(&mut out, lo);
        if hi != lo {
            out.push('-');
            class_char(&mut out, hi);
        }
    }
    for &c in chars {
        class_char(&mut out, c);
    }
    out.push(']');
    out
}

/// `ranges` without the one character `c`.
fn without(ranges: &[(char, char)], c: char) -> Vec<(char, char)> {
    let mut out = Vec::new();
    for &(lo, hi) in ranges {
        if !(lo..=hi).contains(&c) {
            out.push((lo, hi));
            continue;
        }
        if let Some(before) = char::from_u32(u32::from(c).wrapping_sub(1)).filter(|_| lo < c) {
            out.push((lo, before));
        }
        if let Some(after) = char::from_u32(u32::from(c) + 1).filter(|_| c < hi) {
            out.push((after, hi));
        }
    }
    out
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn described(builder: ObjectBuilder, description: String, example: &str) -> RefOr<Schema> {
    builder
        .description(Some(description))
        .examples([example])
        .build()
        .into()
}

/// An email address as [`Email::parse`] takes it.
pub fn email_pattern() -> String {
    let atom = none_of(
        &[WHITESPACE, CONTROL, DECEPTIVE],
        &[&['@'], &EMAIL_FORBIDDEN[..]].concat(),
    );
    let label = none_of(
        &[WHITESPACE, CONTROL, DECEPTIVE],
        &[&['@', '.'], &EMAIL_FORBIDDEN[..]].concat(),
    );
    // The domain holds a dot and neither starts nor ends with one.
    format!("^{atom}{{1,{EMAIL_LOCAL_MAX_BYTES}}}@{label}{atom}*\\.{atom}*{label}$")
}

impl PartialSchema for Email {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "An email address: one `@`, a dot inside the domain, no whitespace, control, \
             invisible or direction-changing characters, none of `{forbidden}`. At most \
             {max} bytes of UTF-8 in all and {local} before the `@` (the lengths here count \
             characters, which is the same for ASCII). The server trims surrounding \
             whitespace and keeps the address in lower case.",
            forbidden = EMAIL_FORBIDDEN.iter().collect::<String>(),
            max = EMAIL_BYTES.end(),
            local = EMAIL_LOCAL_MAX_BYTES,
        );
        let builder = string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
            .max_length(Some(*EMAIL_BYTES.end()))
            .pattern(Some(email_pattern()));
        described(builder, description, "ana@clinic.example")
    }
}
impl ToSchema for Email {}

/// Text that is not blank, has no whitespace at either end, and holds none of the
/// characters of `refused` anywhere.
fn trimmed_text_pattern(refused: &[&[(char, char)]]) -> String {
    let inner = none_of(refused, &[]);
    let mut edge_ranges: Vec<&[(char, char)]> = refused.to_vec();
    edge_ranges.push(WHITESPACE);
    let edge = none_of(&edge_ranges, &[]);
    format!("^{edge}(?:{inner}*{edge})?$")
}

/// A display name as [`DisplayName::parse`] takes it.
pub fn display_name_pattern() -> String {
    trimmed_text_pattern(&[CONTROL, DECEPTIVE])
}

impl PartialSchema for DisplayName {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "A person's name as they write it, {} to {} characters, any script, without \
             control, invisible or direction-changing characters. The server trims \
             surrounding whitespace.",
            DISPLAY_NAME_CHARS.start(),
            DISPLAY_NAME_CHARS.end()
        );
        let builder = string()
            .min_length(Some(*DISPLAY_NAME_CHARS.start()))
            .max_length(Some(*DISPLAY_NAME_CHARS.end()))
            .pattern(Some(display_name_pattern()));
        described(builder, description, "Zoë Ångström")
    }
}
impl ToSchema for DisplayName {}

/// A reason as [`Reason::parse`] takes it: line breaks are its only control character.
pub fn reason_pattern() -> String {
    trimmed_text_pattern(&[&without(CONTROL, '\n'), DECEPTIVE])
}

impl PartialSchema for Reason {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "Why, in {} to {} characters; line breaks allowed, other control, invisible or \
             direction-changing characters not. The server trims surrounding whitespace.",
            REASON_CHARS.start(),
            REASON_CHARS.end()
        );
        let builder = string()
            .min_length(Some(*REASON_CHARS.start()))
            .max_length(Some(*REASON_CHARS.end()))
            .pattern(Some(reason_pattern()));
        described(
            builder,
            description,
            "Patient unconscious in ED, no assigned clinician on call",
        )
    }
}
impl ToSchema for Reason {}

/// Not only whitespace (JSON Schema patterns are not anchored).
pub fn password_pattern() -> String {
    none_of(&[WHITESPACE], &[])
}

impl PartialSchema for Password {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "A password of {} to {} characters, not only whitespace. Sent only to sign in \
             or set up an account; the server keeps only its argon2id hash.",
            PASSWORD_CHARS.start(),
            PASSWORD_CHARS.end()
        );
        let builder = string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .min_length(Some(*PASSWORD_CHARS.start()))
            .max_length(Some(*PASSWORD_CHARS.end()))
            .pattern(Some(password_pattern()))
            .write_only(true);
        described(builder, description, "correct horse battery staple")
    }
}
impl ToSchema for Password {}

pub fn totp_code_pattern() -> String {
    format!("^[0-9]{{{TOTP_DIGITS}}}$")
}

impl PartialSchema for TotpCode {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "The {TOTP_DIGITS} digits an authenticator app shows. The server also takes \
             them with spaces between (`123 456`)."
        );
        let builder = string()
            .min_length(Some(TOTP_DIGITS))
            .max_length(Some(TOTP_DIGITS))
            .pattern(Some(totp_code_pattern()));
        described(builder, description, "123456")
    }
}
impl ToSchema for TotpCode {}

pub fn id_pattern() -> String {
    format!("^[0-9a-f]{{{ID_HEX_CHARS}}}$")
}

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "An opaque identifier: {ID_HEX_CHARS} lower-case hexadecimal characters \
             ({} random bits).",
            ID_HEX_CHARS * 4
        );
        let builder = string()
            .min_length(Some(ID_HEX_CHARS))
            .max_length(Some(ID_HEX_CHARS))
            .pattern(Some(id_pattern()));
        described(builder, description, "0123456789abcdef0123456789abcdef")
    }
}
impl ToSchema for Id {}

pub fn token_pattern() -> String {
    format!("^[A-Za-z0-9_\\-]{{{TOKEN_CHARS}}}$")
}

fn token_builder(description: String) -> ObjectBuilder {
    string()
        .min_length(Some(TOKEN_CHARS))
        .max_length(Some(TOKEN_CHARS))
        .pattern(Some(token_pattern()))
        .description(Some(description))
        .examples(["q3Vx8Jk0mZt2Wn7Yb5Rc9Ld4Hs6Gf1Ea_Pu-Oi3Ky8T"])
}

/// A one-time token from a link (256 random bits, base64url without padding).
pub fn token() -> Object {
    token_builder(format!(
        "The secret of a one-time link: {TOKEN_CHARS} base64url characters (256 random bits)."
    ))
    .build()
}

impl PartialSchema for DeviceCredential {
    fn schema() -> RefOr<Schema> {
        token_builder(format!(
            "This browser's credential for one account, as the server gave it: \
             {TOKEN_CHARS} base64url characters (256 random bits)."
        ))
        .build()
        .into()
    }
}
impl ToSchema for DeviceCredential {}

/// The organisation's idle time before automatic logoff, within the range the server
/// and the app both enforce.
pub fn idle_timeout_secs() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(*IDLE_TIMEOUT_RANGE_SECS.start()))
        .maximum(Some(*IDLE_TIMEOUT_RANGE_SECS.end()))
        .description(Some(
            "Seconds without activity before a session ends and the app signs out.",
        ))
        .build()
}

fn hex_builder(min_bytes: usize, max_bytes: usize) -> ObjectBuilder {
    string()
        .min_length(Some(2 * min_bytes))
        .max_length(Some(2 * max_bytes))
        .pattern(Some(format!(
            "^(?:[0-9a-f]{{2}}){{{min_bytes},{max_bytes}}}$"
        )))
}

impl PartialSchema for crate::messaging::SignatureKey {
    fn schema() -> RefOr<Schema> {
        let bytes = crate::messaging::SignatureKey::BYTES;
        described(
            hex_builder(bytes, bytes),
            format!("An Ed25519 public key: {bytes} bytes as lower-case hexadecimal."),
            &"3d".repeat(bytes),
        )
    }
}
impl ToSchema for crate::messaging::SignatureKey {}

impl PartialSchema for crate::messaging::RegistrationChallenge {
    fn schema() -> RefOr<Schema> {
        let bytes = crate::messaging::RegistrationChallenge::BYTES;
        described(
            hex_builder(bytes, bytes),
            format!(
                "A device registration challenge from `POST /api/mls/devices/challenge`: \
                 {bytes} bytes as lower-case hexadecimal."
            ),
            &"c3".repeat(bytes),
        )
    }
}
impl ToSchema for crate::messaging::RegistrationChallenge {}

impl PartialSchema for crate::messaging::RegistrationSignature {
    fn schema() -> RefOr<Schema> {
        let bytes = crate::messaging::RegistrationSignature::BYTES;
        described(
            hex_builder(bytes, bytes),
            format!(
                "An Ed25519 signature by the key being registered over the registration \
                 message: {bytes} bytes as lower-case hexadecimal."
            ),
            &"5e".repeat(bytes),
        )
    }
}
impl ToSchema for crate::messaging::RegistrationSignature {}

impl PartialSchema for crate::messaging::KeyPackageBytes {
    fn schema() -> RefOr<Schema> {
        let max = crate::messaging::MAX_KEY_PACKAGE_BYTES;
        described(
            hex_builder(1, max),
            format!(
                "An MLS KeyPackage (RFC 9420 §10) inside an `MLSMessage` (§6: version mls10, \
                 wire format mls_key_package, 0x0005), not a bare KeyPackage: 1 to {max} bytes \
                 as lower-case hexadecimal."
            ),
            "0001000520",
        )
    }
}
impl ToSchema for crate::messaging::KeyPackageBytes {}

/// Standard base64 with padding (RFC 4648 §4), canonical as the parser demands: the
/// bits a final `=` or `==` leaves unused are zero, so each byte string has one spelling.
pub fn base64_pattern() -> String {
    let digit = "[A-Za-z0-9+/]";
    format!("^(?:{digit}{{4}})*(?:{digit}{{4}}|{digit}{{2}}[AEIMQUYcgkosw048]=|{digit}[AQgw]==)$")
}

impl PartialSchema for crate::messaging::MlsBytes {
    fn schema() -> RefOr<Schema> {
        let max = crate::messaging::MAX_MLS_MESSAGE_BYTES;
        described(
            string()
                .min_length(Some(4))
                .max_length(Some(max.div_ceil(3) * 4))
                .pattern(Some(base64_pattern())),
            format!(
                "An MLS message (an `MLSMessage`, RFC 9420 §6) as standard base64 with padding: \
                 1 to {max} bytes."
            ),
            "AAEAAg==",
        )
    }
}
impl ToSchema for crate::messaging::MlsBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers(ranges: &[(char, char)], c: char) -> bool {
        ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
    }

    /// The classes in the patterns are exactly what the parsers' `std` predicates take.
    #[test]
    fn character_ranges_match_std_for_every_code_point() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                covers(WHITESPACE, c),
                c.is_whitespace(),
                "{:04X}",
                u32::from(c)
            );
            assert_eq!(covers(CONTROL, c), c.is_control(), "{:04X}", u32::from(c));
        }
        let no_newline = without(CONTROL, '\n');
        for c in (0..=0xFFFF).filter_map(char::from_u32) {
            assert_eq!(covers(&no_newline, c), c.is_control() && c != '\n');
        }
    }

    #[test]
    fn classes_escape_what_regex_syntax_would_read() {
        assert_eq!(
            none_of(&[&[('\u{0}', '\u{1F}')]], &['-', ']', 'a']),
            "[^\\u0000-\\u001F\\-\\]a]"
        );
        assert_eq!(without(&[('a', 'c')], 'b'), vec![('a', 'a'), ('c', 'c')]);
        assert_eq!(without(&[('a', 'c')], 'a'), vec![('b', 'c')]);
        assert_eq!(without(&[('a', 'a')], 'a'), vec![]);
    }
}

/// An organisation's name as `PUT /api/org/brand` takes it.
pub fn brand_name() -> Object {
    string()
        .min_length(Some(1))
        .max_length(Some(crate::config::MAX_BRAND_NAME_CHARS))
        .pattern(Some(trimmed_text_pattern(&[CONTROL, DECEPTIVE])))
        .description(Some(format!(
            "The organisation's name as shown in the app, 1 to {} characters, without \
             control, invisible or direction-changing characters. The server trims \
             surrounding whitespace.",
            crate::config::MAX_BRAND_NAME_CHARS
        )))
        .examples(["Northside Clinic"])
        .build()
}

/// A support contact: empty, or text as a brand name but up to 200 characters.
pub fn support_contact() -> Object {
    let text = trimmed_text_pattern(&[CONTROL, DECEPTIVE]);
    let inner = text.trim_start_matches('^').trim_end_matches('$');
    string()
        .max_length(Some(crate::brand::MAX_SUPPORT_CHARS))
        .pattern(Some(format!("^(?:{inner})?$")))
        .description(Some(format!(
            "How patients reach the clinic for help (an address, a phone number, a \
             sentence), at most {} characters, without control, invisible or \
             direction-changing characters; empty for none. The server trims surrounding whitespace.",
            crate::brand::MAX_SUPPORT_CHARS
        )))
        .examples(["help@clinic.example, 555-0100"])
        .build()
}

fn colour(example: crate::brand::Colour) -> Object {
    string()
        .pattern(Some("^#[0-9a-fA-F]{6}$"))
        .description(Some(
            "A colour, `#rrggbb`. Together the colours must give text at least 4.5:1 \
             contrast (WCAG 2.2 AA) on the backgrounds it is drawn on: text and muted text \
             on page and surface, on-primary on primary, primary on surface. A set that \
             does not is refused.",
        ))
        .examples([example.hex()])
        .build()
}

macro_rules! colour_schemas {
    ($($name:ident => $field:ident),* $(,)?) => {
        $(
            #[doc = concat!("The `", stringify!($field), "` colour.")]
            pub fn $name() -> Object {
                colour(crate::brand::BrandColours::default().$field)
            }
        )*
    };
}

colour_schemas!(
    colour_primary => primary,
    colour_on_primary => on_primary,
    colour_page => page,
    colour_surface => surface,
    colour_text => text,
    colour_text_muted => text_muted,
);

/// The partner origins allowed to embed the app.
pub fn embed_origins() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            string()
                .pattern(Some("^https://[^/?#@*\\s]+/?$"))
                .description(Some(
                    "A partner page's origin, `https://host[:port]`: no path, query, user \
                     or wildcard.",
                ))
                .examples(["https://partner.example"]),
        )
        .max_items(Some(crate::brand::MAX_EMBED_ORIGINS))
        .description(Some(format!(
            "At most {} origins; empty for none (the app may then not be framed at all).",
            crate::brand::MAX_EMBED_ORIGINS
        )))
        .build()
}
