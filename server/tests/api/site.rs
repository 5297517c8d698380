use crate::helpers::spawn_app;

#[tokio::test]
async fn the_home_page_is_rendered_on_the_server_ready_to_hydrate() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Latchkey</h1>"), "{html}");
    // Until the browser answers, the page says it is checking; without JS, why not.
    assert!(html.contains(r#"data-passkeys="checking""#), "{html}");
    assert!(html.contains("<noscript>"), "{html}");
    // The hydration script and the stylesheet are referenced.
    assert!(html.contains("/pkg/latchkey.js"), "{html}");
    assert!(html.contains("/pkg/latchkey.css"), "{html}");
}

#[tokio::test]
async fn an_unknown_page_answers_404() {
    let app = spawn_app().await;

    let response = app.get("/no-such-page").await;

    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
