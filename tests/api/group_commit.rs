//! SQLite's group commit of single creates (`service::group`): creates that queue together
//! commit together, each keeps its own outcome, and a create nobody waits for any more, or
//! past its deadline, writes nothing. Always on SQLite (the queue exists only there).

use std::future::Future;
use std::task::{Context, Waker};
use std::time::Instant;

use passenger_api::service::events::{EventKind, Events};
use passenger_api::service::group::CreateQueue;
use passenger_api::service::{Deadline, PassengerData, ServiceError};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use crate::helpers::TestDb;

fn named(name: &str) -> PassengerData {
    PassengerData { name: Some(name.to_owned()), age: Some(30.5), ..Default::default() }
}

async fn names_in_table(db: &DatabaseConnection) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT name FROM passengers ORDER BY seq"))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect()
}

async fn create(queue: &CreateQueue, name: &str, deadline: Option<Deadline>) -> Result<Uuid, ServiceError> {
    let uuid = Uuid::new_v4();
    let row = queue.insert(uuid, named(name).into_active_model(uuid), deadline).await?;
    assert_eq!(row.uuid, uuid, "the answer is the create's own row");
    assert_eq!(row.name.as_deref(), Some(name));
    assert_eq!(row.age, Some(30.5));
    Ok(uuid)
}

#[tokio::test]
async fn creates_queued_together_commit_in_one_transaction_in_arrival_order() {
    let test_db = TestDb::sqlite();
    let db = test_db.migrated().await;
    let events = Events::new(64);
    let mut announced = events.subscribe();
    let queue = CreateQueue::new(db.clone(), events);
    // On this single-threaded runtime all 50 join the queue before its task first runs.
    let names: Vec<String> = (0..50).map(|i| format!("Group {i:02}")).collect();
    let ids = futures_util::future::join_all(names.iter().map(|n| create(&queue, n, None))).await;
    let ids: Vec<Uuid> = ids.into_iter().map(Result::unwrap).collect();
    assert_eq!(queue.commits(), 1, "50 creates queued together are one commit");
    assert_eq!(names_in_table(&db).await, names, "every create is in the table, in arrival order");
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 50);
    for id in &ids {
        let event = announced.try_recv().expect("one event per create, announced by the queue");
        assert_eq!((event.kind, event.row.uuid), (EventKind::Created, *id));
    }
    assert!(announced.try_recv().is_err(), "nothing else announced");

    // A lone create afterwards is a commit of its own.
    create(&queue, "Alone", None).await.unwrap();
    assert_eq!(queue.commits(), 2);
}

#[tokio::test]
async fn a_create_the_database_refuses_fails_alone() {
    let test_db = TestDb::sqlite();
    let db = test_db.migrated().await;
    db.execute_unprepared(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON passengers WHEN NEW.name = 'Boom' \
         BEGIN SELECT RAISE(ABORT, 'Boom is refused'); END",
    )
    .await
    .unwrap();
    let queue = CreateQueue::new(db.clone(), Events::new(64));
    let (a, boom, b, c) = tokio::join!(
        create(&queue, "A", None),
        create(&queue, "Boom", None),
        create(&queue, "B", None),
        create(&queue, "C", None)
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let error = boom.expect_err("the refused create fails");
    assert!(matches!(error, ServiceError::Database(_)), "{error:?}");
    assert!(error.to_string().contains("Boom is refused"), "{error}");
    assert_eq!(names_in_table(&db).await, ["A", "B", "C"], "the batch was rolled back and retried one by one");
    assert_eq!(queue.commits(), 3, "the failed batch committed nothing; the three others one each");
}

#[tokio::test]
async fn late_or_abandoned_creates_write_nothing() {
    let test_db = TestDb::sqlite();
    let db = test_db.migrated().await;
    let queue = CreateQueue::new(db.clone(), Events::new(64));
    // Polled once (so it joins the queue), then dropped, as when a client disconnects.
    let mut abandoned = Box::pin(create(&queue, "Abandoned", None));
    let polled = abandoned.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(polled.is_pending(), "the create is queued");
    drop(abandoned);
    let past = Some(Deadline(Instant::now()));
    let (late, on_time) = tokio::join!(create(&queue, "Late", past), create(&queue, "On time", None));
    assert!(matches!(late, Err(ServiceError::TimedOut)), "{late:?}");
    on_time.unwrap();
    assert_eq!(names_in_table(&db).await, ["On time"]);
    assert_eq!(queue.commits(), 1);
}
