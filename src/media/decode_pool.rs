//! A small pool of snapshot decode threads shared by every camera.
//!
//! Owns [`DecodePool`]: a bounded queue and `workers` named threads
//! (`cam2mqtt-decode-N`) that run snapshot jobs (decoding a GOP, re-encoding
//! a JPEG) one at a time each. Why a pool of its own instead of tokio's
//! blocking pool:
//! * **memory**: a 1080p GOP decode needs tens of MB for a moment; eight
//!   cameras decoding at once on eight blocking threads multiply that, and
//!   glibc gives each thread its own malloc arena, which keeps the peak
//!   resident after the buffers are freed. One or two long-lived threads
//!   reuse the same arena, so the bridge's peak is one or two decodes;
//! * **fairness**: jobs run in order, on-demand (urgent) ones first, so a
//!   user's `set/snapshot` does not wait behind every camera's schedule.
//!
//! Rules:
//! * a key (the camera) has at most one job queued: submitting again while
//!   one waits replaces its work with the newer one (a newer picture), keeps
//!   its place in the queue, raises its priority if the new one is urgent,
//!   and answers both requesters with the newer job's result;
//! * urgent jobs run before scheduled ones, each kind in submission order;
//! * the queue holds at most `capacity` jobs; beyond it a scheduled job is
//!   refused ([`PoolError::Full`]), and an urgent one takes the place of the
//!   newest scheduled job (which is refused instead);
//! * every reply is called exactly once: with the job's output, or with
//!   [`PoolError::Panicked`] if the job panicked (the worker survives), or
//!   [`PoolError::Full`] / [`PoolError::Stopped`];
//! * a job owns everything it allocates: decoders and frame buffers are freed
//!   when it returns, before the worker takes the next one.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Queue bound used by the bridge: far more than the video cameras a bridge
/// runs, so it is reached only when decoding falls far behind.
pub const DEFAULT_CAPACITY: usize = 64;

/// Most decode threads accepted (more only adds memory on a small machine).
pub const MAX_WORKERS: usize = 16;

/// Decode threads when the config leaves it to the bridge: one on a machine
/// with up to 2 cores (a snapshot every 10 s per camera is far below one
/// core), else half the cores, at most 4.
pub fn default_workers() -> usize {
    workers_for_cores(std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// [`default_workers`] on a machine with `cores` cores.
pub fn workers_for_cores(cores: usize) -> usize {
    if cores <= 2 {
        1
    } else {
        (cores / 2).min(4)
    }
}

/// How soon a job should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// An interval snapshot: runs after every urgent job.
    Scheduled,
    /// Someone waits for it (`set/snapshot`, a camera's first picture).
    Urgent,
}

/// Why a job produced no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue was full.
    #[error("snapshot decoding is {0} jobs behind; this snapshot was skipped")]
    Full(usize),
    /// The job panicked (a bug in a decoder); the worker carries on.
    #[error("snapshot decoding failed unexpectedly (a bug; please report it): {0}")]
    Panicked(String),
    /// The pool was dropped before the job ran.
    #[error("the bridge is shutting down")]
    Stopped,
}

/// What [`DecodePool::submit`] did with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Queued as a new job.
    Queued,
    /// The key already had a job waiting: this one replaced its work and
    /// joined its requesters.
    Replaced,
    /// Refused: the queue is full (the reply was called with
    /// [`PoolError::Full`]).
    Refused,
}

type Work<T> = Box<dyn FnOnce() -> T + Send>;
/// Called once with the job's outcome, on a worker thread (or in `submit`).
pub type Reply<T> = Box<dyn FnOnce(Result<T, PoolError>) + Send>;

struct Job<T> {
    key: String,
    priority: Priority,
    work: Work<T>,
    replies: Vec<Reply<T>>,
}

struct State<T> {
    /// Waiting jobs in submission order (a replaced job keeps its place).
    queue: VecDeque<Job<T>>,
    stopped: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> Shared<T> {
    /// The state, even if a thread panicked while holding the lock (jobs run
    /// outside it, so the state is consistent).
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool; see the module documentation. Dropping it stops the workers
/// once their current job is done and answers queued jobs with
/// [`PoolError::Stopped`].
pub struct DecodePool<T> {
    shared: Arc<Shared<T>>,
    capacity: usize,
    workers: usize,
}

impl<T> std::fmt::Debug for DecodePool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodePool")
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .field("queued", &self.shared.lock().queue.len())
            .finish()
    }
}

