//! The app's words, by language. Catalogues are Fluent files (`locales/<lang>/*.ftl`),
//! parsed and checked when the app is built ([`compile`]) and turned into static tables
//! of compiled strings (see [`marks`]), so the browser carries neither a Fluent parser nor plural-rule tables:
//! [`format`] reads a table entry with the caller's [`Locale`] (which asks the browser's
//! `Intl` for plural categories and number formats).
//!
//! What a catalogue may hold is a subset of Fluent: text, `{ $variable }`, string
//! literals, and a select on a variable (`{ $n -> [one] … *[other] … }`) whose keys are
//! plural categories, numbers or words. Terms, attributes, functions and message
//! references are refused at build time.

#[cfg(feature = "compile")]
pub mod compile;

use std::borrow::Cow;

/// How a compiled message is written: text as it is, and these marks (no catalogue may
/// use them) around what is filled in. A variable is `VAR name END`; a select is
/// `SELECT var (ARM key KEY pattern)* ARM * KEY pattern END_SELECT`, its patterns holding
/// text and variables only (a select inside a select is refused at build time).
pub mod marks {
    pub const VAR: char = '\u{1}';
    pub const END: char = '\u{2}';
    pub const SELECT: char = '\u{3}';
    pub const ARM: char = '\u{4}';
    pub const KEY: char = '\u{5}';
    pub const END_SELECT: char = '\u{6}';
    /// Between two messages in a catalogue file the app fetches (every language but the
    /// reference, which is compiled in).
    pub const NEXT: char = '\u{1e}';
    /// Every mark, for checking that text holds none.
    pub const ALL: [char; 7] = [VAR, END, SELECT, ARM, KEY, END_SELECT, NEXT];
}

/// A value for a message's variable.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Text(Cow<'a, str>),
    Number(f64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Arg::Text(Cow::Owned(text))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(text))
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(n: $t) -> Self {
                Arg::Number(n as f64)
            }
        }
    )*};
}
numbers!(u8, u16, u32, u64, usize, i32, i64, f64);

/// What formatting needs from the language it formats in.
pub trait Locale {
    /// The CLDR plural category of `n` ("one", "other", …).
    fn plural(&self, n: f64) -> Cow<'static, str>;
    /// `n` written for this language.
    fn number(&self, n: f64) -> String;
    /// The catalogue's own text as shown: the text itself, or transformed (the
    /// pseudo-locale). Arguments pass through it too.
    fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        Cow::Borrowed(text)
    }
}

/// A catalogue file's text as its messages, if it holds exactly `count` of them.
pub fn messages(file: &str, count: usize) -> Option<Vec<&str>> {
    let messages: Vec<&str> = file.split(marks::NEXT).collect();
    (messages.len() == count).then_some(messages)
}

