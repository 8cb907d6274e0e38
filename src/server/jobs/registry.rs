//! Which async function runs each job kind, and which kinds run periodically.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::{Job, JobError};
use crate::server::state::AppState;

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(AppState, Job) -> HandlerFuture + Send + Sync>;

#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Handler>,
    periodic: Vec<(String, Duration)>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` for every job of `kind`. Workers claim only kinds they can handle, so
    /// during a rolling deploy an old process never takes a kind it does not know.
    pub fn handle<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(AppState, Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_string(),
            Arc::new(move |state, job| Box::pin(handler(state, job))),
        );
        self
    }

    /// Enqueues one `kind` job (empty payload) per `period`, at most once across all
    /// processes: its dedupe key is the period's start.
    pub fn every(mut self, kind: &str, period: Duration) -> Self {
        assert!(
            self.handlers.contains_key(kind),
            "register a handler for {kind} before scheduling it"
        );
        assert!(!period.is_zero(), "a periodic job needs a positive period");
        self.periodic.push((kind.to_string(), period));
        self
    }

    pub(crate) fn handler(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }

    pub(crate) fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }

    pub(crate) fn periodic(&self) -> &[(String, Duration)] {
        &self.periodic
    }
}
