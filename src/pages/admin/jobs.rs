//! Staff: background jobs by status, retry (`/admin/jobs`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{StaffPage, loaded};
use crate::api::admin::{RetryJob, admin_jobs};
use crate::components::{Alert, error_of};
use crate::domain::admin::{JOB_STATUSES, JobsView};

/// Staff: background jobs by status; retry a failed one.
#[component]
pub fn AdminJobs() -> impl IntoView {
    let query = use_query_map();
    let retry = ServerAction::<RetryJob>::new();
    let data = Resource::new(
        move || {
            (
                query.read().get("status").unwrap_or_default(),
                retry.version().get(),
            )
        },
        |(status, _)| admin_jobs(status),
    );
    view! {
        <StaffPage subtitle="Jobs">
            <h1 class="text-2xl font-bold">"Jobs"</h1>
            <Alert message=error_of(retry) />
            {loaded(data, move |view| view! { <JobsBody view retry /> })}
        </StaffPage>
    }
}

#[component]
fn JobsBody(view: JobsView, retry: ServerAction<RetryJob>) -> impl IntoView {
    let failed_view = view.status == "failed";
    let counts = view.counts.clone();
    let tabs = JOB_STATUSES
        .iter()
        .map(|s| {
            let n = counts
                .iter()
                .find(|(status, _)| status == s)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let class = if *s == view.status {
                "font-semibold text-stone-900"
            } else {
                "text-emerald-800 underline"
            };
            view! { <a class=class href=format!("/admin/jobs?status={s}") data-testid=format!("jobs-{s}")>{format!("{s} ({n})")}</a> }
        })
        .collect_view();
    view! {
        <nav class="flex gap-4 text-sm">{tabs}</nav>
        <div class="overflow-x-auto">
            <table class="w-full text-left text-sm" data-testid="jobs-table">
                <thead class="text-stone-500"><tr>
                    <th class="py-1 pr-3">"Kind"</th><th class="py-1 pr-3">"Attempts"</th><th class="py-1 pr-3">"Runs at"</th>
                    <th class="py-1 pr-3">"Updated"</th><th class="py-1 pr-3">"Last error"</th><th class="py-1"></th>
                </tr></thead>
                <tbody>
                    {view.jobs.into_iter().map(|j| view! {
                        <tr class="border-t border-stone-200 align-top" data-testid="job-row">
                            <td class="py-1 pr-3">{j.kind}{j.tenant.map(|t| view! { " · " <a class="text-emerald-800 underline" href=format!("/admin/tenants/{t}")>"tenant"</a> })}</td>
                            <td class="py-1 pr-3">{j.attempts}</td>
                            <td class="py-1 pr-3 whitespace-nowrap">{j.run_at}</td>
                            <td class="py-1 pr-3 whitespace-nowrap">{j.updated}</td>
                            <td class="py-1 pr-3 break-all text-stone-600">{j.last_error}</td>
                            <td class="py-1">{failed_view.then(|| view! {
                                <ActionForm action=retry>
                                    <input type="hidden" name="id" value=j.id.clone() />
                                    <button type="submit" class="rounded border border-stone-300 px-2 py-1 text-xs hover:bg-stone-100" data-testid="job-retry">"Retry"</button>
                                </ActionForm>
                            })}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