impl<T: Clone + Send + 'static> DecodePool<T> {
    /// A pool of `workers` threads (1 to [`MAX_WORKERS`]) and a queue of
    /// `capacity` jobs (at least 1). Fails only if the OS refuses a thread.
    pub fn new(workers: usize, capacity: usize) -> std::io::Result<Self> {
        let workers = workers.clamp(1, MAX_WORKERS);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                stopped: false,
            }),
            ready: Condvar::new(),
        });
        for n in 0..workers {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("cam2mqtt-decode-{n}"))
                .spawn(move || worker(&shared))?;
        }
        Ok(Self {
            shared,
            capacity: capacity.max(1),
            workers,
        })
    }

    /// Worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Jobs waiting (not running).
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Queues `work` for `key` at `priority`; `reply` gets its outcome (see
    /// the module documentation for replacement, order and the bound).
    pub fn submit(
        &self,
        key: &str,
        priority: Priority,
        work: impl FnOnce() -> T + Send + 'static,
        reply: impl FnOnce(Result<T, PoolError>) + Send + 'static,
    ) -> Submitted {
        let mut state = self.shared.lock();
        if state.stopped {
            drop(state);
            reply(Err(PoolError::Stopped));
            return Submitted::Refused;
        }
        if let Some(job) = state.queue.iter_mut().find(|j| j.key == key) {
            job.work = Box::new(work);
            job.priority = job.priority.max(priority);
            job.replies.push(Box::new(reply));
            return Submitted::Replaced;
        }
        let mut evicted = None;
        if state.queue.len() >= self.capacity {
            let newest_scheduled = state
                .queue
                .iter()
                .rposition(|j| j.priority == Priority::Scheduled);
            match (priority, newest_scheduled) {
                (Priority::Urgent, Some(i)) => evicted = state.queue.remove(i),
                _ => {
                    let behind = state.queue.len();
                    drop(state);
                    reply(Err(PoolError::Full(behind)));
                    return Submitted::Refused;
                }
            }
        }
        state.queue.push_back(Job {
            key: key.to_owned(),
            priority,
            work: Box::new(work),
            replies: vec![Box::new(reply)],
        });
        let behind = state.queue.len();
        drop(state);
        self.shared.ready.notify_one();
        if let Some(job) = evicted {
            tracing::debug!(camera = %job.key, "decode queue full; a scheduled snapshot makes way for an urgent one");
            answer(job.replies, Err(PoolError::Full(behind)));
        }
        Submitted::Queued
    }

    /// Raises the job queued for `key`, if any, to [`Priority::Urgent`];
    /// true if there was one (a running job cannot be hurried).
    pub fn expedite(&self, key: &str) -> bool {
        let mut state = self.shared.lock();
        match state.queue.iter_mut().find(|j| j.key == key) {
            Some(job) => {
                job.priority = Priority::Urgent;
                true
            }
            None => false,
        }
    }
}

impl<T> Drop for DecodePool<T> {
    fn drop(&mut self) {
        let queued: Vec<Job<T>> = {
            let mut state = self.shared.lock();
            state.stopped = true;
            state.queue.drain(..).collect()
        };
        self.shared.ready.notify_all();
        for job in queued {
            for reply in job.replies {
                reply(Err(PoolError::Stopped));
            }
        }
    }
}

/// Calls every reply with `outcome` (cloned for all but the last).
fn answer<T: Clone>(mut replies: Vec<Reply<T>>, outcome: Result<T, PoolError>) {
    let last = replies.pop();
    for reply in replies {
        reply(outcome.clone());
    }
    if let Some(reply) = last {
        reply(outcome);
    }
}

/// The next job: the oldest urgent one, else the oldest.
fn take_next<T>(queue: &mut VecDeque<Job<T>>) -> Option<Job<T>> {
    let i = queue
        .iter()
        .position(|j| j.priority == Priority::Urgent)
        .unwrap_or(0);
    queue.remove(i)
}

