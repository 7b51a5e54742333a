//! White label: how an organisation presents itself, as data the server serves at run
//! time and the app turns into CSS custom properties (no rebuild per partner).
//!
//! Colours are checked the same way on both sides: the administrator's preview warns with
//! the exact contrast ratios, and the server refuses to save text colours that fall
//! below WCAG 2.2's 4.5:1 against the backgrounds they are drawn on.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// WCAG 2.2 (1.4.3, level AA): the least contrast of normal text against its background.
pub const MIN_TEXT_CONTRAST: f64 = 4.5;
/// The longest support contact shown (an e-mail address, a phone number, a sentence).
pub const MAX_SUPPORT_CHARS: usize = 200;
/// Largest logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 100_000;
/// Where the app finds a logo: this prefix, then the SHA-256 of its bytes in hex.
pub const LOGO_PATH_PREFIX: &str = "/api/brand/logo/";

/// An sRGB colour, `#rrggbb` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

/// Why a colour, a support contact or a logo path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrandError {
    #[error("a colour must be written #rrggbb")]
    Colour,
    #[error(
        "the support contact must be at most {MAX_SUPPORT_CHARS} characters, without control characters"
    )]
    Support,
    #[error("the logo address is not one the server gives out")]
    LogoPath,
}

impl Colour {
    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    pub fn parse(text: &str) -> Result<Self, BrandError> {
        let hex = text.strip_prefix('#').ok_or(BrandError::Colour)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BrandError::Colour);
        }
        let byte = |i: usize| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(BrandError::Colour)
        };
        Ok(Self::new(byte(0)?, byte(2)?, byte(4)?))
    }

    /// `#rrggbb`, lower case.
    pub fn hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }

    /// WCAG relative luminance.
    pub fn luminance(&self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.r) + 0.7152 * channel(self.g) + 0.0722 * channel(self.b)
    }

    /// This colour mixed with `other`: `amount` 0 is this one, 1 is `other`.
    pub fn mix(&self, other: Colour, amount: f64) -> Colour {
        let amount = amount.clamp(0.0, 1.0);
        let blend = |a: u8, b: u8| {
            let value = f64::from(a) + (f64::from(b) - f64::from(a)) * amount;
            // In 0..=255 by construction; the cast only drops the fraction.
            value.round().clamp(0.0, 255.0) as u8
        };
        Colour::new(
            blend(self.r, other.r),
            blend(self.g, other.g),
            blend(self.b, other.b),
        )
    }
}

/// The WCAG contrast ratio of two colours, from 1 to 21.
pub fn contrast(a: Colour, b: Colour) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (light, dark) = if la >= lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

impl Serialize for Colour {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Colour::parse(&text).map_err(serde::de::Error::custom)
    }
}

const WHITE: Colour = Colour::new(0xff, 0xff, 0xff);
const BLACK: Colour = Colour::new(0, 0, 0);

/// The colours an administrator chooses; everything else in the design is derived from
/// them or stays Haven's.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandColours {
    /// Buttons, links, the selected item.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::colour_primary))]
    pub primary: Colour,
    /// Text on primary buttons.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::colour_on_primary))]
    pub on_primary: Colour,
    /// Behind everything.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::colour_page))]
    pub page: Colour,
    /// Cards, panels, inputs.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::colour_surface))]
    pub surface: Colour,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::colour_text))]
    pub text: Colour,
    /// Secondary text: hints, times.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::colour_text_muted))]
    pub text_muted: Colour,
}

impl Default for BrandColours {
    /// Haven's own (style/tokens.css).
    fn default() -> Self {
        Self {
            primary: Colour::new(0x0b, 0x57, 0xd0),
            on_primary: WHITE,
            page: Colour::new(0xf4, 0xf6, 0xf9),
            surface: WHITE,
            text: Colour::new(0x17, 0x20, 0x2b),
            text_muted: Colour::new(0x4f, 0x5b, 0x67),
        }
    }
}

/// A pair of colours the app draws text in, and its contrast.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastCheck {
    /// What is drawn, as the administrator names it (`text`, `on_primary`, ...).
    pub foreground: &'static str,
    /// On what.
    pub background: &'static str,
    pub ratio: f64,
}

impl ContrastCheck {
    pub fn passes(&self) -> bool {
        self.ratio >= MIN_TEXT_CONTRAST
    }
}

impl BrandColours {
    /// The colours by their wire names, in the order forms show them.
    pub const FIELDS: [&'static str; 6] = [
        "primary",
        "on_primary",
        "page",
        "surface",
        "text",
        "text_muted",
    ];

    /// The colour named `field` (one of [`Self::FIELDS`]).
    pub fn get(&self, field: &str) -> Option<Colour> {
        match field {
            "primary" => Some(self.primary),
            "on_primary" => Some(self.on_primary),
            "page" => Some(self.page),
            "surface" => Some(self.surface),
            "text" => Some(self.text),
            "text_muted" => Some(self.text_muted),
            _ => None,
        }
    }

