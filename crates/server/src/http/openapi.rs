//! `GET /api/openapi.json`: the API described as OpenAPI 3.1, generated from the route
//! table (paths, methods, who may call each, parameters, bodies) and from the wire types'
//! schemas, so the document cannot drift from what the server does. Path parameters are
//! read from each path itself, so a new route cannot leave one undeclared; the schemas of
//! what people type carry the limits their parsers enforce (`haven_protocol::schema`).

use std::sync::OnceLock;

use axum::http::Method;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use utoipa::Number;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, RefOr,
    Required, ResponseBuilder,
};

use crate::identity::session::Access;
use crate::routes::{Schemas, one, specs};

fn method(m: &Method) -> Option<HttpMethod> {
    Some(match *m {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        _ => return None,
    })
}

fn who(access: Access) -> String {
    match access {
        Access::Public => "Anyone.".to_owned(),
        Access::AnyStage => "A session in any stage of signing in.".to_owned(),
        Access::Full(actions) => {
            let roles: Vec<&str> = Role::ALL
                .into_iter()
                .filter(|r| {
                    actions
                        .iter()
                        .any(|a| haven_protocol::access::allowed(*r, *a))
                })
                .map(Role::as_str)
                .collect();
            format!("Signed-in roles: {}.", roles.join(", "))
        }
    }
}

/// A query parameter (the handlers refuse any they do not know).
pub fn query_parameter(
    name: &str,
    required: Required,
    schema: impl Into<RefOr<Schema>>,
    description: &str,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(required)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// An integer between `min` and `max`, both included.
pub fn integer(min: impl Into<Number>, max: impl Into<Number>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min))
        .maximum(Some(max))
        .build()
        .into()
}

/// The names of a path template's `{name}` parameters, in order.
pub fn path_parameter_names(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

/// A path parameter, declared from its name: an `id` (or `…_id`) is an [`Id`], which the
/// handlers parse with `Id::parse`. Any other name is declared as a bare string, and the
/// OpenAPI test fails until it is given its real schema here.
fn path_parameter(name: &str, schemas: &mut Schemas) -> Parameter {
    let (schema, description) = if name == "id" || name.ends_with("_id") {
        (
            one::<Id>(schemas),
            "The identifier of what the path names; anything else is refused as not found.",
        )
    } else if name == "hash" {
        (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9a-f]{64}$"))
                .build()
                .into(),
            "The SHA-256 of the content, 64 lower-case hex digits; anything else is not found.",
        )
    } else {
        (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .build()
                .into(),
            "",
        )
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description).filter(|d| !d.is_empty()))
        .schema(Some(schema))
        .build()
}

pub fn document() -> OpenApi {
    let mut schemas: Schemas = Vec::new();
    let error = one::<haven_protocol::ApiError>(&mut schemas);
    let mut paths = Paths::new();
    for spec in specs() {
        let Some(http_method) = method(&spec.method) else {
            continue;
        };
        let mut operation = OperationBuilder::new()
            .summary(Some(spec.summary))
            .description(Some(who(spec.access)))
            .operation_id(Some(format!(
                "{}{}",
                spec.method.as_str().to_ascii_lowercase(),
                spec.path.replace(['/', '{', '}', '-', '.'], "_")
            )));
        for name in path_parameter_names(spec.path) {
            operation = operation.parameter(path_parameter(name, &mut schemas));
        }
        if let Some(query) = spec.query {
            for parameter in query(&mut schemas) {
                operation = operation.parameter(parameter);
            }
        }
        if let Some(request) = spec.request {
            let content = ContentBuilder::new()
                .schema(Some(request(&mut schemas)))
                .build();
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", content)
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        if let Some(media) = spec.raw_request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content(media, ContentBuilder::new().build())
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let success = match (spec.response, spec.raw_response) {
            (_, Some(media)) => (
                "200",
                ResponseBuilder::new()
                    .description("OK")
                    .content(media, ContentBuilder::new().build())
                    .build(),
            ),
            (Some(response), None) => (
                "200",
                ResponseBuilder::new()
                    .description("OK")
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(response(&mut schemas)))
                            .build(),
                    )
                    .build(),
            ),
            (None, None) => ("204", ResponseBuilder::new().description("Done").build()),
        };
        let failure = ResponseBuilder::new()
            .description("Refused: a stable error code and a message for people")
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(error.clone())).build(),
            )
            .build();
        operation = operation
            .response(success.0, success.1)
            .response("4XX", failure);
        if spec.access != Access::Public {
            operation =
                operation.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        paths.add_path_operation(
            format!("/api{}", spec.path),
            vec![http_method],
            operation.build(),
        );
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Haven API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

/// The document, rendered once.
pub async fn serve() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| serde_json::to_string(&document()).unwrap_or_default());
    let mut response = body.clone().into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
