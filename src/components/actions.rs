//! Helpers for server actions: their error as a message, and leaving the app for an external
//! page (Stripe Checkout, the portal) with a full page load.

use leptos::prelude::*;

use crate::error::AppError;

/// The action's last error, as the message to show.
pub fn error_of<T>(action: ServerAction<T>) -> Signal<Option<String>>
where
    T: server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    T::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || match action.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    })
}

/// A full page load of `url` (the client router would treat a same-origin URL as an in-app
/// route, which the sandbox's Checkout page is not).
#[cfg(feature = "hydrate")]
pub fn go_to(url: &str) {
    if let Err(e) = window().location().set_href(url) {
        leptos::logging::error!("could not open {url}: {e:?}");
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn go_to(_url: &str) {}

/// Puts `text` on the clipboard (browser only).
#[cfg(feature = "hydrate")]
pub fn copy_text(text: &str) {
    let _ = window().navigator().clipboard().write_text(text);
}

#[cfg(not(feature = "hydrate"))]
pub fn copy_text(_text: &str) {}

/// Percent-encodes a query value (enough for names, emails and paths in a link).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
