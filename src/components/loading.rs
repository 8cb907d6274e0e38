//! The one way a page waits for its data: a line saying what is loading, then the body of the
//! loaded value; a visitor the server calls `Unauthorized` goes to the login page (back here
//! after), any other error is shown as an alert.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::components::actions::url_encode;
use crate::error::AppError;

/// How the loader looks while it waits and when it fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadStyle {
    /// Inside a page's `<main>`: no padding of its own.
    #[default]
    Inline,
    /// The whole page (its header comes with the body): padded.
    Page,
}

impl LoadStyle {
    fn loading_class(self) -> &'static str {
        match self {
            LoadStyle::Inline => "text-stone-500",
            LoadStyle::Page => "p-8 text-stone-500",
        }
    }
    fn error_class(self) -> &'static str {
        match self {
            LoadStyle::Inline => "text-red-700",
            LoadStyle::Page => "p-8 text-red-700",
        }
    }
}

/// `/inboxes/new` → `/login?next=%2Finboxes%2Fnew`.
pub fn login_path(next: &str) -> String {
    format!("/login?next={}", url_encode(next))
}

/// Loads `data` and shows `body` of it. `login`: the page a visitor returns to after signing
/// in (without it, `Unauthorized` is shown like any error). `keep_while_reloading`: a
/// `<Transition>` (the old body stays while the data reloads) rather than a `<Suspense>`.
/// `not_found`: what to show when the server answers `NotFound` (default: the error line).
#[component]
pub fn PageLoader<T, V, F>(
    data: Resource<Result<T, AppError>>,
    body: F,
    #[prop(optional)] login: Option<&'static str>,
    #[prop(default = "Loading…")] loading: &'static str,
    #[prop(optional)] style: LoadStyle,
    #[prop(optional)] keep_while_reloading: bool,
    #[prop(optional, into)] not_found: Option<ViewFn>,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    let loaded = move || {
        let body = body.clone();
        let not_found = not_found.clone();
        Suspend::new(async move {
            match data.await {
                Ok(value) => body(value).into_any(),
                Err(AppError::Unauthorized) if login.is_some() => {
                    let path = login_path(login.unwrap_or_default());
                    view! { <Redirect path /> }.into_any()
                }
                Err(AppError::NotFound) if not_found.is_some() => {
                    not_found.map(|v| v.run()).into_any()
                }
                Err(e) => view! {
                    <p role="alert" class=style.error_class()>{e.to_string()}</p>
                }
                .into_any(),
            }
        })
    };
    let fallback = move || view! { <p class=style.loading_class()>{loading}</p> };
    if keep_while_reloading {
        view! { <Transition fallback>{loaded}</Transition> }.into_any()
    } else {
        view! { <Suspense fallback>{loaded}</Suspense> }.into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::login_path;

    #[test]
    fn the_login_path_carries_the_page_encoded() {
        assert_eq!(login_path("/inboxes/new"), "/login?next=%2Finboxes%2Fnew");
        assert_eq!(login_path("/dashboard"), "/login?next=%2Fdashboard");
    }
}
