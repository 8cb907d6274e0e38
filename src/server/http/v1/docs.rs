//! `/docs/api`: the API reference, rendered by the app itself (no CDN, no script) from the
//! same OpenAPI document `/v1/openapi.json` serves, so the page cannot drift from the code.

use serde_json::Value;
use std::fmt::Write;

use super::PROBLEM_TYPES;
use crate::domain::escape_html as esc;
use crate::server::state::AppState;

/// A schema's name from `#/components/schemas/Name`, or its type in words.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!(
            "<a class=\"text-emerald-800 underline\" href=\"#schema-{0}\">{0}</a>",
            esc(name)
        );
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!(
                "array of {}",
                schema.get("items").map(type_of).unwrap_or_default()
            )
        }
        Some(Value::String(t)) => esc(t),
        Some(Value::Array(ts)) => esc(&ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or ")),
        _ => schema
            .get("oneOf")
            .and_then(Value::as_array)
            .map(|v| v.iter().map(type_of).collect::<Vec<_>>().join(" or "))
            .unwrap_or_else(|| "object".into()),
    }
}

fn text(v: Option<&Value>) -> String {
    esc(v.and_then(Value::as_str).unwrap_or(""))
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let anchor = format!("{method}-{path}").replace(['/', '{', '}'], "-");
    let _ = write!(
        out,
        "<section id=\"{}\" class=\"space-y-2 rounded-lg border border-stone-200 bg-white p-4\" data-testid=\"endpoint\">\
         <h3 class=\"font-mono text-sm font-semibold\"><span class=\"mr-2 rounded bg-stone-800 px-1.5 py-0.5 text-white\">{}</span>{}</h3>",
        esc(&anchor),
        method.to_uppercase(),
        esc(path)
    );
    let summary = text(op.get("summary"));
    let description = text(op.get("description"));
    if !summary.is_empty() {
        let _ = write!(out, "<p>{summary}</p>");
    }
    if !description.is_empty() && description != summary {
        let _ = write!(out, "<p class=\"text-sm text-stone-700\">{description}</p>");
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array)
        && !params.is_empty()
    {
        out.push_str("<table class=\"w-full text-left text-sm\"><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>About</th></tr></thead><tbody>");
        for p in params {
            let _ = write!(
                out,
                "<tr><td class=\"font-mono\">{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(p.get("name")),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    " *"
                } else {
                    ""
                },
                text(p.get("in")),
                p.get("schema").map(type_of).unwrap_or_default(),
                text(p.get("description")),
            );
        }
        out.push_str("</tbody></table>");
    }
    if let Some(body) = op.pointer("/requestBody/content/application~1json/schema") {
        let _ = write!(
            out,
            "<p class=\"text-sm\">Body (JSON): {}</p>",
            type_of(body)
        );
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<ul class=\"text-sm\">");
        for (status, r) in responses {
            let schema = r
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|m| m.get("schema"))
                .map(type_of)
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li><span class=\"font-mono\">{}</span> {} {}</li>",
                esc(status),
                schema,
                text(r.get("description"))
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