/// Writes the compiled message `pattern` with `args` in `locale`. A variable with no
/// argument shows as `{name}`, which is visible and harmless; a malformed pattern (not
/// made by [`compile`]) is written as far as it can be read.
pub fn format(pattern: &str, args: &[(&str, Arg<'_>)], locale: &impl Locale) -> String {
    let mut out = String::new();
    write(pattern, args, locale, &mut out);
    out
}

fn write(pattern: &str, args: &[(&str, Arg<'_>)], locale: &impl Locale, out: &mut String) {
    use marks::{ARM, END, END_SELECT, KEY, SELECT, VAR};
    let arg = |name: &str| args.iter().find(|(n, _)| *n == name).map(|(_, a)| a);
    let mut rest = pattern;
    while let Some(at) = rest.find([VAR, SELECT]) {
        out.push_str(&locale.text(&rest[..at]));
        let mark = rest[at..].chars().next().unwrap_or(VAR);
        rest = &rest[at + mark.len_utf8()..];
        if mark == VAR {
            let (name, after) = rest.split_once(END).unwrap_or((rest, ""));
            match arg(name) {
                Some(Arg::Text(text)) => out.push_str(&locale.text(text)),
                Some(Arg::Number(n)) => out.push_str(&locale.text(&locale.number(*n))),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = after;
        } else {
            let (select, after) = rest.split_once(END_SELECT).unwrap_or((rest, ""));
            rest = after;
            let mut parts = select.split(ARM);
            let var = parts.next().unwrap_or_default();
            let arms: Vec<(&str, &str)> = parts.filter_map(|arm| arm.split_once(KEY)).collect();
            let chosen = match arg(var) {
                Some(Arg::Number(n)) => {
                    let category = locale.plural(*n);
                    arms.iter()
                        // Number keys are whole numbers (checked at build time): no
                        // float parser in the browser.
                        .find(|(key, _)| key.parse::<u64>().is_ok_and(|k| k as f64 == *n))
                        .or_else(|| arms.iter().find(|(key, _)| *key == category))
                }
                Some(Arg::Text(text)) => arms.iter().find(|(key, _)| *key == text.as_ref()),
                None => None,
            }
            .or_else(|| arms.iter().find(|(key, _)| *key == "*"));
            if let Some((_, chosen)) = chosen {
                write(chosen, args, locale, out);
            }
        }
    }
    out.push_str(&locale.text(rest));
}

/// The pseudo-locale's transformation: every ASCII letter becomes an accented look-alike,
/// so text that did not come through a catalogue stands out as plain ASCII letters.
pub fn pseudo(text: &str) -> String {
    const LOWER: [char; 26] = [
        'á', 'ƀ', 'ç', 'ď', 'é', 'ƒ', 'ĝ', 'ĥ', 'í', 'ĵ', 'ķ', 'ĺ', 'ɱ', 'ñ', 'ó', 'þ', 'ǫ', 'ŕ',
        'š', 'ţ', 'ú', 'ṽ', 'ŵ', 'ẋ', 'ý', 'ž',
    ];
    const UPPER: [char; 26] = [
        'Á', 'Ɓ', 'Ç', 'Ď', 'É', 'Ƒ', 'Ĝ', 'Ĥ', 'Í', 'Ĵ', 'Ķ', 'Ĺ', 'Ṁ', 'Ñ', 'Ó', 'Þ', 'Ǫ', 'Ŕ',
        'Š', 'Ţ', 'Ú', 'Ṽ', 'Ŵ', 'Ẋ', 'Ý', 'Ž',
    ];
    text.chars()
        .map(|c| match c {
            'a'..='z' => LOWER[usize::from(c as u8 - b'a')],
            'A'..='Z' => UPPER[usize::from(c as u8 - b'A')],
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct English;
    impl Locale for English {
        fn plural(&self, n: f64) -> Cow<'static, str> {
            Cow::Borrowed(if n == 1.0 { "one" } else { "other" })
        }
        fn number(&self, n: f64) -> String {
            n.to_string()
        }
    }

    struct Pseudo;
    impl Locale for Pseudo {
        fn plural(&self, n: f64) -> Cow<'static, str> {
            English.plural(n)
        }
        fn number(&self, n: f64) -> String {
            n.to_string()
        }
        fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
            Cow::Owned(pseudo(text))
        }
    }

    /// "You have { $count -> [0] no new messages [one] one new message *[other] { $count }
    /// new messages } from { $name }", compiled.
    const UNREAD: &str = "You have \u{3}count\u{4}0\u{5}no new messages\u{4}one\u{5}one new message\u{4}*\u{5}\u{1}count\u{2} new messages\u{6} from \u{1}name\u{2}";

    #[test]
    fn variables_and_selects_are_filled_in() {
        let args = |n: f64| [("count", Arg::Number(n)), ("name", Arg::from("Ana"))];
        assert_eq!(
            format(UNREAD, &args(0.0), &English),
            "You have no new messages from Ana"
        );
        assert_eq!(
            format(UNREAD, &args(1.0), &English),
            "You have one new message from Ana"
        );
        assert_eq!(
            format(UNREAD, &args(7.0), &English),
            "You have 7 new messages from Ana"
        );
        // A missing argument is visible, not a crash; a select without one takes `other`.
        assert_eq!(
            format(UNREAD, &[], &English),
            "You have {count} new messages from {name}"
        );
        // A word picks its own arm.
        let by_word = "\u{3}role\u{4}admin\u{5}Administrator\u{4}*\u{5}Someone\u{6}";
        assert_eq!(
            format(by_word, &[("role", Arg::from("admin"))], &English),
            "Administrator"
        );
        assert_eq!(
            format(by_word, &[("role", Arg::from("x"))], &English),
            "Someone"
        );
    }

    #[test]
    fn the_pseudo_locale_leaves_no_ascii_letter() {
        let text = format(
            UNREAD,
            &[("count", Arg::Number(3.0)), ("name", Arg::from("Ana"))],
            &Pseudo,
        );
        assert!(!text.chars().any(|c| c.is_ascii_alphabetic()), "{text}");
        assert!(text.contains('3'), "{text}");
        assert_eq!(pseudo("Sign in, 2FA!"), "Šíĝñ íñ, 2ƑÁ!");
    }
}
