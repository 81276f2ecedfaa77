//! Group commit of single creates on SQLite: creates that arrive while another is being
//! written share the next transaction.
//!
//! SQLite commits one writer at a time, so under concurrent creates every request waits for
//! all those queued before it, and each autocommit insert pays for a commit of its own (the
//! statement's trip to the connection's thread, the journal frames of the pages it touched).
//! Here a create joins a queue; one task at a time takes everything queued (at most
//! [`INSERT_BATCH`] rows) and writes it as one `INSERT … RETURNING` in one transaction, so a
//! burst of 64 creates costs one commit instead of 64. A lone create is the same single
//! autocommit statement as without the queue.
//!
//! The queue announces what it wrote (change events, freshness) right after each commit,
//! whether or not the request that asked is still there to answer.
//!
//! Each create keeps its own outcome. A batch that fails is retried one create at a time, so
//! one create's failure is never another's; a create whose request has gone (the client
//! disconnected, the request timed out) before its batch was formed is not written; one whose
//! deadline passed while it queued is answered [`ServiceError::TimedOut`] and not written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use entity::passenger::{self, ActiveModel, Entity};
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::events::{EventKind, Events, PassengerEvent};
use super::passenger::{INSERT_BATCH, find_by_ids, insert_one};
use super::{Deadline, ServiceError};

/// The queue of single creates waiting for the write connection (see the module doc). Cheap
/// to clone: clones share one queue.
#[derive(Clone)]
pub struct CreateQueue(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    events: Events,
    state: Mutex<State>,
    commits: AtomicU64,
}

#[derive(Default)]
struct State {
    jobs: Vec<Job>,
    /// Whether a task is writing the queue's batches (it ends when the queue is empty).
    draining: bool,
}

/// One create waiting in the queue.
struct Job {
    uuid: Uuid,
    model: ActiveModel,
    deadline: Option<Deadline>,
    reply: oneshot::Sender<Result<passenger::Model, ServiceError>>,
}

impl Job {
    /// The job, if it is still to be written: not when its request has gone (dropped
    /// unwritten), nor past its deadline (answered [`ServiceError::TimedOut`]).
    fn still_due(self) -> Option<Self> {
        if self.reply.is_closed() {
            return None;
        }
        if Deadline::passed(self.deadline) {
            self.answer(Err(ServiceError::TimedOut));
            return None;
        }
        Some(self)
    }

    fn answer(self, outcome: Result<passenger::Model, ServiceError>) {
        // The request may be gone by now: then nobody is left to tell.
        let _ = self.reply.send(outcome);
    }
}

impl CreateQueue {
    /// A queue writing to `db` (the write pool) and announcing its writes to `events`.
    pub fn new(db: DatabaseConnection, events: Events) -> Self {
        Self(Arc::new(Inner { db, events, state: Mutex::new(State::default()), commits: AtomicU64::new(0) }))
    }

    /// Inserts `model` (whose primary key is `uuid`, freshly generated) together with the
    /// creates queued alongside it, and returns the stored row once it has committed and its
    /// `Created` event has been announced.
    pub async fn insert(
        &self,
        uuid: Uuid,
        model: ActiveModel,
        deadline: Option<Deadline>,
    ) -> Result<passenger::Model, ServiceError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.jobs.push(Job { uuid, model, deadline, reply });
            !std::mem::replace(&mut state.draining, true)
        };
        if start {
            tokio::spawn(drain(self.0.clone()));
        }
        answer.await.unwrap_or_else(|_| {
            Err(ServiceError::Database(sea_orm::DbErr::Custom("the create queue stopped before writing".into())))
        })
    }

    /// How many transactions the queue has committed so far (each holding one or more creates).
    pub fn commits(&self) -> u64 {
        self.0.commits.load(Ordering::Relaxed)
    }
}

/// Clears `draining` if the draining task unwinds, so the next create starts another.
struct Draining(Arc<Inner>);

impl Drop for Draining {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.state.lock().unwrap_or_else(PoisonError::into_inner).draining = false;
        }
    }
}

/// Writes the queue's batches, oldest first, until it is empty.
async fn drain(inner: Arc<Inner>) {
    let guard = Draining(inner);
    loop {
        let batch = {
            let mut state = guard.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.jobs.is_empty() {
                state.draining = false;
                return;
            }
            let n = state.jobs.len().min(INSERT_BATCH);
            state.jobs.drain(..n).collect::<Vec<_>>()
        };
        write(&guard.0, batch).await;
    }
}

impl Inner {
    /// After a commit of `rows`: counted, and announced.
    fn committed(&self, rows: &[passenger::Model]) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        let staged = rows.iter().map(|row| PassengerEvent::new(EventKind::Created, row.clone())).collect();
        self.events.committed(self.db.get_database_backend(), staged);
    }

    /// One create on its own; an error may hide a write that happened, so whatever was
    /// computed before is stale all the same.
    async fn insert_alone(&self, job: &Job) -> Result<passenger::Model, ServiceError> {
        match insert_one(&self.db, job.uuid, job.model.clone()).await {
            Ok(row) => {
                self.committed(std::slice::from_ref(&row));
                Ok(row)
            }
            Err(error) => {
                self.events.maybe_changed();
                Err(error)
            }
        }
    }
}

/// Writes one batch and answers each of its creates.
async fn write(inner: &Inner, batch: Vec<Job>) {
    let mut jobs: Vec<Job> = batch.into_iter().filter_map(Job::still_due).collect();
    match jobs.len() {
        0 => {}
        1 => {
            let job = jobs.remove(0);
            let outcome = inner.insert_alone(&job).await;
            job.answer(outcome);
        }
        _ => match insert_together(&inner.db, &jobs).await {
            Ok(mut rows) => {
                inner.committed(&rows);
                for job in jobs {
                    let outcome = match rows.iter().position(|r| r.uuid == job.uuid) {
                        Some(i) => Ok(rows.swap_remove(i)),
                        None => Err(ServiceError::Database(sea_orm::DbErr::RecordNotInserted)),
                    };
                    job.answer(outcome);
                }
            }
            Err(error) => {
                tracing::debug!(error = %error, creates = jobs.len(), "a group commit failed: writing its creates one by one");
                inner.events.maybe_changed();
                one_by_one(inner, jobs).await;
            }
        },
    }
}

/// The jobs' rows inserted by one statement in one transaction.
async fn insert_together(db: &DatabaseConnection, jobs: &[Job]) -> Result<Vec<passenger::Model>, ServiceError> {
    let txn = super::begin_write(db).await?;
    let rows = Entity::insert_many(jobs.iter().map(|j| j.model.clone())).exec_with_returning(&txn).await?;
    txn.commit().await?;
    Ok(rows)
}

/// After a failed batch: each create on its own. A batch whose commit failed may still have
/// committed, so the rows already present (their ids are fresh: present means written by the
/// batch) are answered as written, not inserted twice.
async fn one_by_one(inner: &Inner, jobs: Vec<Job>) {
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.uuid).collect();
    let mut present = find_by_ids(&inner.db, &ids).await.unwrap_or_default();
    if !present.is_empty() {
        tracing::warn!("a group commit reported failure, but its rows are in the table: answered as done");
        inner.committed(&present);
    }
    for job in jobs {
        if let Some(i) = present.iter().position(|r| r.uuid == job.uuid) {
            job.answer(Ok(present.swap_remove(i)));
            continue;
        }
        let Some(job) = job.still_due() else { continue };
        let outcome = inner.insert_alone(&job).await;
        job.answer(outcome);
    }
}
