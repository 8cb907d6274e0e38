//! A small line chart drawn as SVG on the server, so it shows without JavaScript. Each chart
//! is a `<figure>` with a caption, an SVG with `role="img"`, a `<title>` and a `<desc>` that
//! sums it up in words, a legend, and the figures as a table for screen readers and for
//! anyone who wants the numbers.
//!
//! Written here rather than taken from a charting crate: the charts are a few polylines, and
//! plotters or charming would add a large dependency tree to both halves (and to every CI
//! build) for what is ~150 lines of string formatting, tested below.

use leptos::prelude::*;

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: &'static str,
    /// A CSS colour (an SVG presentation attribute, which the page's CSP allows).
    pub color: &'static str,
    /// The legend's Tailwind background class of the same colour (inline styles are refused
    /// by the page's CSP).
    pub swatch: &'static str,
    pub values: Vec<f64>,
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

use crate::domain::escape_html as escape;

/// The top of the y axis: the maximum rounded up to 1, 2 or 5 times a power of ten.
pub fn nice_max(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * p)
}

fn label(v: f64, percent: bool) -> String {
    if percent {
        format!("{:.1}%", v * 100.0)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{}", v.round() as i64)
    }
}

/// The SVG markup of a chart (`id` makes its title and description referable).
pub fn svg(
    id: &str,
    title: &str,
    summary: &str,
    labels: &[String],
    series: &[Series],
    percent: bool,
) -> String {
    let n = labels.len().max(1);
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (1.0 - (v / max).clamp(0.0, 1.0));
    let id = escape(id);
    let mut out = format!(
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         class=\"h-auto w-full\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(summary)
    );
    // Grid lines and y labels at 0, half and the top.
    for frac in [0.0, 0.5, 1.0] {
        let v = max * frac;
        let yy = y(v);
        out.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e7e5e4\" />\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#57534e\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            escape(&label(v, percent))
        ));
    }
    // x labels: the first, middle and last day.
    let mut shown = vec![0, n / 2, n - 1];
    shown.dedup();
    for i in shown {
        if let Some(l) = labels.get(i) {
            let anchor = if i == 0 {
                "start"
            } else if i == n - 1 {
                "end"
            } else {
                "middle"
            };
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#57534e\">{}</text>",
                x(i),
                H - 8.0,
                escape(l)
            ));
        }
    }
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        out.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"{}\"><title>{}</title></polyline>",
            escape(s.color),
            points.join(" "),
            escape(s.name)
        ));
        if n == 1
            && let Some(v) = s.values.first()
        {
            out.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\" />",
                x(0),
                y(*v),
                escape(s.color)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// A chart with its caption, legend and data table.
#[component]
pub fn LineChart(
    /// Unique on the page.
    id: &'static str,
    title: String,
    /// The chart in words (its `<desc>`), e.g. the totals and the peak.
    summary: String,
    labels: Vec<String>,
    series: Vec<Series>,
    #[prop(optional)] percent: bool,
) -> AnyView {
    let markup = svg(id, &title, &summary, &labels, &series, percent);
    figure(id, title, summary, markup, "Day", &labels, &series, percent)
}

/// The caption, the SVG, its legend and the figures as a table (`first` heads the table's
/// first column, one row per label), shared by the line and bar charts.
#[allow(clippy::too_many_arguments)]
fn figure(
    id: &'static str,
    title: String,
    summary: String,
    markup: String,
    first: &'static str,
    labels: &[String],
    series: &[Series],
    percent: bool,
) -> AnyView {
    let legend = series
        .iter()
        .map(|s| {
            view! {
                <li class="flex items-center gap-1.5">
                    <span class=format!("inline-block h-2.5 w-4 rounded {}", s.swatch) aria-hidden="true"></span>
                    {s.name}
                </li>
            }
        })
        .collect_view();
    let heads = series
        .iter()
        .map(|s| view! { <th scope="col" class="px-2 py-1 text-right font-medium">{s.name}</th> })
        .collect_view();
    let rows = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let cells = series
                .iter()
                .map(|s| {
                    let v = s.values.get(i).copied().unwrap_or_default();
                    view! { <td class="px-2 py-1 text-right tabular-nums">{label(v, percent)}</td> }
                })
                .collect_view();
            view! { <tr class="border-t border-stone-100"><th scope="row" class="px-2 py-1 text-left font-normal">{l.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <figure class="min-w-0 rounded-lg border border-stone-200 bg-white p-3" data-testid=format!("chart-{id}")>
            <figcaption class="font-semibold">{title}</figcaption>
            <p class="text-sm text-stone-600">{summary}</p>
            <div class="mt-2" inner_html=markup></div>
            <ul class="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-stone-700" aria-label="Legend">{legend}</ul>
            <details class="mt-2 text-sm">
                <summary class="cursor-pointer text-emerald-800 underline">"Show the figures as a table"</summary>
                <div class="mt-2 max-h-72 overflow-auto">
                    <table class="w-full text-xs" data-testid=format!("table-{id}")>
                        <thead><tr><th scope="col" class="px-2 py-1 text-left font-medium">{first}</th>{heads}</tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
    .into_any()
}

const BAR: f64 = 14.0;
const BAR_GAP: f64 = 2.0;
const GROUP_GAP: f64 = 12.0;
const BAR_LEFT: f64 = 150.0;
const BAR_RIGHT: f64 = 56.0;

/// The SVG markup of a horizontal bar chart: a group of bars per category (one per series),
/// each with its value at its end.
pub fn bars_svg(
    id: &str,
    title: &str,
    summary: &str,
    categories: &[String],
    series: &[Series],
) -> String {
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let group = series.len() as f64 * (BAR + BAR_GAP) - BAR_GAP + GROUP_GAP;
    let h = TOP + group * categories.len().max(1) as f64;
    let plot_w = W - BAR_LEFT - BAR_RIGHT;
    let id = escape(id);
    let mut out = format!(
        "<svg viewBox=\"0 0 {W} {h:.0}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         class=\"h-auto w-full\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>\
         <line x1=\"{BAR_LEFT}\" x2=\"{BAR_LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"#a8a29e\" />",
        escape(title),
        escape(summary),
        h - GROUP_GAP / 2.0
    );
    for (i, category) in categories.iter().enumerate() {
        let top = TOP + group * i as f64;
        let middle = top + (group - GROUP_GAP) / 2.0;
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#292524\">{}</text>",
            BAR_LEFT - 8.0,
            middle + 4.0,
            escape(category)
        ));
        for (j, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or_default();
            let y = top + j as f64 * (BAR + BAR_GAP);
            let w = plot_w * (v / max).clamp(0.0, 1.0);
            out.push_str(&format!(
                "<rect x=\"{BAR_LEFT}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{}\"><title>{}: {}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#57534e\">{}</text>",
                escape(s.color),
                escape(s.name),
                escape(&label(v, false)),
                BAR_LEFT + w + 4.0,
                y + BAR - 3.0,
                escape(&label(v, false))
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// A bar chart with its caption, legend and data table (`category` heads the table's first
/// column).
#[component]
pub fn BarChart(
    /// Unique on the page.
    id: &'static str,
    title: String,
    /// The chart in words (its `<desc>`).
    summary: String,
    category: &'static str,
    categories: Vec<String>,
    series: Vec<Series>,
) -> AnyView {
    let markup = bars_svg(id, &title, &summary, &categories, &series);
    figure(
        id,
        title,
        summary,
        markup,
        category,
        &categories,
        &series,
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_top_is_a_round_number_at_or_above_the_maximum() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12.0), 20.0);
        assert_eq!(nice_max(450.0), 500.0);
        assert_eq!(nice_max(0.03), 0.05);
    }

    #[test]
    fn bars_are_as_long_as_their_values_against_a_round_top_and_name_their_category() {
        let s = bars_svg(
            "plans",
            "Subscriptions by plan",
            "3 paying",
            &["Starter <S>".into(), "Growth".into()],
            &[Series {
                name: "Paying",
                color: "#047857",
                swatch: "bg-emerald-700",
                values: vec![2.0, 1.0],
            }],
        );
        assert!(s.contains("role=\"img\""));
        assert!(s.contains(">Starter &lt;S&gt;</text>"), "{s}");
        // A top of 2: the first bar spans the plot, the second half of it.
        let plot = W - BAR_LEFT - BAR_RIGHT;
        assert!(s.contains(&format!("width=\"{plot:.1}\"")), "{s}");
        assert!(s.contains(&format!("width=\"{:.1}\"", plot / 2.0)), "{s}");
        assert!(s.contains("<title>Paying: 1</title>"), "{s}");
    }

    #[test]
    fn a_chart_names_itself_and_escapes_what_it_is_given() {
        let s = svg(
            "sent",
            "Sent <by> day",
            "12 & more",
            &["2026-01-01".into(), "2026-01-02".into()],
            &[Series {
                name: "Sent",
                color: "#047857",
                swatch: "bg-emerald-700",
                values: vec![3.0, 9.0],
            }],
            false,
        );
        assert!(s.contains("role=\"img\""));
        assert!(s.contains("<title id=\"sent-title\">Sent &lt;by&gt; day</title>"));
        assert!(s.contains("<desc id=\"sent-desc\">12 &amp; more</desc>"));
        assert!(!s.contains("<by>"));
        // Two points: the first at the left edge, the last at the right; 9 under a top of 10.
        assert!(s.contains("points=\"48.0,"), "{s}");
        assert!(s.contains(&format!("{:.1},", W - RIGHT)), "{s}");
    }
}
