//! Each test's database is its own and is gone when the test ends: a
//! throwaway PostgreSQL cluster does not fill up with them.

use sqlx::{migrate::MigrateDatabase, Any};

use crate::helpers::TestDatabase;

#[tokio::test]
async fn a_test_database_is_dropped_when_its_test_ends_even_by_a_panic() {
    let database = TestDatabase::fresh().await;
    let url = database.url.clone();
    latchkey::store::Store::connect(&url).await.unwrap();
    assert!(Any::database_exists(&url).await.unwrap());
    drop(database);
    assert!(!Any::database_exists(&url).await.unwrap(), "{url}");

    let (sent, received) = tokio::sync::oneshot::channel();
    let failing = tokio::spawn(async move {
        let database = TestDatabase::fresh().await;
        let _store = latchkey::store::Store::connect(&database.url)
            .await
            .unwrap();
        sent.send(database.url.clone()).unwrap();
        panic!("a failing test, its store still open");
    });
    assert!(failing.await.unwrap_err().is_panic());
    let url = received.await.unwrap();
    assert!(!Any::database_exists(&url).await.unwrap(), "{url}");
}
