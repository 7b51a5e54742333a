//! `/api/openapi.json` as a client generator reads it: valid OpenAPI 3.1 (checked offline
//! against the OpenAPI Initiative's own JSON Schemas in `tests/fixtures/oas-3.1`), every
//! path parameter declared with its format, the audit searches' query parameters
//! declared as the server reads them, and request schemas that agree with the server's
//! parsers at their edges: a value a schema allows is taken (unless it breaks a rule the
//! schema's description states), and a value just outside is refused by both.
//!
//! The schemas describe canonical values: the parsers are more lenient only where they
//! normalise (surrounding whitespace trimmed, an email address lower-cased, spaces in a
//! code dropped), and the probes below change values in their middle, never at their
//! ends, so that leniency is not mistaken for disagreement.

use std::collections::{BTreeMap, BTreeSet};

use haven_protocol::identity as wire;
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::common::api::{self, sign_in};
use crate::common::{Client, TestServer};

const OAS: &str = "https://spec.openapis.org/oas/3.1/";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/oas-3.1/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The OpenAPI 3.1 schema that also checks every Schema Object against the OAS dialect,
/// with formats asserted (so every `pattern` must be a valid ECMA-262 regex).
fn openapi_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    for name in ["schema", "schema-base", "dialect", "meta"] {
        let json = fixture(name);
        let id = json["$id"].as_str().unwrap().to_owned();
        compiler.add_resource(&id, json).unwrap();
    }
    let mut schemas = boon::Schemas::new();
    let index = compiler
        .compile(&format!("{OAS}schema-base/WORK-IN-PROGRESS"), &mut schemas)
        .unwrap();
    (schemas, index)
}

async fn served_document() -> Value {
    let server = TestServer::start().await;
    let reply = server.client().get("/api/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    reply.json()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), operation));
        }
    }
    out
}

/// Follows a `#/components/schemas/…` reference.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.strip_prefix("#/components/schemas/").unwrap();
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "dangling reference {reference}");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// `schema` with every reference inside it replaced by what it names, so it compiles on
/// its own (a list of identifiers, say).
fn inlined(doc: &Value, schema: &Value) -> Value {
    match resolve(doc, schema) {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), inlined(doc, v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| inlined(doc, v)).collect()),
        other => other.clone(),
    }
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let doc = served_document().await;
    let (schemas, index) = openapi_validator();
    if let Err(error) = schemas.validate(&doc, index) {
        panic!("the document is not valid OpenAPI 3.1:\n{error:#}");
    }
    assert_eq!(
        doc,
        serde_json::to_value(haven_server::http::openapi::document()).unwrap()
    );

    // The validator is not vacuous: each of these breaks it.
    let breakages = [
        ("a title that is not text", "/info/title", json!(null)),
        (
            "a Schema Object of an unknown type",
            "/components/schemas/Id/type",
            json!("text"),
        ),
        (
            "a pattern that is no regex",
            "/components/schemas/Id/pattern",
            json!("([0-9"),
        ),
        (
            "a path parameter that is not required",
            "/paths/~1api~1patients~1{id}/get/parameters/0/required",
            json!(false),
        ),
        (
            "a response status that is no HTTP status",
            "/paths/~1api~1health/get/responses",
            json!({ "600": { "description": "no such status" } }),
        ),
    ];
    for (what, pointer, value) in breakages {
        let mut broken = doc.clone();
        *broken
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer}")) = value;
        assert!(
            schemas.validate(&broken, index).is_err(),
            "the validator took a document with {what}"
        );
    }

    // What the JSON Schemas cannot check: operation ids are unique across the document,
    // and no two paths are the same template with different parameter names.
    let mut ids = BTreeSet::new();
    for (path, method, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap();
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: operationId {id} twice"
        );
    }
    let paths = doc["paths"].as_object().unwrap();
    let shapes: BTreeSet<String> = paths
        .keys()
        .map(|path| {
            let mut shape = path.clone();
            for name in haven_server::http::openapi::path_parameter_names(path) {
                shape = shape.replace(&format!("{{{name}}}"), "{}");
            }
            shape
        })
        .collect();
    assert_eq!(
        shapes.len(),
        paths.len(),
        "two paths differ only in parameter names"
    );
}