fn schema_section(out: &mut String, name: &str, s: &Value) {
    let _ = write!(
        out,
        "<section id=\"schema-{0}\" class=\"space-y-1\" data-testid=\"schema\"><h3 class=\"font-mono font-semibold\">{0}</h3>",
        esc(name)
    );
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        out.push_str("<table class=\"w-full text-left text-sm\"><tbody>");
        for (field, p) in props {
            let _ = write!(
                out,
                "<tr><td class=\"font-mono\">{}{}</td><td>{}</td><td>{}</td></tr>",
                esc(field),
                if required.contains(&field.as_str()) {
                    ""
                } else {
                    "?"
                },
                type_of(p),
                text(p.get("description"))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

/// The whole page.
pub fn render(state: &AppState, doc: &str) -> String {
    let spec: Value = serde_json::from_str(doc).unwrap_or(Value::Null);
    let base = state.settings.server.public_url.trim_end_matches('/');
    let css = format!(
        "/{}/{}.css",
        state.settings.server.site_pkg_dir, state.settings.server.output_name
    );
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1 class=\"text-3xl font-bold\">InboxGrove API <span class=\"text-base font-normal text-stone-500\">v{}</span></h1>\
         <p>{}</p>\
         <p class=\"text-sm\">The machine-readable contract: <a class=\"text-emerald-800 underline\" href=\"/v1/openapi.json\">/v1/openapi.json</a> (OpenAPI {}).</p>",
        text(spec.pointer("/info/version")),
        text(spec.pointer("/info/description")),
        text(spec.get("openapi")),
    );
    let _ = write!(
        body,
        "<section class=\"space-y-2\"><h2 class=\"text-xl font-semibold\">Start</h2>\
         <p>Make a key on <a class=\"text-emerald-800 underline\" href=\"/settings/api\">Settings → API</a> with the scopes it needs \
         (<code>read</code>, <code>domains:write</code>, <code>inboxes:write</code>, <code>credentials:read</code>). It is shown once. \
         A key acts for one workspace and never beyond its creator's current role.</p>\
         <pre class=\"overflow-x-auto rounded bg-stone-900 p-3 text-sm text-stone-100\">export IG_KEY=igk_…\n\
curl -s {base}/v1/domains -H \"Authorization: Bearer $IG_KEY\"\n\
curl -s {base}/v1/inboxes -H \"Authorization: Bearer $IG_KEY\" -H \"Idempotency-Key: batch-1\" \\\n  \
-H 'content-type: application/json' -d '{{\"domains\":[\"DOMAIN_ID\"],\"per_domain\":5,\"convention\":\"first.last\"}}'\n\
curl -s '{base}/v1/inboxes/export?format=instantly' -H \"Authorization: Bearer $IG_KEY\" -o inboxes.csv</pre>\
         <p>Lists take <code>limit</code> (1–200) and <code>cursor</code> (the previous page's <code>next_cursor</code>). \
         Every call counts against the plan's API calls this month: responses carry <code>RateLimit-Limit</code>, \
         <code>RateLimit-Remaining</code> and <code>RateLimit-Reset</code> (seconds until the 1st, UTC).</p></section>"
    );
    body.push_str(
        "<section class=\"space-y-3\"><h2 class=\"text-xl font-semibold\">Endpoints</h2>",
    );
    if let Some(paths) = spec.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in ["get", "post", "patch", "put", "delete"] {
                if let Some(op) = item.get(method) {
                    operation(&mut body, method, path, op);
                }
            }
        }
    }
    body.push_str("</section>");
    body.push_str(
        "<section class=\"space-y-2\"><h2 class=\"text-xl font-semibold\">Errors</h2>\
         <p>Errors are RFC 9457 problem details (<code>application/problem+json</code>): \
         <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code>, and \
         <code>errors</code> (each field's message) where fields were wrong.</p>\
         <table class=\"w-full text-left text-sm\" data-testid=\"problems\"><tbody>",
    );
    for (slug, status, about) in PROBLEM_TYPES {
        let _ = write!(
            body,
            "<tr id=\"problem-{slug}\"><td class=\"font-mono\">{}{slug}</td><td>{status}</td><td>{}</td></tr>",
            super::PROBLEMS,
            esc(about)
        );
    }
    body.push_str("</tbody></table></section>");
    body.push_str(
        "<section class=\"space-y-2\"><h2 class=\"text-xl font-semibold\">Webhooks</h2>\
         <p>Register endpoints on Settings → API. Each delivery is a POST of \
         <code>{\"type\", \"timestamp\", \"data\"}</code> signed per the Standard Webhooks spec: headers \
         <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code> \
         (<code>v1,</code> + base64 HMAC-SHA256 of <code>id.timestamp.body</code> under the endpoint's \
         <code>whsec_</code> secret). Any 2xx is success; anything else is retried with exponential backoff \
         for about three days, and an endpoint failing that long is disabled and its owner mailed.</p></section>",
    );
    body.push_str("<section class=\"space-y-3\"><h2 class=\"text-xl font-semibold\">Schemas</h2>");
    if let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            schema_section(&mut body, name, s);
        }
    }
    body.push_str("</section>");
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>API reference · InboxGrove</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body class=\"bg-stone-50 text-stone-900\"><main class=\"mx-auto max-w-4xl space-y-8 px-4 py-10\">\
         <p><a class=\"text-emerald-800 underline\" href=\"/\">InboxGrove</a></p>{body}</main></body></html>"
    )
}