    /// Sets the colour named `field`; `false` if there is no such colour.
    pub fn set(&mut self, field: &str, colour: Colour) -> bool {
        let slot = match field {
            "primary" => &mut self.primary,
            "on_primary" => &mut self.on_primary,
            "page" => &mut self.page,
            "surface" => &mut self.surface,
            "text" => &mut self.text,
            "text_muted" => &mut self.text_muted,
            _ => return false,
        };
        *slot = colour;
        true
    }

    /// Every text-on-background pair the app draws, with its contrast.
    pub fn contrast_checks(&self) -> Vec<ContrastCheck> {
        [
            ("text", self.text, "page", self.page),
            ("text", self.text, "surface", self.surface),
            ("text_muted", self.text_muted, "page", self.page),
            ("text_muted", self.text_muted, "surface", self.surface),
            ("on_primary", self.on_primary, "primary", self.primary),
            // Links and the selected item are drawn in the primary colour.
            ("primary", self.primary, "surface", self.surface),
        ]
        .into_iter()
        .map(|(foreground, fg, background, bg)| ContrastCheck {
            foreground,
            background,
            ratio: contrast(fg, bg),
        })
        .collect()
    }

    /// The pairs below 4.5:1; empty when every text colour may be saved.
    pub fn contrast_failures(&self) -> Vec<ContrastCheck> {
        self.contrast_checks()
            .into_iter()
            .filter(|c| !c.passes())
            .collect()
    }

    /// Whether these colours draw light text on a dark page.
    pub fn is_dark(&self) -> bool {
        self.text.luminance() > self.page.luminance()
    }

    /// The CSS custom properties of `style/tokens.css` these colours set, with the
    /// shades derived from them: hover a fifth of the way further from the surface
    /// (towards black, or white on a dark page), tints a tenth of the colour on the
    /// surface, borders between surface and text. A dark brand also gets the status
    /// colours (danger, success, warning) drawn for a dark surface.
    pub fn custom_properties(&self) -> Vec<(&'static str, String)> {
        let dark = self.is_dark();
        let away = if dark { WHITE } else { BLACK };
        let tint = |c: Colour| self.surface.mix(c, 0.12).hex();
        let mut properties = vec![
            ("--haven-color-primary", self.primary.hex()),
            (
                "--haven-color-primary-hover",
                self.primary.mix(away, 0.2).hex(),
            ),
            ("--haven-color-primary-tint", tint(self.primary)),
            ("--haven-color-on-primary", self.on_primary.hex()),
            ("--haven-color-info", self.primary.hex()),
            ("--haven-color-info-tint", tint(self.primary)),
            ("--haven-color-focus", self.primary.hex()),
            ("--haven-color-focus-halo", self.surface.hex()),
            ("--haven-color-page", self.page.hex()),
            ("--haven-color-surface", self.surface.hex()),
            (
                "--haven-color-surface-sunken",
                self.surface.mix(self.text, 0.06).hex(),
            ),
            ("--haven-color-text", self.text.hex()),
            ("--haven-color-text-muted", self.text_muted.hex()),
            (
                "--haven-color-border",
                self.surface.mix(self.text, 0.18).hex(),
            ),
            (
                "--haven-color-border-control",
                self.surface.mix(self.text, 0.55).hex(),
            ),
        ];
        if dark {
            let danger = Colour::new(0xff, 0xb4, 0xab);
            let success = Colour::new(0x7d, 0xd9, 0x9b);
            let warning = Colour::new(0xf6, 0xc4, 0x54);
            properties.extend([
                ("--haven-color-danger", danger.hex()),
                ("--haven-color-danger-hover", danger.mix(WHITE, 0.3).hex()),
                ("--haven-color-danger-tint", tint(danger)),
                (
                    "--haven-color-on-danger",
                    Colour::new(0x3b, 0x09, 0x07).hex(),
                ),
                ("--haven-color-success", success.hex()),
                ("--haven-color-success-tint", tint(success)),
                ("--haven-color-warning", warning.hex()),
                ("--haven-color-warning-tint", tint(warning)),
            ]);
        }
        properties
    }
}

/// The languages the app is written in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Es,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "en" => Some(Self::En),
            "es" => Some(Self::Es),
            _ => None,
        }
    }
}

/// `PUT /api/org/brand`: everything but the logo, which has its own upload.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandUpdate {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::brand_name))]
    pub name: String,
    pub colours: BrandColours,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::support_contact))]
    pub support: String,
    pub language: Language,
}

/// Most partner origins an organisation may allow to embed it.
pub const MAX_EMBED_ORIGINS: usize = 20;

