//! Which async function runs each job kind, and which kinds run periodically. Generic over the
//! handlers' context `C` (the app's `AppState`), so `jobs` names no service: the app's own
//! registry is assembled in `startup::app_registry`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::{Job, JobError};

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
pub(crate) type Handler<C> = Arc<dyn Fn(C, Job) -> HandlerFuture + Send + Sync>;

pub struct Registry<C> {
    handlers: HashMap<String, Handler<C>>,
    periodic: Vec<(String, Duration)>,
    while_suspended: HashSet<String>,
}

impl<C> Clone for Registry<C> {
    fn clone(&self) -> Self {
        Self {
            handlers: self.handlers.clone(),
            periodic: self.periodic.clone(),
            while_suspended: self.while_suspended.clone(),
        }
    }
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Self {
            handlers: HashMap::new(),
            periodic: Vec::new(),
            while_suspended: HashSet::new(),
        }
    }
}

impl<C> Registry<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` for every job of `kind`. Workers claim only kinds they can handle, so
    /// during a rolling deploy an old process never takes a kind it does not know.
    pub fn handle<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(C, Job) -> Fut + Send + Sync + 'static,
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

    /// Jobs of `kind` run while their tenant is suspended (they carry out the suspension or
    /// give money back); every other tenant job is skipped and stays pending until resume.
    pub fn run_while_suspended(mut self, kind: &str) -> Self {
        assert!(
            self.handlers.contains_key(kind),
            "register a handler for {kind} before exempting it"
        );
        self.while_suspended.insert(kind.to_string());
        self
    }

    pub(crate) fn runs_while_suspended(&self, kind: &str) -> bool {
        self.while_suspended.contains(kind)
    }

    pub(crate) fn handler(&self, kind: &str) -> Option<&Handler<C>> {
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
