//! The sweeper deletes by `expires_at`: each table it sweeps has an index for that.

use sqlx::Row;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_sweepers_expiry_scans_use_an_index() {
    let app = spawn_app().await;
    let mut conn = app.db.acquire().await.unwrap();
    let postgres = app.store.engine() == latchkey::store::Engine::Postgres;
    if postgres {
        // Tables this small are cheaper to scan: make the planner show whether it could use an index.
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    for table in [
        "transactions",
        "handshakes",
        "nonces",
        "site_sessions",
        "signing_keys",
    ] {
        let explain = if postgres {
            "EXPLAIN"
        } else {
            "EXPLAIN QUERY PLAN"
        };
        let column = if postgres { "QUERY PLAN" } else { "detail" };
        let plan = sqlx::query(&format!(
            "{explain} DELETE FROM {table} WHERE expires_at <= 1"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String, _>(column).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
        assert!(
            plan.to_lowercase().contains("index") && plan.contains("expires_at"),
            "{table}: {plan}"
        );
    }
}