/// `GET`/`PUT /api/org/embedding`: the partner origins whose pages may show Haven in an
/// iframe. Empty: nobody may (`frame-ancestors 'none'`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Embedding {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::embed_origins))]
    pub origins: Vec<String>,
}

/// A partner page's origin as an administrator may allow it: `https://host[:port]` and
/// nothing more (no path, query, user or wildcard). The normalised origin, or `None`.
pub fn parse_embed_origin(text: &str) -> Option<String> {
    let url = crate::url::HttpsUrl::parse(text.trim()).ok()?;
    let origin = url.origin();
    (url.as_str() == origin || url.as_str() == format!("{origin}/")).then_some(origin)
}

/// Checks a support contact: short, without control, invisible or direction-changing
/// characters ([`DECEPTIVE`](crate::identity::DECEPTIVE)); empty means none.
pub fn valid_support(text: &str) -> bool {
    text.chars().count() <= MAX_SUPPORT_CHARS
        && !text
            .chars()
            .any(|c| c.is_control() || crate::identity::is_deceptive(c))
}

/// Checks a logo address: exactly the server's `/api/brand/logo/{sha256 hex}`.
pub fn valid_logo_path(path: &str) -> bool {
    path.strip_prefix(LOGO_PATH_PREFIX).is_some_and(|hash| {
        hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_strictly_and_print_the_same() {
        assert_eq!(Colour::parse("#0B57d0").unwrap().hex(), "#0b57d0");
        for bad in [
            "0b57d0", "#0b57d", "#0b57d0f", "#gg0000", "", "#", "red", "#+1+2+3",
        ] {
            assert_eq!(Colour::parse(bad), Err(BrandError::Colour), "{bad}");
        }
        let json: Result<Colour, _> = serde_json::from_str("\"#12345z\"");
        assert!(json.is_err());
    }

    #[test]
    fn every_field_reads_and_writes_its_own_colour() {
        let mut colours = BrandColours::default();
        for (i, field) in BrandColours::FIELDS.iter().enumerate() {
            let colour = Colour::new(u8::try_from(i).unwrap(), 1, 2);
            assert!(colours.set(field, colour));
            assert_eq!(colours.get(field), Some(colour));
            let wire = serde_json::to_value(colours).unwrap();
            assert_eq!(wire[*field], colour.hex());
        }
        assert!(!colours.set("border", WHITE));
        assert_eq!(colours.get("border"), None);
    }

    #[test]
    fn contrast_is_wcags() {
        assert!((contrast(BLACK, WHITE) - 21.0).abs() < 1e-9);
        assert!((contrast(WHITE, WHITE) - 1.0).abs() < 1e-9);
        // #767676 on white is the classic 4.54:1.
        let grey = Colour::parse("#767676").unwrap();
        assert!((contrast(grey, WHITE) - 4.54).abs() < 0.01);
        assert_eq!(contrast(grey, WHITE), contrast(WHITE, grey));
    }

    #[test]
    fn havens_own_colours_pass_and_a_pale_text_is_named() {
        assert!(BrandColours::default().contrast_failures().is_empty());
        let pale = BrandColours {
            text_muted: Colour::parse("#aaaaaa").unwrap(),
            ..BrandColours::default()
        };
        let failures = pale.contrast_failures();
        assert_eq!(failures.len(), 2);
        assert!(failures.iter().all(|f| f.foreground == "text_muted"));
        assert!(failures.iter().all(|f| f.ratio < MIN_TEXT_CONTRAST));
    }

    #[test]
    fn embedding_origins_are_bare_https_origins() {
        assert_eq!(
            parse_embed_origin("https://Partner.Example:8443/").as_deref(),
            Some("https://partner.example:8443")
        );
        assert_eq!(
            parse_embed_origin("https://partner.example").as_deref(),
            Some("https://partner.example")
        );
        for bad in [
            "http://partner.example",
            "https://partner.example/portal",
            "https://partner.example/?x=1",
            "https://user@partner.example",
            "https://*.partner.example",
            "*",
            "'self'",
            "javascript:alert(1)",
            "https://partner.example 'unsafe-inline'",
            "",
        ] {
            assert_eq!(parse_embed_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn logo_paths_and_support_contacts_are_checked() {
        let hash = "a".repeat(64);
        assert!(valid_logo_path(&format!("{LOGO_PATH_PREFIX}{hash}")));
        assert!(!valid_logo_path(&format!(
            "{LOGO_PATH_PREFIX}{}",
            "A".repeat(64)
        )));
        assert!(!valid_logo_path("https://evil.example/logo.png"));
        assert!(!valid_logo_path(&format!("{LOGO_PATH_PREFIX}{hash}/../x")));
        assert!(valid_support("help@clinic.example, 555-0100"));
        assert!(!valid_support("line\nbreak"));
        assert!(!valid_support(&"x".repeat(MAX_SUPPORT_CHARS + 1)));
    }
}