#[tokio::test]
async fn every_path_parameter_is_declared_with_its_format() {
    let doc = served_document().await;
    let mut declared = 0;
    for (path, method, operation) in operations(&doc) {
        // Read here on their own, not with the generator's function.
        let names: Vec<&str> = path
            .split('/')
            .filter(|segment| segment.contains('{'))
            .map(|segment| segment.trim_start_matches('{').trim_end_matches('}'))
            .collect();
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let in_path: Vec<&Value> = parameters.iter().filter(|p| p["in"] == "path").collect();
        let declared_names: Vec<&str> = in_path
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(declared_names, names, "{method} {path}: path parameters");
        for parameter in in_path {
            let name = parameter["name"].as_str().unwrap();
            assert_eq!(
                parameter["required"], true,
                "{method} {path}: {name} not required"
            );
            let schema = resolve(&doc, &parameter["schema"]);
            assert!(
                schema["pattern"].is_string(),
                "{method} {path}: {{{name}}} has no format; give it its schema in http/openapi.rs"
            );
            declared += 1;
        }
    }
    assert!(declared >= 4, "only {declared} path parameters");

    // An id is exactly what `Id::parse` takes.
    let id = resolve(
        &doc,
        &doc["paths"]["/api/patients/{id}"]["get"]["parameters"][0]["schema"],
    );
    let validator = value_validator(id);
    let good = wire::Id::from_bytes([0x5a; 16]);
    assert!(validator.allows(&json!(good.as_str())));
    for bad in [
        "",
        "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A",
        "5a5a",
        &"5a".repeat(17),
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5g",
    ] {
        assert!(!validator.allows(&json!(bad)), "{bad}");
        assert!(wire::Id::parse(bad).is_err(), "{bad}");
    }

    // The audit searches declare the query parameters their handlers read.
    for (path, expected) in [
        (
            "/api/audit/entries",
            &[
                "actor",
                "patient",
                "conversation",
                "action",
                "from",
                "to",
                "after",
                "limit",
            ][..],
        ),
        ("/api/audit/proof/inclusion", &["index", "size"][..]),
        ("/api/audit/proof/consistency", &["from", "to"][..]),
    ] {
        let names: Vec<&str> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{path}");
    }
}

/// A compiled schema for single values: a property's schema, resolved, on its own.
struct ValueValidator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl ValueValidator {
    fn allows(&self, value: &Value) -> bool {
        self.schemas.validate(value, self.index).is_ok()
    }
}

/// Formats stay annotations (as most validators treat them): the pattern alone must
/// carry what the parser refuses.
fn value_validator(schema: &Value) -> ValueValidator {
    let mut compiler = boon::Compiler::new();
    let url = "https://haven.invalid/value.json";
    compiler.add_resource(url, schema.clone()).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(url, &mut schemas).unwrap();
    ValueValidator { schemas, index }
}

/// What the description of a schema states beyond JSON Schema, as a check: email
/// addresses are limited in bytes of UTF-8, where `maxLength` counts characters.
fn stated_rules(schema_name: &str, schema: &Value, value: &Value) -> bool {
    match (schema_name, value.as_str()) {
        ("Email", Some(email)) => {
            let description = schema["description"].as_str().unwrap();
            assert!(description.contains("bytes of UTF-8"), "{description}");
            let local = email.split('@').next().unwrap();
            email.len() <= *wire::EMAIL_BYTES.end() && local.len() <= wire::EMAIL_LOCAL_MAX_BYTES
        }
        (name, Some(text)) if name.starts_with("colours.") => {
            let description = schema["description"].as_str().unwrap();
            assert!(description.contains("4.5:1"), "{description}");
            // The stated rule: with the other colours as they are, every pair still passes.
            let Ok(colour) = haven_protocol::Colour::parse(text) else {
                return true;
            };
            let mut colours = haven_protocol::BrandColours::default();
            assert!(
                colours.set(name.trim_start_matches("colours."), colour),
                "{name}"
            );
            colours.contrast_failures().is_empty()
        }
        _ => true,
    }
}

/// Characters to build probes from: letters and digits, separators, whitespace of
/// several kinds, controls, direction changes, other scripts, and quoting characters.
const FILLERS: &[char] = &[
    'a', 'Z', '0', '7', '.', '-', '_', '@', ' ', '\n', '\t', '\0', '\u{7F}', '\u{85}', '\u{A0}',
    '\u{2028}', '\u{3000}', '\u{200B}', '\u{202E}', '\u{2066}', '\u{FEFF}', 'é', '李', '😀', '<',
    '"', '\\', ',',
];

