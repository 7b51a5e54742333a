//! Build time: reads `locales/<lang>/*.ftl`, refuses what the browser's formatter cannot
//! show, compares every language with English, and writes the Rust tables the app
//! includes (`Msg`, one `&[Part]` per message and language).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fluent_syntax::ast;

/// The reference language: every other catalogue is checked against it, and fills in
/// for a message another one lacks.
pub const REFERENCE: &str = "en";

/// A compiled message piece, owned (the runtime's [`crate::Part`] is static).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Var(String),
    Select {
        var: String,
        arms: Vec<(String, Vec<Piece>)>,
        other: Vec<Piece>,
    },
}

/// One message of one catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub pieces: Vec<Piece>,
    /// Where it was defined, for messages about it.
    pub file: PathBuf,
}

impl Message {
    /// The variables it uses, selectors included.
    pub fn variables(&self) -> BTreeSet<String> {
        fn walk(pieces: &[Piece], into: &mut BTreeSet<String>) {
            for piece in pieces {
                match piece {
                    Piece::Text(_) => {}
                    Piece::Var(name) => {
                        into.insert(name.clone());
                    }
                    Piece::Select { var, arms, other } => {
                        into.insert(var.clone());
                        for (_, arm) in arms {
                            walk(arm, into);
                        }
                        walk(other, into);
                    }
                }
            }
        }
        let mut found = BTreeSet::new();
        walk(&self.pieces, &mut found);
        found
    }
}

/// One language's messages, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    pub messages: BTreeMap<String, Message>,
}

/// A difference between a catalogue and the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Missing {
        lang: String,
        id: String,
    },
    Unknown {
        lang: String,
        id: String,
    },
    Variables {
        lang: String,
        id: String,
        expected: BTreeSet<String>,
        found: BTreeSet<String>,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing { lang, id } => write!(f, "`{id}` is missing from the {lang} catalogue"),
            Self::Unknown { lang, id } => {
                write!(
                    f,
                    "`{id}` is in the {lang} catalogue but not in the {REFERENCE} one"
                )
            }
            Self::Variables {
                lang,
                id,
                expected,
                found,
            } => write!(
                f,
                "`{id}` in the {lang} catalogue uses the variables {found:?}, the {REFERENCE} one {expected:?}"
            ),
        }
    }
}

