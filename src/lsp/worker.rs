//! The analysis thread: runs `analysis::reanalyse` on one job at a time,
//! in its own rayon pool, so the main loop keeps answering; it keeps the
//! session that makes every job after the first incremental.

use super::analysis::{self, Analysed, Job};
use crate::model::Model;
use crate::session::Session;
use crossbeam_channel::{Receiver, Sender};
use std::path::PathBuf;

/// The analysis thread: one job at a time, in its own rayon pool, with a
/// panic in the analysis reported instead of ending the server.
pub(crate) struct Worker {
    pub jobs: Sender<Job>,
    pub done: Receiver<Result<Analysed, String>>,
    config: Sender<Config>,
}

/// What the worker needs from the settings: the lock model and its threads.
struct Config {
    models: Vec<PathBuf>,
    jobs: Option<usize>,
}

impl Worker {
    pub fn start() -> std::io::Result<Worker> {
        let (jobs, job_rx) = crossbeam_channel::unbounded::<Job>();
        let (done_tx, done) = crossbeam_channel::unbounded();
        let (config, config_rx) = crossbeam_channel::bounded::<Config>(1);
        std::thread::Builder::new().name("lockpath-analysis".into()).spawn(move || {
            // The settings come with `initialize`, before the first job.
            let Ok(config) = config_rx.recv() else { return };
            let (model, pool) = match setup(&config) {
                Ok(set) => set,
                Err(why) => {
                    for _ in job_rx {
                        let _ = done_tx.send(Err(why.clone()));
                    }
                    return;
                }
            };
            let mut session: Option<Session> = None;
            let mut texts = super::texts::TextCache::default();
            for job in job_rx {
                let run = std::panic::AssertUnwindSafe(|| {
                    pool.install(|| analysis::reanalyse(&model, &mut session, &mut texts, &job))
                });
                let result = std::panic::catch_unwind(run).map_err(|panic| {
                    let what = panic.downcast_ref::<&str>().map(|s| s.to_string());
                    what.or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into())
                });
                let failed = result.is_err();
                if done_tx.send(result).is_err() {
                    return;
                }
                // After a first answer the report cache gave (or a panic,
                // which may have left the session half-updated): a new
                // session, built from this job, takes the next ones.
                if session.is_none() || failed {
                    let mut fresh = Session::new(&model);
                    let build = std::panic::AssertUnwindSafe(|| pool.install(|| fresh.run(&analysis::options(&job))));
                    session = std::panic::catch_unwind(build).ok().map(|_| fresh);
                }
            }
        })?;
        Ok(Worker { jobs, done, config })
    }

    /// Sends the settings the first job needs; once, at `initialize`.
    pub fn configure(&self, models: Vec<PathBuf>, jobs: Option<usize>) -> Result<(), String> {
        self.config.send(Config { models, jobs }).map_err(|_| "the analysis worker is gone".to_string())
    }
}

fn setup(config: &Config) -> Result<(Model, rayon::ThreadPool), String> {
    let model = Model::load(&config.models).map_err(|e| format!("cannot load the lock model: {e}"))?;
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20).thread_name(|i| format!("lockpath-{i}"));
    if let Some(jobs) = config.jobs {
        pool = pool.num_threads(jobs.max(1));
    }
    let pool = pool.build().map_err(|e| format!("cannot start worker threads: {e}"))?;
    Ok((model, pool))
}