fn worker<T: Clone>(shared: &Shared<T>) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if state.stopped {
                    return;
                }
                if let Some(job) = take_next(&mut state.queue) {
                    break job;
                }
                state = shared.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Job {
            key, work, replies, ..
        } = job;
        let outcome = catch_unwind(AssertUnwindSafe(work)).map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            tracing::error!(camera = %key, panic = %what, "snapshot decode panicked (a bug; please report it)");
            PoolError::Panicked(what)
        });
        answer(replies, outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Guards against a hang only; no test depends on timing.
    const HANG: Duration = Duration::from_secs(20);

    type Outcome = (String, Result<String, PoolError>);

    /// A one-worker pool whose worker is held busy by a first job until
    /// `release` is called, so jobs submitted meanwhile queue up.
    struct Held {
        pool: DecodePool<String>,
        gate: Option<mpsc::Sender<()>>,
        done_tx: mpsc::Sender<Outcome>,
        done: mpsc::Receiver<Outcome>,
    }

    impl Held {
        fn new(capacity: usize) -> Self {
            let pool = DecodePool::new(1, capacity).expect("threads");
            let (gate, wait) = mpsc::channel::<()>();
            let (started_tx, started) = mpsc::channel();
            let (done_tx, done) = mpsc::channel();
            let tx = done_tx.clone();
            pool.submit(
                "gate",
                Priority::Scheduled,
                move || {
                    started_tx.send(()).expect("test alive");
                    let _ = wait.recv();
                    "gate".to_owned()
                },
                move |r| tx.send(("gate".to_owned(), r)).expect("test alive"),
            );
            started
                .recv_timeout(HANG)
                .expect("the worker took the gate job");
            assert_eq!(pool.queued(), 0);
            Self {
                pool,
                gate: Some(gate),
                done_tx,
                done,
            }
        }

        /// Submits a job for `key` whose output is `output`; its reply is
        /// recorded under `label`.
        fn submit(&self, key: &str, label: &str, priority: Priority, output: &str) -> Submitted {
            let (tx, label, output) = (self.done_tx.clone(), label.to_owned(), output.to_owned());
            self.pool.submit(
                key,
                priority,
                move || output,
                move |r| tx.send((label, r)).expect("test alive"),
            )
        }

        fn release(&mut self) {
            self.gate.take();
        }

        /// The next `n` replies (after the gate's), in the order they came.
        fn replies(&mut self, n: usize) -> Vec<Outcome> {
            self.release();
            let mut out: Vec<Outcome> = (0..=n)
                .map(|_| self.done.recv_timeout(HANG).expect("a reply"))
                .collect();
            assert_eq!(out.remove(0), ("gate".to_owned(), Ok("gate".to_owned())));
            out
        }
    }

    fn ok(label: &str, output: &str) -> Outcome {
        (label.to_owned(), Ok(output.to_owned()))
    }

    #[test]
    fn urgent_jobs_run_first_and_each_kind_in_submission_order() {
        let mut h = Held::new(16);
        h.submit("a", "a", Priority::Scheduled, "a");
        h.submit("b", "b", Priority::Urgent, "b");
        h.submit("c", "c", Priority::Scheduled, "c");
        h.submit("d", "d", Priority::Urgent, "d");
        assert_eq!(h.pool.queued(), 4);
        assert_eq!(
            h.replies(4),
            vec![ok("b", "b"), ok("d", "d"), ok("a", "a"), ok("c", "c")]
        );
    }

    #[test]
    fn a_camera_has_one_job_queued_and_the_newer_work_answers_both_requests() {
        let mut h = Held::new(16);
        assert_eq!(
            h.submit("cam", "old", Priority::Scheduled, "gop 1"),
            Submitted::Queued
        );
        assert_eq!(
            h.submit("other", "other", Priority::Scheduled, "x"),
            Submitted::Queued
        );
        assert_eq!(
            h.submit("cam", "new", Priority::Scheduled, "gop 2"),
            Submitted::Replaced
        );
        assert_eq!(h.pool.queued(), 2);
        // The camera keeps its place, and only the newer work runs.
        assert_eq!(
            h.replies(3),
            vec![ok("old", "gop 2"), ok("new", "gop 2"), ok("other", "x")]
        );
    }

    #[test]
    fn an_urgent_request_moves_a_waiting_job_ahead() {
        // By resubmitting: the job keeps its work's newest version.
        let mut h = Held::new(16);
        h.submit("a", "a", Priority::Scheduled, "a");
        h.submit("b", "b", Priority::Scheduled, "b");
        assert_eq!(
            h.submit("b", "b now", Priority::Urgent, "b2"),
            Submitted::Replaced
        );
        assert_eq!(
            h.replies(3),
            vec![ok("b", "b2"), ok("b now", "b2"), ok("a", "a")]
        );
        // By expediting: the same work, sooner.
        let mut h = Held::new(16);
        h.submit("a", "a", Priority::Scheduled, "a");
        h.submit("b", "b", Priority::Scheduled, "b");
        assert!(h.pool.expedite("b"));
        assert!(!h.pool.expedite("not queued"));
        assert_eq!(h.replies(2), vec![ok("b", "b"), ok("a", "a")]);
    }

    #[test]
    fn a_full_queue_refuses_scheduled_jobs_and_makes_way_for_urgent_ones() {
        let mut h = Held::new(2);
        let full = |label: &str| (label.to_owned(), Err(PoolError::Full(2)));
        h.submit("a", "a", Priority::Scheduled, "a");
        h.submit("b", "b", Priority::Scheduled, "b");
        assert_eq!(
            h.submit("c", "c", Priority::Scheduled, "c"),
            Submitted::Refused
        );
        assert_eq!(
            h.done.recv_timeout(HANG).expect("refused at once"),
            full("c")
        );
        // An urgent job takes the place of the newest scheduled one.
        assert_eq!(h.submit("d", "d", Priority::Urgent, "d"), Submitted::Queued);
        assert_eq!(
            h.done.recv_timeout(HANG).expect("evicted at once"),
            full("b")
        );
        // With no scheduled job left to evict, an urgent one is refused too.
        assert_eq!(h.submit("e", "e", Priority::Urgent, "e"), Submitted::Queued);
        assert_eq!(
            h.done.recv_timeout(HANG).expect("evicted at once"),
            full("a")
        );
        assert_eq!(
            h.submit("f", "f", Priority::Urgent, "f"),
            Submitted::Refused
        );
        assert_eq!(
            h.done.recv_timeout(HANG).expect("refused at once"),
            full("f")
        );
        assert_eq!(h.pool.queued(), 2);
        assert_eq!(h.replies(2), vec![ok("d", "d"), ok("e", "e")]);
    }

    #[test]
    fn a_panicking_job_reports_an_error_and_the_worker_carries_on() {
        let mut h = Held::new(16);
        let tx = h.done_tx.clone();
        h.pool.submit(
            "bad",
            Priority::Scheduled,
            || -> String { panic!("decoder bug") },
            move |r| tx.send(("bad".to_owned(), r)).expect("test alive"),
        );
        h.submit("good", "good", Priority::Scheduled, "picture");
        assert_eq!(
            h.replies(2),
            vec![
                (
                    "bad".to_owned(),
                    Err(PoolError::Panicked("decoder bug".into()))
                ),
                ok("good", "picture"),
            ]
        );
        // Still working afterwards, on its only thread.
        h.submit("later", "later", Priority::Urgent, "again");
        assert_eq!(
            h.done.recv_timeout(HANG).expect("a reply"),
            ok("later", "again")
        );
        assert_eq!(h.pool.workers(), 1);
    }

    #[test]
    fn dropping_the_pool_answers_every_waiting_job() {
        let mut h = Held::new(16);
        h.submit("a", "a", Priority::Scheduled, "a");
        h.submit("b", "b", Priority::Urgent, "b");
        let Held {
            pool, gate, done, ..
        } = &mut h;
        let pool = std::mem::replace(pool, DecodePool::new(1, 1).expect("threads"));
        drop(pool);
        let mut stopped: Vec<Outcome> = (0..2)
            .map(|_| done.recv_timeout(HANG).expect("a reply"))
            .collect();
        stopped.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            stopped,
            vec![
                ("a".to_owned(), Err(PoolError::Stopped)),
                ("b".to_owned(), Err(PoolError::Stopped)),
            ]
        );
        // The running job still finishes and is answered.
        gate.take();
        assert_eq!(
            done.recv_timeout(HANG).expect("a reply"),
            ok("gate", "gate")
        );
    }

    #[test]
    fn one_worker_on_two_cores_and_a_few_on_bigger_machines() {
        assert_eq!(workers_for_cores(1), 1);
        assert_eq!(workers_for_cores(2), 1);
        assert_eq!(workers_for_cores(4), 2);
        assert_eq!(workers_for_cores(64), 4);
        let pool = DecodePool::<String>::new(0, 0).expect("threads");
        assert_eq!(pool.workers(), 1);
        assert_eq!(
            DecodePool::<String>::new(99, 1).expect("threads").workers(),
            MAX_WORKERS
        );
    }
}