/// Parses one Fluent source. Errors name the file and the line.
pub fn parse(source: &str, file: &Path) -> Result<Catalogue, Vec<String>> {
    let line = |offset: usize| source[..offset.min(source.len())].lines().count().max(1);
    let resource = match fluent_syntax::parser::parse(source) {
        Ok(resource) => resource,
        Err((_, errors)) => {
            return Err(errors
                .iter()
                .map(|e| format!("{}:{}: {:?}", file.display(), line(e.pos.start), e.kind))
                .collect());
        }
    };
    let mut catalogue = Catalogue::default();
    let mut errors = Vec::new();
    for entry in resource.body {
        match entry {
            ast::Entry::Message(message) => {
                let id = message.id.name.to_owned();
                let Some(value) = message.value else {
                    errors.push(format!("{}: `{id}` has no value", file.display()));
                    continue;
                };
                if !message.attributes.is_empty() {
                    errors.push(format!(
                        "{}: `{id}` has attributes, which the app does not read",
                        file.display()
                    ));
                }
                match pieces(&value.elements) {
                    Ok(pieces) => {
                        let message = Message {
                            pieces,
                            file: file.to_owned(),
                        };
                        if catalogue.messages.insert(id.clone(), message).is_some() {
                            errors.push(format!("{}: `{id}` is defined twice", file.display()));
                        }
                    }
                    Err(why) => errors.push(format!("{}: `{id}`: {why}", file.display())),
                }
            }
            ast::Entry::Term(term) => errors.push(format!(
                "{}: the term `-{}`: terms are not supported",
                file.display(),
                term.id.name
            )),
            ast::Entry::Junk { content } => {
                errors.push(format!("{}: cannot read {content:?}", file.display()));
            }
            ast::Entry::Comment(_)
            | ast::Entry::GroupComment(_)
            | ast::Entry::ResourceComment(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(catalogue)
    } else {
        Err(errors)
    }
}

fn pieces(elements: &[ast::PatternElement<&str>]) -> Result<Vec<Piece>, String> {
    let mut out: Vec<Piece> = Vec::new();
    let push_text = |out: &mut Vec<Piece>, text: &str| {
        if let Some(Piece::Text(last)) = out.last_mut() {
            last.push_str(text);
        } else if !text.is_empty() {
            out.push(Piece::Text(text.to_owned()));
        }
    };
    for element in elements {
        match element {
            ast::PatternElement::TextElement { value } => {
                if value.contains(crate::marks::ALL) {
                    return Err("the text holds a control character".into());
                }
                push_text(&mut out, value);
            }
            ast::PatternElement::Placeable { expression } => match expression {
                ast::Expression::Inline(inline) => match inline {
                    ast::InlineExpression::StringLiteral { value } => {
                        let value = unescape(value)?;
                        if value.contains(crate::marks::ALL) {
                            return Err("the text holds a control character".into());
                        }
                        push_text(&mut out, &value);
                    }
                    ast::InlineExpression::VariableReference { id } => {
                        out.push(Piece::Var(id.name.to_owned()));
                    }
                    other => return Err(format!("unsupported placeable {other:?}")),
                },
                ast::Expression::Select { selector, variants } => {
                    let ast::InlineExpression::VariableReference { id } = selector else {
                        return Err("a select must be on a variable".into());
                    };
                    let mut arms = Vec::new();
                    let mut other = None;
                    for variant in variants {
                        let key = match &variant.key {
                            ast::VariantKey::Identifier { name } => (*name).to_owned(),
                            ast::VariantKey::NumberLiteral { value } => {
                                if value.parse::<u64>().is_err() {
                                    return Err(format!("the key [{value}] is not a whole number"));
                                }
                                (*value).to_owned()
                            }
                        };
                        let value = pieces(&variant.value.elements)?;
                        if value.iter().any(|p| matches!(p, Piece::Select { .. })) {
                            return Err("a select inside a select is not supported".into());
                        }
                        if variant.default {
                            other = Some(value);
                        } else {
                            arms.push((key, value));
                        }
                    }
                    let other = other.ok_or("a select needs a default (*) variant")?;
                    out.push(Piece::Select {
                        var: id.name.to_owned(),
                        arms,
                        other,
                    });
                }
            },
        }
    }
    Ok(out)
}

/// A Fluent string literal's escapes: `\"`, `\\`, `\uXXXX`, `\UXXXXXX`.
fn unescape(literal: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = literal.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(c @ ('"' | '\\')) => out.push(c),
            Some(u @ ('u' | 'U')) => {
                let len = if u == 'u' { 4 } else { 6 };
                let hex: String = chars.by_ref().take(len).collect();
                let c = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad escape \\{u}{hex}"))?;
                out.push(c);
            }
            other => return Err(format!("bad escape \\{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

/// Every `.ftl` file of `dir`, in name order, as one catalogue.
pub fn load(dir: &Path) -> Result<Catalogue, Vec<String>> {
    let read = std::fs::read_dir(dir).map_err(|e| vec![format!("{}: {e}", dir.display())])?;
    let mut files: Vec<PathBuf> = read
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "ftl"))
        .collect();
    files.sort();
    let mut catalogue = Catalogue::default();
    let mut errors = Vec::new();
    for file in files {
        let source = match std::fs::read_to_string(&file) {
            Ok(source) => source,
            Err(e) => {
                errors.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        match parse(&source, &file) {
            Ok(part) => {
                for (id, message) in part.messages {
                    if let Some(first) = catalogue.messages.get(&id) {
                        errors.push(format!(
                            "`{id}` is in both {} and {}",
                            first.file.display(),
                            message.file.display()
                        ));
                    } else {
                        catalogue.messages.insert(id, message);
                    }
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(catalogue)
    } else {
        Err(errors)
    }
}

/// How `other` differs from the reference: messages it lacks, messages only it has, and
/// messages whose variables differ.
pub fn check(reference: &Catalogue, lang: &str, other: &Catalogue) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (id, message) in &reference.messages {
        match other.messages.get(id) {
            None => problems.push(Problem::Missing {
                lang: lang.into(),
                id: id.clone(),
            }),
            Some(translated) => {
                let (expected, found) = (message.variables(), translated.variables());
                if expected != found {
                    problems.push(Problem::Variables {
                        lang: lang.into(),
                        id: id.clone(),
                        expected,
                        found,
                    });
                }
            }
        }
    }
    for id in other.messages.keys() {
        if !reference.messages.contains_key(id) {
            problems.push(Problem::Unknown {
                lang: lang.into(),
                id: id.clone(),
            });
        }
    }
    problems
}

/// `sign-in-title` → `SignInTitle`.
pub fn variant_name(id: &str) -> String {
    id.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// Every language under `locales` (one directory each), the reference first.
pub fn load_all(locales: &Path) -> Result<Vec<(String, Catalogue)>, Vec<String>> {
    let read =
        std::fs::read_dir(locales).map_err(|e| vec![format!("{}: {e}", locales.display())])?;
    let mut langs: Vec<String> = read
        .filter_map(|entry| entry.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    langs.sort_by_key(|l| (l != REFERENCE, l.clone()));
    if langs.first().map(String::as_str) != Some(REFERENCE) {
        return Err(vec![format!(
            "{} has no `{REFERENCE}` catalogue",
            locales.display()
        )]);
    }
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for lang in langs {
        match load(&locales.join(&lang)) {
            Ok(catalogue) => all.push((lang, catalogue)),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(all)
    } else {
        Err(errors)
    }
}

/// The Rust source for the catalogues under `locales`, and the problems found comparing
/// them (a message missing from a language is filled in from the reference there).
pub fn generate(locales: &Path) -> Result<(String, Vec<Problem>), Vec<String>> {
    let all = load_all(locales)?;
    let Some((_, reference)) = all.first() else {
        return Err(vec!["no catalogue".into()]);
    };
    let ids: Vec<&String> = reference.messages.keys().collect();
    let mut names = BTreeMap::new();
    for id in &ids {
        let name = variant_name(id);
        if name.is_empty()
            || !name.starts_with(|c: char| c.is_ascii_alphabetic())
            || !name.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(vec![format!("`{id}` does not make a Rust name")]);
        }
        if let Some(other) = names.insert(name.clone(), *id) {
            return Err(vec![format!(
                "`{id}` and `{other}` make the same name {name}"
            )]);
        }
    }
    let mut problems = Vec::new();
    let mut out = String::new();
    out.push_str("// Generated from locales/ by haven-i18n at build time. Do not edit.\n\n");
    out.push_str("/// Every message of the catalogues, by its Fluent id.\n");
    out.push_str(
        "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[allow(dead_code)]\npub enum Msg {\n",
    );
    for id in &ids {
        let _ = writeln!(out, "    /// `{id}`\n    {},", variant_name(id));
    }
    out.push_str("}\n\n");
    let _ = writeln!(
        out,
        "impl Msg {{\n    pub const COUNT: usize = {};\n",
        ids.len()
    );
    out.push_str("    /// Its Fluent id.\n    pub fn id(self) -> &'static str {\n        IDS[self as usize]\n    }\n}\n\n");
    let _ = writeln!(out, "static IDS: [&str; {}] = [", ids.len());
    for id in &ids {
        let _ = writeln!(out, "    {id:?},");
    }
    out.push_str("];\n\n");
    for (lang, catalogue) in &all {
        problems.extend(check(reference, lang, catalogue));
        let name = lang.to_ascii_uppercase().replace('-', "_");
        let messages = compiled(reference, catalogue, &ids);
        if lang == REFERENCE {
            // Every message end to end in one string, and where each ends: far smaller in
            // the browser than a table of pieces. The texts only some roles see are left
            // empty here and fetched when first shown (see [`files`]).
            let mut ends = Vec::with_capacity(messages.len());
            let mut text = String::new();
            for (message, id) in messages.iter().zip(&ids) {
                if !is_lazy(id) {
                    text.push_str(message);
                }
                ends.push(text.len());
            }
            let lazy_text = file_text(&lazy_only(&messages, &ids));
            let lazy = file_name(LAZY_FILE_TAG, &lazy_text);
            let _ = writeln!(
                out,
                "/// The file the English texts left out of [`{name}`] are fetched from.\npub static {name}_LAZY_FILE: &str = {lazy:?};"
            );
            // For the app's own tests, which run without the files beside it: a build
            // that does not read it does not carry it.
            let _ = writeln!(
                out,
                "/// That file's text (for tests).\n#[allow(dead_code)]\npub static {name}_LAZY_TEXT: &str = {lazy_text:?};"
            );
            let _ = writeln!(
                out,
                "/// The `{lang}` catalogue, every message end to end.\npub static {name}: &str = {text:?};"
            );
            let _ = writeln!(
                out,
                "/// Where each message of [`{name}`] ends.\npub static {name}_ENDS: [u32; {}] = {ends:?};\n",
                ids.len()
            );
        } else {
            // Fetched only by a page shown in this language (see [`files`]).
            let file = file_name(lang, &file_text(&messages));
            let _ = writeln!(
                out,
                "/// The file the `{lang}` catalogue is fetched from.\npub static {name}_FILE: &str = {file:?};\n"
            );
        }
    }
    Ok((out, problems))
}

/// Messages of the reference language that only administrators and auditors see (their
/// views' words), and the visit module's: left out of the page's table and fetched from a
/// file of their own when first shown, so every other page load does not pay for them.
/// The invitation form is also a clinician's, so its words stay.
pub const LAZY_PREFIXES: [&str; 3] = ["audit-", "admin-", "visit-"];
const NOT_LAZY_PREFIX: &str = "admin-invite-";

/// The name part of the file holding them (`locale-en-admin-<hash>.txt`).
const LAZY_FILE_TAG: &str = "en-admin";

pub fn is_lazy(id: &str) -> bool {
    LAZY_PREFIXES.iter().any(|p| id.starts_with(p)) && !id.starts_with(NOT_LAZY_PREFIX)
}

/// `messages` (in the order of `ids`) with every one that is not lazy left empty.
fn lazy_only(messages: &[String], ids: &[&String]) -> Vec<String> {
    messages
        .iter()
        .zip(ids)
        .map(|(m, id)| {
            if is_lazy(id) {
                m.clone()
            } else {
                String::new()
            }
        })
        .collect()
}

/// Every message of `catalogue` in the compiled form, in the order of `ids`; one it lacks
/// comes from `reference`.
fn compiled(reference: &Catalogue, catalogue: &Catalogue, ids: &[&String]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            let mut text = String::new();
            if let Some(message) = catalogue
                .messages
                .get(*id)
                .or_else(|| reference.messages.get(*id))
            {
                encode(&message.pieces, &mut text);
            }
            text
        })
        .collect()
}

/// A catalogue file: its messages with [`crate::marks::NEXT`] between them.
fn file_text(messages: &[String]) -> String {
    messages.join(&crate::marks::NEXT.to_string())
}

/// `locale-<lang>-<hash of the text>.txt`: a new text is a new name, so no browser keeps
/// an old catalogue for a new app.
fn file_name(lang: &str, text: &str) -> String {
    // FNV-1a, 64 bits: a name, not a defence (the file comes from the app's own origin).
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("locale-{lang}-{hash:016x}.txt")
}

/// The catalogue file of every language but the reference, and the reference's lazy
/// texts, as (name, text): what the app's build puts beside the app, named as the app
/// (through [`generate`]) asks for it.
pub fn files(locales: &Path) -> Result<Vec<(String, String)>, Vec<String>> {
    let all = load_all(locales)?;
    let Some((_, reference)) = all.first() else {
        return Err(vec!["no catalogue".into()]);
    };
    let ids: Vec<&String> = reference.messages.keys().collect();
    let lazy = file_text(&lazy_only(&compiled(reference, reference, &ids), &ids));
    Ok(all
        .iter()
        .filter(|(lang, _)| lang != REFERENCE)
        .map(|(lang, catalogue)| {
            let text = file_text(&compiled(reference, catalogue, &ids));
            (file_name(lang, &text), text)
        })
        .chain(std::iter::once((file_name(LAZY_FILE_TAG, &lazy), lazy)))
        .collect())
}

/// Writes `pieces` in the compiled form [`crate::format`] reads.
pub fn encode(pieces: &[Piece], out: &mut String) {
    use crate::marks::{ARM, END, END_SELECT, KEY, SELECT, VAR};
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Var(name) => {
                out.push(VAR);
                out.push_str(name);
                out.push(END);
            }
            Piece::Select { var, arms, other } => {
                out.push(SELECT);
                out.push_str(var);
                for (key, arm) in arms
                    .iter()
                    .map(|(k, a)| (k.as_str(), a))
                    .chain([("*", other)])
                {
                    out.push(ARM);
                    out.push_str(key);
                    out.push(KEY);
                    encode(arm, out);
                }
                out.push(END_SELECT);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn catalogue(source: &str) -> Catalogue {
        parse(source, Path::new("test.ftl")).unwrap()
    }

    /// The app's own catalogues: every language has every English message, with the same
    /// variables, and nothing English lacks.
    #[test]
    fn every_language_has_every_message_of_the_english_catalogue() {
        let locales = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../locales");
        let all = load_all(&locales).unwrap_or_else(|e| panic!("{}", e.join("\n")));
        assert!(all.len() >= 2, "only {} catalogue(s)", all.len());
        let (_, reference) = &all[0];
        assert!(
            reference.messages.len() > 100,
            "{} English messages",
            reference.messages.len()
        );
        let problems: Vec<String> = all
            .iter()
            .flat_map(|(lang, c)| check(reference, lang, c))
            .map(|p| p.to_string())
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let (out, _) = generate(&locales).unwrap();
        assert!(out.contains("pub static EN:"), "no English table");
        let files = files(&locales).unwrap();
        let [(name, text), (lazy_name, lazy)] = files.as_slice() else {
            panic!("{} catalogue files", files.len());
        };
        // The administrators' and auditors' English words are in their own file, and
        // only there; the invitation form's (a clinician's too) are not.
        assert!(out.contains(&format!("pub static EN_LAZY_FILE: &str = {lazy_name:?};")));
        assert!(lazy_name.starts_with("locale-en-admin-"), "{lazy_name}");
        let lazy = crate::messages(lazy, reference.messages.len()).unwrap();
        let ids: Vec<&String> = reference.messages.keys().collect();
        let action = ids
            .iter()
            .position(|id| *id == "audit-action-visit-scheduled")
            .unwrap();
        assert_eq!(lazy[action], "Visit scheduled");
        let page_table = out
            .lines()
            .find(|l| l.starts_with("pub static EN: &str ="))
            .unwrap();
        assert!(
            !page_table.contains("Visit scheduled"),
            "compiled into the page too"
        );
        for kept in ["sign-in-email", "admin-invite-title"] {
            let i = ids.iter().position(|id| *id == kept).unwrap();
            assert_eq!(lazy[i], "", "{kept}");
        }
        assert!(out.contains(&format!("pub static ES_FILE: &str = {name:?};")));
        assert!(
            name.starts_with("locale-es-") && name.ends_with(".txt"),
            "{name}"
        );
        let messages = crate::messages(text, reference.messages.len()).unwrap();
        let i = reference
            .messages
            .keys()
            .position(|id| id == "sign-in-email")
            .unwrap();
        assert_eq!(messages[i], "Correo electrónico");
    }

    #[test]
    fn a_message_missing_from_a_language_is_found() {
        let en = catalogue("hello = Hello, { $name }!\nbye = Goodbye\n");
        let es = catalogue("hello = ¡Hola, { $nombre }!\nextra = Sobra\n");
        let problems = check(&en, "es", &es);
        assert!(problems.contains(&Problem::Missing {
            lang: "es".into(),
            id: "bye".into()
        }));
        assert!(problems.contains(&Problem::Unknown {
            lang: "es".into(),
            id: "extra".into()
        }));
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, Problem::Variables { id, .. } if id == "hello"))
        );
        assert_eq!(problems.len(), 3);
        assert!(check(&en, "en", &en).is_empty());
    }

    #[test]
    fn patterns_compile_to_parts() {
        let c = catalogue(
            "unread = { $count ->\n    [0] No messages\n    [one] One message\n   *[other] { $count } messages\n  }\nbrace = A {\"{\"} and \\u\nquote = { \"\\u00E9\" }\n",
        );
        let unread = &c.messages["unread"].pieces;
        assert!(
            matches!(&unread[0], Piece::Select { var, arms, .. } if var == "count" && arms.len() == 2)
        );
        assert_eq!(
            c.messages["brace"].pieces,
            vec![Piece::Text("A { and \\u".into())]
        );
        assert_eq!(c.messages["quote"].pieces, vec![Piece::Text("é".into())]);
        let mut encoded = String::new();
        encode(unread, &mut encoded);
        assert_eq!(
            encoded,
            "\u{3}count\u{4}0\u{5}No messages\u{4}one\u{5}One message\u{4}*\u{5}\u{1}count\u{2} messages\u{6}"
        );
        assert_eq!(variant_name("sign-in-title"), "SignInTitle");
        assert_eq!(variant_name("error-2fa"), "Error2fa");
    }

    #[test]
    fn what_the_formatter_cannot_show_is_refused() {
        for source in [
            "a = { -brand }\n",
            "-brand = Haven\n",
            "a = { b }\nb = B\n",
            "a = { NUMBER($n) }\n",
            "a = A\n    .title = T\n",
            "a = A\na = B\n",
            "a = { $n ->\n   [one] x\n   [other] y\n}\n",
            "a = {\n",
            "a = x\u{1}y\n",
            "a = { $n ->\n   [1.5] x\n  *[other] y\n}\n",
            "a = { $a ->\n   [one] { $b ->\n      *[other] z\n   }\n  *[other] y\n}\n",
        ] {
            assert!(
                parse(source, Path::new("t.ftl")).is_err(),
                "accepted {source:?}"
            );
        }
    }
}