/// `example` brought to `len` characters by at least one `filler` at `at`, keeping as much
/// of the example around them as fits; with the same one filler fewer and one more.
fn filled(example: &[char], at: usize, filler: char, len: usize) -> Option<[String; 3]> {
    let keep = example.len().saturating_sub(1).min(len.checked_sub(1)?);
    let count = len - keep;
    let before = at.min(keep);
    let after = keep - before;
    let build = |n: usize| -> String {
        example[..before]
            .iter()
            .chain(std::iter::repeat_n(&filler, n))
            .chain(&example[example.len() - after..])
            .collect()
    };
    Some([build(count - 1), build(count), build(count + 1)])
}

/// A probe: a value, and (for a value at a length limit) its neighbour just outside.
struct Probe {
    value: Value,
    outside: Option<Value>,
    what: String,
}

fn probes(schema: &Value) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut push = |value: Value, outside: Option<Value>, what: String| {
        out.push(Probe {
            value,
            outside,
            what,
        })
    };
    if let Some(values) = schema["enum"].as_array() {
        for v in values {
            push(v.clone(), None, format!("enum value {v}"));
        }
        push(json!("not_one_of_them"), None, "not an enum value".into());
        push(json!(""), None, "empty".into());
        return out;
    }
    match kind(schema) {
        Some("integer") => {
            // Limits at the ends of 64 bits have no neighbour a JSON number can carry
            // here; the query test writes those as text.
            let min = schema["minimum"].as_i64();
            let max = schema["maximum"].as_i64();
            if let Some(min) = min
                && let Some(below) = min.checked_sub(1)
            {
                push(json!(min), Some(json!(below)), format!("minimum {min}"));
            }
            if let Some(max) = max
                && let Some(past) = max.checked_add(1)
            {
                push(json!(max), Some(json!(past)), format!("maximum {max}"));
            }
            push(json!(-1), None, "-1".into());
            push(json!(1.5), None, "1.5".into());
            push(json!("10"), None, "a string".into());
        }
        Some("string") => {
            let examples: Vec<Vec<char>> = schema["examples"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .map(|v| v.as_str().unwrap().chars().collect())
                        .collect()
                })
                .unwrap_or_default();
            let min = schema["minLength"].as_u64().map(|n| n as usize);
            let max = schema["maxLength"].as_u64().map(|n| n as usize);
            for example in &examples {
                let text: String = example.iter().collect();
                push(json!(text), None, format!("example {text:?}"));
                let middle = [1, example.len() / 2, example.len().saturating_sub(2)];
                for &filler in FILLERS {
                    // One character in the middle changed: the pattern decides.
                    for &at in &middle {
                        if at == 0 || at + 1 >= example.len() {
                            continue;
                        }
                        let mut changed = example.clone();
                        changed[at] = filler;
                        let changed: String = changed.into_iter().collect();
                        push(
                            json!(changed),
                            None,
                            format!("{filler:?} at {at} of {text:?}"),
                        );
                    }
                    // At a length limit, and one character past it.
                    for &at in &[1, example.len() / 2, example.len().saturating_sub(1)] {
                        if let Some([_, at_max, past]) =
                            max.and_then(|max| filled(example, at, filler, max))
                        {
                            let what = format!("maxLength with {filler:?} at {at}");
                            push(json!(at_max), Some(json!(past)), what);
                        }
                        if let Some([below, at_min, _]) =
                            min.and_then(|min| filled(example, at, filler, min))
                        {
                            let what = format!("minLength with {filler:?} at {at}");
                            push(json!(at_min), Some(json!(below)), what);
                        }
                    }
                }
            }
            for &filler in FILLERS {
                for len in [min.unwrap_or(1), max.unwrap_or(64)] {
                    let text: String = std::iter::repeat_n(filler, len).collect();
                    push(json!(text), None, format!("{len} × {filler:?}"));
                }
            }
            push(json!(""), None, "empty".into());
            push(json!(7), None, "a number".into());
        }
        // Nested objects, lists and flags have no limits of their own to probe.
        _ => {}
    }
    out
}

/// A schema's type, or the first that is not `null` of a list of types.
fn kind(schema: &Value) -> Option<&str> {
    match &schema["type"] {
        Value::String(kind) => Some(kind),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null"),
        _ => None,
    }
}

