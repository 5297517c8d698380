//! The OpenAPI document against the server: the paths its router really has,
//! the methods each really answers, and the errors it really sends.
//! (Its validity is checked by a maintained validator in `make test-e2e`,
//! and a client generated from it runs a whole flow there.)

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp) -> Value {
    let response = app.get("/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `path` with its parameters filled: the test app's id, a made-up value for the rest.
fn concrete(app: &TestApp, path: &str) -> String {
    path.replace("{app_id}", &app.app_id)
        .replace("{user_id}", "3f9c2b1e-8d7a-4c6b-9e5f-1a2b3c4d5e6f")
        .replace("{device_id}", "Rk4nW8qZ2xV6mT0pL9jH3bY7")
        .replace("{file}", "1password-icon-light.svg")
        .replace("{webhook_id}", "wh_5b2e8f0c1d4a4e7b9c3f6a8d0e2b4c6f")
}

/// The `{name}`s of a path.
fn path_parameters(path: &str) -> BTreeSet<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_document_describes_exactly_the_routes_the_router_has() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let paths = document["paths"].as_object().unwrap();

    let served: BTreeSet<String> = app
        .served_paths
        .iter()
        .filter(|path| path.starts_with("/v1/"))
        .cloned()
        .collect();
    // The router's own list was read: if axum stops listing paths, this fails
    // instead of comparing nothing with nothing.
    assert!(
        served.contains("/v1/openapi.json") && served.len() >= 10,
        "the router's paths were not read: {served:?}"
    );
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(
        served, documented,
        "the router's paths under /v1 (left) and the document's (right) differ"
    );

    for (path, item) in paths {
        let mut answered = BTreeSet::new();
        for method in METHODS {
            let response = app
                .http
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    app.url(&concrete(&app, path)),
                )
                .header("origin", &app.address)
                .send()
                .await
                .unwrap();
            if response.status() != 405 {
                answered.insert(method);
            }
        }
        let described: BTreeSet<&str> = METHODS
            .into_iter()
            .filter(|method| item.get(*method).is_some())
            .collect();
        assert_eq!(
            answered, described,
            "{path}: the methods it answers (left) and those the document describes (right)"
        );
    }
}

#[tokio::test]
async fn every_parameter_is_where_the_document_says() {
    let app = spawn_app().await;
    let document = document(&app).await;

    for (path, item) in document["paths"].as_object().unwrap() {
        let in_path = path_parameters(path);
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let declared: BTreeSet<String> = parameters
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                declared, in_path,
                "{method} {path}: path parameters declared (left) and in the path (right)"
            );
            for parameter in &parameters {
                assert!(
                    ["path", "query"].contains(&parameter["in"].as_str().unwrap()),
                    "{method} {path}: {parameter}"
                );
            }
        }
    }
    let list = &document["paths"]["/v1/apps/{app_id}/users"]["get"]["parameters"];
    let query: BTreeSet<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, BTreeSet::from(["identifier", "limit", "page"]));
}

#[tokio::test]
async fn every_request_and_answer_has_an_example_and_the_security_its_api_needs() {
    let app = spawn_app().await;
    let document = document(&app).await;

    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let json = &operation["requestBody"]["content"]["application/json"];
            if !operation["requestBody"].is_null() {
                assert!(
                    !json["example"].is_null(),
                    "{method} {path}: request example"
                );
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let bodies = response["content"].as_object().cloned().unwrap_or_default();
                for (media_type, content) in bodies {
                    if media_type.starts_with("image/") {
                        continue;
                    }
                    assert!(
                        !content["example"].is_null() || content["examples"].is_object(),
                        "{method} {path} {status} {media_type}: example"
                    );
                }
            }
            let security = operation["security"].as_array().expect("security, said");
            let keyed = security.iter().any(|s| s.get("api_key").is_some());
            assert_eq!(
                keyed,
                operation["tags"][0] == "management",
                "{method} {path}: only the management API takes the API key"
            );
        }
    }
}

/// Errors sent for real, one request each, must be documented for their
/// operation: the status, and the code among its examples.
#[tokio::test]
async fn the_errors_the_api_answers_are_the_documented_ones() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let unknown_app = "q8Zv2rYpWm3dXkTf7LhN1c";
    let oversized = format!("{{\"external_id\": \"{}\"}}", "x".repeat(70 * 1024));

    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/apps/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let management = operation["tags"][0] == "management";
            let has_body = !operation["requestBody"].is_null();
            let mut cases: Vec<(String, Option<&str>, Option<String>)> = vec![
                // An app that does not exist.
                (
                    path.replace("{app_id}", unknown_app),
                    Some(app.api_key.as_str()),
                    Some("{}".into()),
                ),
            ];
            if management {
                cases.push((concrete(&app, path), None, Some("{}".into())));
                cases.push((concrete(&app, path), Some("lk_wrong"), Some("{}".into())));
            }
            if has_body {
                cases.push((
                    concrete(&app, path),
                    Some(app.api_key.as_str()),
                    Some("{not json".into()),
                ));
                cases.push((
                    concrete(&app, path),
                    Some(app.api_key.as_str()),
                    Some(oversized.clone()),
                ));
                cases.push((
                    concrete(&app, path),
                    Some(app.api_key.as_str()),
                    Some("{}".into()),
                ));
            } else {
                // The made-up user and device do not exist.
                cases.push((concrete(&app, path), Some(app.api_key.as_str()), None));
            }
            for (url, key, body) in cases {
                let mut request = app
                    .http
                    .request(
                        Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                        app.url(&url),
                    )
                    .header("origin", &app.address);
                if let Some(key) = key {
                    request = request.bearer_auth(key);
                }
                if let Some(body) = body {
                    request = request
                        .header("content-type", "application/json")
                        .body(body);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16().to_string();
                if status == "200" {
                    continue;
                }
                let body: Value = response.json().await.unwrap_or(json!({}));
                let code = body["code"].as_str().unwrap_or_default().to_owned();
                let documented = &operation["responses"][&status];
                assert!(
                    documented["content"]["application/json"]["examples"]
                        .get(&code)
                        .is_some(),
                    "{method} {url} answered {status} `{code}`, which the document does not list for {path}: {documented}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} errors were checked");
}

#[tokio::test]
async fn a_path_no_route_has_is_a_404_in_the_api_form_under_v1_and_the_site_page_elsewhere() {
    let app = spawn_app().await;
    for path in [
        "/v1/nope",
        "/v1/apps/x/users/y/devices/z/",
        "/v1/apps/x/transactions",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["code"], "not_found", "{path}: {body}");
    }
    let page = app.get("/no-such-page").await;
    assert_eq!(page.status(), 404);
    assert!(page
        .headers()
        .get("content-type")
        .is_some_and(|t| t.to_str().unwrap().starts_with("text/html")));
}
