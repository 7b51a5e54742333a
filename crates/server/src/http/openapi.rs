//! `GET /api/openapi.json`: the API described as OpenAPI 3.1, generated from the route
//! table (paths, methods, who may call each, bodies) and from the wire types' schemas, so
//! the document cannot drift from what the server does.

use std::sync::OnceLock;

use axum::http::Method;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use haven_protocol::access::Role;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Required,
    ResponseBuilder,
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