/// The fields of a body to probe, nested objects included: each as a JSON pointer,
/// whether it may be `null`, and its schema as written.
fn leaves<'a>(
    doc: &'a Value,
    schema: &'a Value,
    pointer: String,
    out: &mut Vec<(String, bool, &'a Value)>,
) {
    let (nullable, schema) = match schema["oneOf"].as_array() {
        Some(one_of) => (
            one_of.iter().any(|s| s["type"] == "null"),
            one_of.iter().find(|s| s["type"] != "null").unwrap(),
        ),
        None => (false, schema),
    };
    let resolved = resolve(doc, schema);
    match resolved["properties"].as_object() {
        Some(properties) if kind(resolved) == Some("object") => {
            for (name, property) in properties {
                leaves(doc, property, format!("{pointer}/{name}"), out);
            }
        }
        _ => out.push((pointer, nullable, schema)),
    }
}

/// Sets the field at `pointer` (whose parent exists) to `value`.
fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent:?}"))
        .insert(name.to_owned(), value);
}

/// Some value a property's schema allows, to fill the rest of a request.
fn example_of(doc: &Value, schema: &Value) -> Option<Value> {
    let schema = resolve(doc, schema);
    if let Some(one_of) = schema["oneOf"].as_array() {
        return one_of
            .iter()
            .filter(|s| s["type"] != "null")
            .find_map(|s| example_of(doc, s));
    }
    let given = |v: &Value| (!v.is_null()).then(|| v.clone());
    given(&schema["examples"][0])
        .or_else(|| given(&schema["enum"][0]))
        .or_else(|| given(&schema["default"]))
        .or_else(|| given(&schema["minimum"]))
        .or_else(|| match kind(schema) {
            Some("object") => Some(Value::Object(
                schema["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(name, property)| Some((name.clone(), example_of(doc, property)?)))
                    .collect(),
            )),
            Some("array") => Some(json!([])),
            Some("boolean") => Some(json!(false)),
            Some("integer" | "number") => Some(json!(0)),
            Some("string") => Some(json!("")),
            _ => None,
        })
}

/// Whether the server takes a request body, through the same code its handlers run:
/// `parse_json` into the wire type, then the checks a handler makes before anything
/// else (an invitation token's shape, a reported head's hex fields and organisation;
/// the organisation's settings, by the real server).
async fn server_takes(settings: &Settings, schema: &str, body: &Value) -> Option<bool> {
    fn parses<T: serde::de::DeserializeOwned>(body: &Value) -> bool {
        let bytes = hyper::body::Bytes::from(body.to_string());
        haven_server::http::api::parse_json::<T>(Ok(bytes)).is_ok()
    }
    Some(match schema {
        "LoginRequest" => parses::<wire::LoginRequest>(body),
        "TotpRequest" => parses::<wire::TotpRequest>(body),
        "EnrolRequest" => parses::<wire::EnrolRequest>(body),
        "LogoutRequest" => parses::<wire::LogoutRequest>(body),
        "InviteRequest" => parses::<wire::InviteRequest>(body),
        "ChangeRoleRequest" => parses::<wire::ChangeRoleRequest>(body),
        "BreakGlassRequest" => parses::<wire::BreakGlassRequest>(body),
        "JoinCareTeam" => parses::<wire::JoinCareTeam>(body),
        "RegisterDevice" => parses::<haven_protocol::messaging::RegisterDevice>(body),
        "UploadKeyPackages" => parses::<haven_protocol::messaging::UploadKeyPackages>(body),
        "ClaimKeyPackages" => parses::<haven_protocol::messaging::ClaimKeyPackages>(body),
        "CreateConversation" => parses::<haven_protocol::messaging::CreateConversation>(body),
        "ScheduleVisit" => parses::<haven_protocol::visits::ScheduleVisit>(body),
        "VisitDevice" => parses::<haven_protocol::visits::VisitDevice>(body),
        "VisitPerson" => parses::<haven_protocol::visits::VisitPerson>(body),
        "AcceptInvitation" => {
            parses::<wire::AcceptInvitation>(body)
                && body["token"]
                    .as_str()
                    .and_then(haven_server::secrets::parse_token)
                    .is_some()
        }
        "OrgSettings" => parses::<wire::OrgSettings>(body) && settings.put(body).await,
        "Quotas" => serde_json::from_value::<haven_protocol::messaging::Quotas>(body.clone())
            .is_ok_and(|q| parses::<haven_protocol::messaging::Quotas>(body) && q.valid()),
        "Embedding" => serde_json::from_value::<haven_protocol::brand::Embedding>(body.clone())
            .is_ok_and(|e| {
                e.origins.len() <= haven_protocol::brand::MAX_EMBED_ORIGINS
                    && e.origins
                        .iter()
                        .all(|o| haven_protocol::brand::parse_embed_origin(o).is_some())
            }),
        // The server's own checks, as `PUT /api/org/brand` runs them.
        "BrandUpdate" => serde_json::from_value::<haven_protocol::brand::BrandUpdate>(body.clone())
            .is_ok_and(|b| {
                parses::<haven_protocol::brand::BrandUpdate>(body)
                    && haven_protocol::config::valid_brand_name(b.name.trim())
                    && haven_protocol::brand::valid_support(b.support.trim())
                    && (b.support.is_empty() || !b.support.trim().is_empty())
                    && b.colours.contrast_failures().is_empty()
            }),
        "WitnessAlarmReport" => {
            parses::<haven_audit_log::WitnessAlarmReport>(body)
                && serde_json::from_value::<haven_audit_log::WitnessAlarmReport>(body.clone())
                    .is_ok_and(|report| {
                        [report.kept, report.newer].iter().all(|head| {
                            haven_audit_log::parse_head(head).is_ok()
                                && wire::Id::parse(&head.organisation).is_ok()
                        })
                    })
        }
        _ => return None,
    })
}

/// The organisation's settings, changed through the real server by its admin.
struct Settings {
    client: Client,
    token: String,
}

impl Settings {
    async fn put(&self, body: &Value) -> bool {
        let reply = api::put(
            &self.client,
            "/api/org/settings",
            Some(&self.token),
            body.clone(),
        )
        .await;
        match reply.status {
            StatusCode::OK => true,
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => false,
            other => panic!("PUT /api/org/settings {body}: {other}"),
        }
    }
}

/// For every request body: each property's schema, probed at its edges (lengths,
/// minimum and maximum, a character changed in the middle, enum values), agrees with
/// the server: what the schema allows is taken, and what lies just outside a length or
/// range limit, or breaks the pattern, is refused by both.
#[tokio::test]
async fn request_schemas_and_parsers_agree_at_their_edges() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let token = sign_in(&client, "admin@demo.haven", None).await;
    let settings = Settings { client, token };
    let doc = served_document().await;

    let mut bodies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, method, operation) in operations(&doc) {
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        if schema.is_null() {
            continue;
        }
        let name = ref_name(schema)
            .unwrap_or_else(|| panic!("{method} {path}: request body is not a named schema"))
            .to_owned();
        bodies
            .entry(name)
            .or_default()
            .push(format!("{method} {path}"));
    }
    assert!(bodies.len() >= 8, "{bodies:?}");

    let mut disagreements = Vec::new();
    let mut unknown = Vec::new();
    for (name, routes) in &bodies {
        let body_schema = resolve(&doc, &doc["components"]["schemas"][name]);
        let base = example_of(&doc, body_schema).unwrap();
        let Some(base_taken) = server_takes(&settings, name, &base).await else {
            unknown.push(format!("{name} ({})", routes.join(", ")));
            continue;
        };
        assert!(
            base_taken,
            "{name} ({routes:?}): the examples of its schemas are refused: {base}"
        );

        let mut fields = Vec::new();
        leaves(&doc, body_schema, String::new(), &mut fields);
        for (pointer, nullable, schema) in fields {
            let property = pointer.trim_start_matches('/').replace('/', ".");
            let schema_name = ref_name(schema).unwrap_or(&property).to_owned();
            let schema = resolve(&doc, schema);
            let validator = value_validator(&inlined(&doc, schema));
            let mut probes = probes(schema);
            if nullable {
                probes.push(Probe {
                    value: Value::Null,
                    outside: None,
                    what: "null".into(),
                });
            }
            let mut edges = BTreeSet::new();
            let mut pattern_bites = false;
            for probe in probes {
                let mut body = base.clone();
                set(&mut body, &pointer, probe.value.clone());
                let allowed = probe.value.is_null() || validator.allows(&probe.value);
                let taken = server_takes(&settings, name, &body).await.unwrap();
                let shown = match &probe.value {
                    Value::String(text) => format!("{text:?}"),
                    other => other.to_string(),
                };
                let what = format!("{name}.{property} ({schema_name}), {}: {shown}", probe.what);
                if allowed && stated_rules(&schema_name, schema, &probe.value) {
                    if !taken {
                        disagreements.push(format!(
                            "{what}: the schema allows it, the server refuses it"
                        ));
                    }
                    if let Some(outside) = &probe.outside {
                        edges.insert(probe.what.split(' ').next().unwrap().to_owned());
                        let mut body = base.clone();
                        set(&mut body, &pointer, outside.clone());
                        if validator.allows(outside) {
                            disagreements.push(format!(
                                "{what}: the schema allows {outside} just past its limit"
                            ));
                        }
                        if server_takes(&settings, name, &body).await.unwrap() {
                            disagreements.push(format!(
                                "{what}: the server takes {outside} just past the schema's limit"
                            ));
                        }
                    }
                } else if !allowed && probe.outside.is_none() {
                    pattern_bites |= schema["pattern"].is_string();
                    if taken {
                        disagreements.push(format!(
                            "{what}: the schema refuses it, the server takes it"
                        ));
                    }
                }
            }
            // Each limit the schema states was reached by a probe the schema allows.
            for keyword in ["minLength", "maxLength", "minimum", "maximum"] {
                if !schema[keyword].is_null() && !edges.contains(keyword) {
                    disagreements.push(format!(
                        "{name}.{property} ({schema_name}): no value at its {keyword} {} is both \
                         allowed by the schema and within what its description states",
                        schema[keyword]
                    ));
                }
            }
            if schema["pattern"].is_string() && !pattern_bites {
                disagreements.push(format!("{name}.{property}: no probe broke its pattern"));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements between the schemas and the server:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        unknown.is_empty(),
        "request bodies this test cannot parse: {}; say in server_takes how the server parses them",
        unknown.join("; ")
    );
}

fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query value as text, and whether its schema allows it (a query carries text, so
/// an integer parameter's text is read as a number).
fn query_probes(schema: &Value, validator: &ValueValidator) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    if schema["type"] == "integer" {
        let bound = |v: &Value| v.as_i64().map(i128::from).or(v.as_u64().map(i128::from));
        let (min, max) = (bound(&schema["minimum"]), bound(&schema["maximum"]));
        let in_range = |n: i128| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
        let mut numbers: Vec<i128> = vec![-1, 0, 1];
        for edge in [min, max].into_iter().flatten() {
            numbers.extend([edge - 1, edge, edge + 1]);
        }
        for n in numbers {
            out.push((n.to_string(), in_range(n)));
        }
        for text in ["1.5", "x", ""] {
            out.push((text.to_owned(), false));
        }
        return out;
    }
    for probe in probes(schema) {
        for value in std::iter::once(probe.value).chain(probe.outside) {
            if let Value::String(text) = &value {
                out.push((text.clone(), validator.allows(&value)));
            }
        }
    }
    out
}

/// The audit search's query parameters, at their edges, through the real server: what
/// a parameter's schema allows is searched, what it does not is refused as an invalid
/// query, and a parameter the document does not declare is refused.
#[tokio::test]
async fn audit_query_parameters_agree_with_the_server() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let token = sign_in(&client, "auditor@demo.haven", None).await;
    let doc = served_document().await;
    let parameters = doc["paths"]["/api/audit/entries"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for parameter in &parameters {
        let name = parameter["name"].as_str().unwrap();
        let schema = resolve(&doc, &parameter["schema"]);
        let validator = value_validator(schema);
        let mut seen = BTreeSet::new();
        for (text, allowed) in query_probes(schema, &validator) {
            if !seen.insert(text.clone()) {
                continue;
            }
            let path = format!("/api/audit/entries?{name}={}", percent_encoded(&text));
            let reply = api::get(&client, &path, &token).await;
            let taken = reply.status == StatusCode::OK;
            if !taken {
                assert_eq!(reply.json()["error"]["code"], "invalid_query", "{path}");
            }
            if taken != allowed {
                disagreements.push(format!(
                    "{name}={text:?}: schema allows: {allowed}, server takes: {taken}"
                ));
            }
            checked += 1;
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(checked > 50, "{checked}");
    let reply = api::get(&client, "/api/audit/entries?undeclared=1", &token).await;
    assert_eq!(reply.json()["error"]["code"], "invalid_query");
}
