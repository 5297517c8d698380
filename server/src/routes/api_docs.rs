//! `/docs/api`: the API reference, rendered on the server from the OpenAPI
//! document the API serves. One HTML page and the site's stylesheet: no
//! script, no CDN, so it works offline and under a policy that allows no script.

use std::sync::OnceLock;

use axum::{
    extract::State,
    http::header,
    response::{Html, IntoResponse},
};
use leptos::{config::LeptosOptions, prelude::*};
use leptos_meta::HashedStylesheet;
use serde_json::Value;

/// Nothing but this origin's stylesheet.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                      frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn page(State(options): State<LeptosOptions>) -> impl IntoResponse {
    static PAGE: OnceLock<String> = OnceLock::new();
    let page = PAGE.get_or_init(|| {
        let document =
            serde_json::to_value(super::api::openapi()).expect("the document serializes");
        // The site's stylesheet, by its hashed name where it has one.
        let stylesheet = view! { <HashedStylesheet options/> }.to_html();
        render(&document, &stylesheet)
    });
    (
        [(header::CONTENT_SECURITY_POLICY, POLICY)],
        Html(page.as_str()),
    )
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(tag, method, path, operation)` in the document's order of paths.
fn operations(document: &Value) -> Vec<(String, &'static str, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
                found.push((tag, method, path.clone(), operation.clone()));
            }
        }
    }
    found
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A muted paragraph of `value`'s text, if it has any.
fn paragraph(value: &Value) -> Option<impl IntoView> {
    let text = text(value);
    (!text.trim().is_empty()).then(|| view! { <p class="muted">{inline(&text)}</p> })
}

/// Text with its CommonMark `code spans` as `<code>` (all the markup the
/// document's descriptions use).
fn inline(text: &str) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(n, part)| {
            let part = part.to_owned();
            if n % 2 == 1 {
                view! { <code>{part}</code> }.into_any()
            } else {
                part.into_any()
            }
        })
        .collect_view()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A schema as a short type: `string`, `Device[]`, `string | null`, or a link's name.
fn type_name(schema: &Value) -> (String, Option<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference).to_owned();
        return (name.clone(), Some(name));
    }
    if let Some(items) = schema.get("items") {
        let (inner, link) = type_name(items);
        return (format!("{inner}[]"), link);
    }
    for combined in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combined].as_array() {
            let names: Vec<(String, Option<String>)> = parts.iter().map(type_name).collect();
            let link = names.iter().find_map(|(_, link)| link.clone());
            let joined: Vec<String> = names.into_iter().map(|(name, _)| name).collect();
            return (joined.join(" | "), link);
        }
    }
    match &schema["type"] {
        Value::Array(types) => (types.iter().map(text).collect::<Vec<_>>().join(" | "), None),
        Value::String(kind) => (kind.clone(), None),
        _ => ("any".to_owned(), None),
    }
}

fn type_view(schema: &Value) -> AnyView {
    match type_name(schema) {
        (name, Some(link)) => {
            view! { <a href=format!("#schema-{link}")><code>{name}</code></a> }.into_any()
        }
        (name, None) => view! { <code>{name}</code> }.into_any(),
    }
}

fn operation_view(method: &'static str, path: String, operation: Value) -> impl IntoView {
    let id = text(&operation["operationId"]);
    let keyed = operation["security"]
        .as_array()
        .is_some_and(|list| list.iter().any(|s| s.get("api_key").is_some()));
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let body = operation["requestBody"]["content"]["application/json"].clone();
    let responses: Vec<(String, Value)> = operation["responses"]
        .as_object()
        .map(|r| r.iter().map(|(s, v)| (s.clone(), v.clone())).collect())
        .unwrap_or_default();
    let anchor = id.clone();
    view! {
        <article class="card operation" id=anchor>
            <h3>
                <span class=format!("method method-{method}")>{method.to_uppercase()}</span>
                " " <code class="path">{path}</code>
            </h3>
            <p>{inline(&text(&operation["summary"]))}</p>
            {paragraph(&operation["description"])}
            <p class="auth">
                {if keyed {
                    "Authorization: Bearer with an API key of the app."
                } else {
                    "No secret: browsers call it."
                }}
                " Operation id: " <code>{id}</code>
            </p>
            {(!parameters.is_empty()).then(|| view! {
                <h4>"Parameters"</h4>
                <table>
                    <thead><tr><th>"Name"</th><th>"In"</th><th>"Type"</th><th>"About"</th></tr></thead>
                    <tbody>
                        {parameters.into_iter().map(|p| view! {
                            <tr>
                                <td><code>{text(&p["name"])}</code>
                                    {p["required"].as_bool().unwrap_or(false).then_some(" (required)")}</td>
                                <td>{text(&p["in"])}</td>
                                <td>{type_view(&p["schema"])}</td>
                                <td>{inline(&text(&p["description"]))}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(!body.is_null()).then(|| view! {
                <h4>"Request body " {type_view(&body["schema"])}</h4>
                <pre>{pretty(&body["example"])}</pre>
            })}
            <h4>"Responses"</h4>
            <dl class="responses">
                {responses.into_iter().map(|(status, response)| {
                    let json = response["content"]["application/json"].clone();
                    let examples: Vec<(String, Value)> = json["examples"]
                        .as_object()
                        .map(|e| e.iter().map(|(k, v)| (k.clone(), v["value"].clone())).collect())
                        .unwrap_or_default();
                    let class = if status.starts_with('2') { "status ok-status" } else { "status error-status" };
                    view! {
                        <dt><span class=class>{status}</span> " " {inline(&text(&response["description"]))}
                            " " {(!json["schema"].is_null()).then(|| type_view(&json["schema"]))}</dt>
                        <dd>
                            {(!json["example"].is_null()).then(|| view! {
                                <details><summary>"Example"</summary><pre>{pretty(&json["example"])}</pre></details>
                            })}
                            {examples.into_iter().map(|(code, value)| view! {
                                <details><summary><code>{code}</code></summary><pre>{pretty(&value)}</pre></details>
                            }).collect_view()}
                        </dd>
                    }
                }).collect_view()}
            </dl>
        </article>
    }
}

fn schema_view(name: String, schema: Value) -> impl IntoView {
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| r.iter().map(text).collect())
        .unwrap_or_default();
    let properties: Vec<(String, Value)> = schema["properties"]
        .as_object()
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let anchor = format!("schema-{name}");
    view! {
        <article class="card schema" id=anchor>
            <h3><code>{name}</code></h3>
            {paragraph(&schema["description"])}
            <table>
                <thead><tr><th>"Field"</th><th>"Type"</th><th>"About"</th></tr></thead>
                <tbody>
                    {properties.into_iter().map(|(field, property)| {
                        let needed = required.contains(&field);
                        view! {
                            <tr>
                                <td><code>{field}</code>{needed.then_some(" (required)")}</td>
                                <td>{type_view(&property)}</td>
                                <td>{inline(&text(&property["description"]))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </article>
    }
}

fn render(document: &Value, stylesheet: &str) -> String {
    let info = &document["info"];
    let title = format!("{} API {}", text(&info["title"]), text(&info["version"]));
    let operations = operations(document);
    let tags: Vec<(String, String)> = document["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| (text(&t["name"]), text(&t["description"])))
                .collect()
        })
        .unwrap_or_default();
    let schemas: Vec<(String, Value)> = document["components"]["schemas"]
        .as_object()
        .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let contents = tags
        .iter()
        .map(|(tag, _)| {
            let links = operations
                .iter()
                .filter(|(t, ..)| t == tag)
                .map(|(_, method, path, operation)| {
                    let id = text(&operation["operationId"]);
                    view! {
                        <li><a href=format!("#{id}")><span class=format!("method method-{method}")>{method.to_uppercase()}</span>
                            " " <code>{path.clone()}</code></a></li>
                    }
                })
                .collect_view();
            view! { <li>{tag.clone()}<ul>{links}</ul></li> }
        })
        .collect_view();
    let sections = tags
        .into_iter()
        .map(|(tag, about)| {
            let in_tag: Vec<_> = operations.iter().filter(|(t, ..)| *t == tag).cloned().collect();
            let anchor = format!("tag-{tag}");
            view! {
                <section id=anchor>
                    <h2>{tag}</h2>
                    <p class="muted">{inline(&about)}</p>
                    {in_tag.into_iter().map(|(_, method, path, operation)| operation_view(method, path, operation)).collect_view()}
                </section>
            }
        })
        .collect_view();
    let body = view! {
        <main class="api-reference">
            <header class="hero">
                <h1>{title.clone()}</h1>
                <p class="lede">{text(&info["description"])}</p>
                <p>"This page is the OpenAPI 3.1 document "
                    <a href="/v1/openapi.json"><code>"/v1/openapi.json"</code></a>
                    " (also printed by " <code>"latchkey openapi"</code> "), rendered. Generate a client from it "
                    "in any language; errors are " <code>"{code, error}"</code> " with the codes each operation lists."</p>
            </header>
            <nav class="card" aria-label="Operations"><ul>{contents}</ul></nav>
            {sections}
            <section id="schemas">
                <h2>"Schemas"</h2>
                {schemas.into_iter().map(|(name, schema)| schema_view(name, schema)).collect_view()}
            </section>
        </main>
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>{stylesheet}\
         <link rel=\"icon\" href=\"/favicon.svg\"></head><body>{}</body></html>",
        html_text(&title),
        body.to_html()
    )
}

/// `text` for an HTML text node (the title, outside the view).
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
