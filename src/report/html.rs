//! The HTML report: one self-contained page (inline CSS and JS, no network) with the
//! headline numbers, charts of coverage by kind and by aspect, a sortable and filterable
//! object table whose rows expand to their assertions, and the plan mismatches and
//! problems the scan found. With a universe (`report.schema`) it opens with the schema
//! coverage: the percentage (and what counts as tested), a bar per kind, the stale tests
//! and a filterable gap list; with behavioural references, the behaviour line and the RLS
//! matrix (roles × commands per table with row level security, each cell linking to the
//! list of the lines behind it further down the page).
//!
//! Owns: the page's static parts (rendered here, HTML-escaped) and the data the table and
//! the gap list are drawn from, embedded once as JSON in `<script type="application/json">`
//! (see [`script_json`] for why nothing in it can close that element). The script draws
//! them with `textContent` only, never `innerHTML`, so names are never parsed as markup.
//!
//! The page is deterministic: no timestamps, no timings, objects in the database's order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::{json, Value};

use crate::behaviour::db::USE_LOCATIONS;
use crate::behaviour::resolve::{
    Behaviour, Cell, CellState, RlsTable, BYPASS_ROLES, MATRIX_COMMANDS,
};
use crate::object::{Aspect, ObjectKind};
use crate::scan::report::{
    ObjectCoverage, Ratio, Role, ScanReport, SchemaCoverage, Severity, UniverseSource,
};

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");
/// Installed first, so an error anywhere in the page is recorded on `<html>`
/// (`data-js-errors`): the headless-browser test reads it from the rendered DOM.
const ERROR_HOOK: &str = "window.addEventListener(\"error\",function(e){var r=document.\
documentElement;r.setAttribute(\"data-js-errors\",String(Number(r.getAttribute(\"data-js-\
errors\")||0)+1));r.setAttribute(\"data-js-error\",String(e.message||e.type))});";

/// Problems listed on the page; the rest are counted.
const MAX_PROBLEMS: usize = 500;
/// Files without assertions listed on the page.
const MAX_EMPTY_FILES: usize = 200;
/// Stale tests listed on the page, and locations listed per stale test.
const MAX_STALE: usize = 200;
const MAX_STALE_LOCATIONS: usize = 8;
/// Assertion functions shown as bars.
const TOP_FUNCTIONS: usize = 15;

/// The page; with `history` (`--history`: the file's entries and this run's), a trend
/// chart of the schema coverage.
pub fn render(
    report: &ScanReport,
    history: Option<&[crate::history::Entry]>,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    page_into(report, history, &mut page);
    w.write_all(page.as_bytes())
}

fn page_into(r: &ScanReport, history: Option<&[crate::history::Entry]>, out: &mut String) {
    let s = &r.summary;
    let st = &r.coverage.statistics;
    let h = |s: &str| esc(s).into_owned();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing may be fetched: the page works offline and leaks nothing when opened.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    let _ = writeln!(
        out,
        "<meta name=\"generator\" content=\"pgtap-scan {}\">",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("<title>pgTAP coverage report</title>\n");
    let _ = writeln!(out, "<script>{ERROR_HOOK}</script>");
    // The trend chart's rules come with the chart, so a page without one is unchanged.
    let trend_style = if history.is_some() { TREND_STYLE } else { "" };
    let _ = writeln!(
        out,
        "<style>\n{STYLE}{trend_style}</style>\n</head>\n<body>"
    );

    // Header.
    out.push_str("<header class=\"top\">\n<div class=\"wrap\">\n");
    out.push_str("<h1>pgTAP coverage report</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"sub\">{} files &middot; {} assertions &middot; {} objects{} &middot; <time>{}</time></p>",
        num(s.files),
        num(s.assertions),
        num(st.objects),
        if r.stats.mode == "streaming" {
            " &middot; per-file detail not kept (a large suite)"
        } else {
            ""
        },
        h(&utc_date(report_time()))
    );
    out.push_str("<nav aria-label=\"Sections\">");
    if r.schema.is_some() {
        out.push_str("<a href=\"#schema\">Schema</a>");
    }
    let rls = r
        .schema
        .as_ref()
        .and_then(|s| s.behaviour.as_ref())
        .filter(|b| !b.rls.is_empty());
    if history.is_some() {
        out.push_str("<a href=\"#trend\">Trend</a>");
    }
    if rls.is_some() {
        out.push_str("<a href=\"#rls\">Row level security</a>");
    }
    if !r.projects.is_empty() {
        out.push_str("<a href=\"#projects\">Projects</a>");
    }
    out.push_str("<a href=\"#overview\">Overview</a><a href=\"#charts\">Coverage</a><a href=\"#objects\">Objects</a><a href=\"#problems\">Plans &amp; problems</a></nav>\n");
    out.push_str("</div>\n</header>\n<main class=\"wrap\">\n");

    if let Some(schema) = &r.schema {
        schema_section(schema, out);
    }
    if let Some(entries) = history {
        trend_section(entries, out);
    }
    if let Some(b) = rls {
        rls_section(b, out);
    }
    if !r.projects.is_empty() {
        projects_section(r, out);
    }
    headline(r, out);
    charts(r, out);
    objects_section(r, out);
    problems(r, out);

    out.push_str("</main>\n<footer class=\"wrap\">");
    let _ = write!(
        out,
        "Generated by pgtap-scan {} from a static reading of the test files; nothing was run.",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("</footer>\n");

    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"pgtap-data\">{}</script>",
        script_json(&page_data(r))
    );
    let _ = writeln!(out, "<script>\n{SCRIPT}</script>\n</body>\n</html>");
}

/// A monorepo's projects: a row each (files, coverage, gates, coverage per kind) and the
/// total.
fn projects_section(r: &ScanReport, out: &mut String) {
    out.push_str("<section id=\"projects\" aria-labelledby=\"projects-h\">\n<h2 id=\"projects-h\">Projects</h2>\n");
    out.push_str("<table class=\"projects\"><thead><tr><th>Project</th><th>Tests</th><th class=\"n\">Files</th><th class=\"n\">Assertions</th><th class=\"n\">Tested</th><th class=\"n\">Coverage</th><th>By kind</th><th>Gates</th></tr></thead>\n<tbody>\n");
    for p in &r.projects {
        let (tested, percent, kinds) = match &p.schema {
            Some(s) => {
                let o = &s.coverage.overall;
                let kinds: Vec<String> = s
                    .coverage
                    .by_kind
                    .iter()
                    .map(|(k, v)| format!("{} {:.1}%", k.name(), v.percent))
                    .collect();
                (
                    format!("{} of {}", num(o.tested), num(o.objects)),
                    format!("{:.1}%", o.percent),
                    kinds.join(", "),
                )
            }
            None => (String::new(), "no universe".to_string(), String::new()),
        };
        let gates = if p.gates_failed.is_empty() {
            "<span class=\"ok\">ok</span>".to_string()
        } else {
            format!(
                "<span class=\"bad\">failed</span>: {}",
                esc(&p.gates_failed.join("; "))
            )
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{tested}</td><td class=\"n\">{percent}</td><td>{}</td><td>{gates}</td></tr>",
            esc(&p.name),
            esc(&p.roots.join(", ")),
            num(p.files),
            num(p.assertions),
            esc(&kinds),
        );
    }
    if let Some(s) = &r.schema {
        let o = &s.coverage.overall;
        let _ = writeln!(
            out,
            "<tr class=\"total\"><th scope=\"row\">Total</th><td>{} outside every project</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} of {}</td><td class=\"n\">{:.1}%</td><td></td><td></td></tr>",
            counted(r.files_outside_projects.unwrap_or(0), "file", "files"),
            num(r.projects.iter().map(|p| p.files).sum()),
            num(r.projects.iter().map(|p| p.assertions).sum()),
            num(o.tested),
            num(o.objects),
            o.percent
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// Schema coverage, when the scan had a universe (`--schema`, `--database-url`): the
/// headline percentage, coverage per kind, the stale tests, and the gaps (drawn by the
/// script from the embedded data, filterable).
fn schema_section(s: &SchemaCoverage, out: &mut String) {
    let o = &s.coverage.overall;
    let source = match s.universe_source {
        UniverseSource::Migrations => "migrations",
        UniverseSource::Database => "database",
    };
    out.push_str("<section id=\"schema\" aria-labelledby=\"schema-h\">\n<h2 id=\"schema-h\">Schema coverage</h2>\n<div class=\"cards schema-cards\">\n");
    let _ = writeln!(
        out,
        "<div class=\"card wide hero\"><div class=\"card-label\">Schema coverage</div>\
         <div class=\"card-value\" id=\"schema-percent\">{:.1}%</div>{}\
         <div class=\"split\" role=\"img\" aria-label=\"{:.1}% of the schema&#39;s objects tested\">\
         <span class=\"seg-tested\" style=\"width:{}\"></span><span class=\"seg-untested\" style=\"width:{}\"></span></div>\
         <div class=\"card-note\">{} of {} objects tested &middot; universe from {}</div></div>",
        o.percent,
        // What counts as tested, next to the percentage (with behavioural references).
        s.coverage_mode.map_or(String::new(), |m| format!(
            "<span class=\"card-mode\" id=\"schema-mode\">{}</span>",
            esc(super::mode_phrase(m))
        )),
        o.percent,
        width(o.tested, o.objects),
        width(o.objects - o.tested.min(o.objects), o.objects),
        num(o.tested),
        num(o.objects),
        source,
    );
    let gaps = s.gaps.len() as u64;
    card(
        out,
        "Gaps",
        &format!("<span id=\"gap-total\">{}</span>", num(gaps)),
        &format!(
            "untested {} &middot; <a href=\"#gaps\">listed below</a>",
            if gaps == 1 { "object" } else { "objects" }
        ),
        if gaps == 0 { "ok" } else { "" },
    );
    let stale = s.stale.len() as u64;
    let only_absent = s.stale.iter().filter(|x| x.only_absent).count() as u64;
    card(
        out,
        "Stale tests",
        &num(stale),
        &if stale == 0 {
            "every asserted object exists".to_string()
        } else {
            format!(
                "{} only through hasnt_* &middot; <a href=\"#stale\">listed below</a>",
                num(only_absent)
            )
        },
        if stale == 0 { "ok" } else { "warn" },
    );
    card(
        out,
        "Ambiguous calls",
        &format!(
            "{} <span class=\"slash\">/</span> {}",
            num(s.ambiguous_decided),
            num(s.ambiguous_decided + s.ambiguous_undecided)
        ),
        "decided by the schema (one reading exists)",
        "",
    );
    out.push_str("</div>\n");
    if let Some(b) = &s.behaviour {
        let _ = writeln!(
            out,
            "<p class=\"behaviour\" id=\"behaviour\"><strong>Behaviour:</strong> {}.{}</p>",
            esc(&super::behaviour_line(b)),
            if b.rls.is_empty() {
                String::new()
            } else {
                format!(
                    " <a href=\"#rls\">Row level security</a>: {}.",
                    esc(&super::rls_line(&b.rls))
                )
            }
        );
    }
    out.push_str("<div class=\"chart-grid\">\n");

    // Coverage per kind: the share of the kind's objects tested, most objects first.
    let mut assertions: HashMap<&str, u64> = HashMap::new();
    for e in &s.objects {
        *assertions.entry(e.kind.name()).or_default() += e.assertions;
    }
    let mut kinds: Vec<(&ObjectKind, &Ratio)> = s.coverage.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.objects.cmp(&a.1.objects).then(a.0.cmp(b.0)));
    out.push_str("<figure class=\"chart\" aria-labelledby=\"schema-kinds-h\">\n<figcaption id=\"schema-kinds-h\"><h3>Schema coverage by kind</h3>\
        <ul class=\"legend\"><li><span class=\"sw seg-tested\"></span>tested</li><li><span class=\"sw seg-untested\"></span>untested</li></ul></figcaption>\n");
    if kinds.is_empty() {
        out.push_str("<p class=\"empty\">The universe holds no objects.</p>\n");
    }
    out.push_str("<table class=\"bars\" id=\"schema-kinds\">\n<thead class=\"sr-only\"><tr><th scope=\"col\">Kind</th><th scope=\"col\">Chart</th><th scope=\"col\">Tested of objects</th></tr></thead>\n<tbody>\n");
    for (kind, k) in &kinds {
        let untested = k.objects - k.tested.min(k.objects);
        let _ = writeln!(
            out,
            "<tr data-kind=\"{}\"><th scope=\"row\">{}</th><td class=\"bar-cell\"><div class=\"bar\" role=\"img\" aria-label=\"{} of {} tested\">{}{}</div></td>\
             <td class=\"num\"><strong class=\"{}\">{:.1}%</strong> <span class=\"muted\">{}/{} &middot; {}</span></td></tr>",
            esc(kind.name()),
            esc(&kind.name().replace('_', " ")),
            k.tested,
            k.objects,
            segment("seg-tested", k.tested, k.objects),
            segment("seg-untested", untested, k.objects),
            if untested == 0 { "full" } else { "partial" },
            k.percent,
            num(k.tested),
            num(k.objects),
            counted(
                assertions.get(kind.name()).copied().unwrap_or(0),
                "assertion",
                "assertions"
            ),
        );
    }
    out.push_str("</tbody>\n</table>\n</figure>\n");

    // Stale tests: asserted objects the universe does not hold.
    out.push_str("<figure class=\"chart\" id=\"stale\" aria-labelledby=\"stale-h\">\n<figcaption id=\"stale-h\"><h3>Stale tests</h3>\
        <span class=\"muted\">asserted objects the schema does not hold</span></figcaption>\n");
    if s.stale.is_empty() {
        out.push_str(
            "<p class=\"okmsg\">None: every object the suite asserts exists in the schema.</p>\n",
        );
    } else {
        if only_absent > 0 {
            let _ = writeln!(
                out,
                "<p class=\"muted note\">A <code>hasnt_*</code> on an object that is gone passes; \
                 check {} still {} something (a rename makes it pass by accident).</p>",
                if only_absent == 1 { "it" } else { "they" },
                if only_absent == 1 { "means" } else { "mean" },
            );
        }
        out.push_str("<ul class=\"stale\">\n");
        for x in s.stale.iter().take(MAX_STALE) {
            let _ = write!(
                out,
                "<li data-key=\"{0}\"><div class=\"stale-head\"><code class=\"key\">{0}</code> {1}</div><ul class=\"stale-locs\">",
                esc(&x.key),
                if x.only_absent {
                    "<span class=\"pill absent\">only hasnt_*</span>"
                } else {
                    "<span class=\"pill missing\">asserted to exist</span>"
                }
            );
            for l in x.locations.iter().take(MAX_STALE_LOCATIONS) {
                let _ = write!(
                    out,
                    "<li><code>{}:{}:{}</code> <code class=\"fn\">{}</code></li>",
                    esc(&l.file),
                    l.line,
                    l.column,
                    esc(&l.function)
                );
            }
            if x.locations.len() > MAX_STALE_LOCATIONS {
                let _ = write!(
                    out,
                    "<li class=\"muted\">&hellip; and {} more</li>",
                    num((x.locations.len() - MAX_STALE_LOCATIONS) as u64)
                );
            }
            out.push_str("</ul></li>\n");
        }
        out.push_str("</ul>\n");
        if s.stale.len() > MAX_STALE {
            let _ = writeln!(
                out,
                "<p class=\"muted\">&hellip; and {} more (all in <code>--format json</code>).</p>",
                num((s.stale.len() - MAX_STALE) as u64)
            );
        }
    }
    out.push_str("</figure>\n</div>\n");

    // The gaps: drawn by the script from the data, grouped by kind.
    out.push_str("<div id=\"gaps\">\n<h3 id=\"gaps-h\">Gaps: untested objects</h3>\n");
    if s.gaps.is_empty() {
        out.push_str("<p class=\"okmsg\">None: every object of the schema is tested.</p>\n</div>\n</section>\n");
        return;
    }
    out.push_str("<p class=\"muted\">Grouped by kind, most important kinds first, each with where the schema defines it");
    if s.gaps.iter().any(|g| g.only.is_some()) {
        out.push_str(", and what the tests do with it that does not count");
    }
    out.push_str(".</p>\n");
    out.push_str(
        "<form class=\"filters\" id=\"gap-filters\" role=\"search\" aria-labelledby=\"gaps-h\">\n",
    );
    out.push_str("<label>Filter <input type=\"search\" id=\"g-text\" placeholder=\"name, schema, file\" autocomplete=\"off\"></label>\n");
    out.push_str("<label>Kind <select id=\"g-kind\"><option value=\"\">all kinds</option>");
    let mut i = 0;
    while i < s.gaps.len() {
        let kind = &s.gaps[i].kind;
        let n = s.gaps[i..].iter().take_while(|g| &g.kind == kind).count();
        let _ = write!(
            out,
            "<option value=\"{0}\">{0} ({1})</option>",
            esc(kind.name()),
            num(n as u64)
        );
        i += n;
    }
    out.push_str("</select></label>\n");
    out.push_str("<output id=\"g-count\" aria-live=\"polite\"></output>\n</form>\n");
    out.push_str("<div class=\"table-wrap gaps-wrap\">\n<table class=\"objects gaps\" id=\"gaps-table\">\n<caption class=\"sr-only\">Objects of the schema no assertion tests</caption>\n\
        <thead><tr><th scope=\"col\" class=\"plain-head\">Object</th><th scope=\"col\" class=\"plain-head\">Kind</th><th scope=\"col\" class=\"plain-head\">Defined at</th></tr></thead>\n\
        <tbody id=\"gaps-body\"></tbody>\n</table>\n</div>\n");
    out.push_str("<noscript><p class=\"empty\">The gap list needs JavaScript; <code>pgtap-scan gaps</code> prints it.</p></noscript>\n");
    out.push_str("</div>\n</section>\n");
}

/// Tables of the RLS section drawn as matrices, for the tables with a tested cell and for
/// those without one (collapsed); the rest are counted (the JSON report has every cell).
const MAX_RLS_TABLES: usize = 300;

/// The trend chart's CSS (inline SVG drawn with the page's colours).
const TREND_STYLE: &str =
    "svg.trend { width: 100%; max-width: 720px; height: auto; display: block; margin: 8px 0 12px; }
.trend-grid { stroke: var(--border); stroke-width: 1; }
.trend-label { fill: var(--muted); font-size: 11px; }
.trend-line { fill: none; stroke: var(--accent); stroke-width: 2; }
.trend-dot { fill: var(--accent); }
";

/// A commit's first 12 characters, or `none`.
fn short_commit(c: Option<&str>, none: &str) -> String {
    c.map_or_else(|| none.to_string(), |c| c.chars().take(12).collect())
}

/// Runs drawn in the trend chart (the latest ones); the table lists fewer.
const TREND_POINTS: usize = 365;
const TREND_ROWS: usize = 10;

/// `--history`: the overall schema coverage of the runs the history file holds and this
/// one, as an inline SVG line chart (nothing fetched, nothing scripted), and a table of the
/// latest runs. Runs without schema coverage are left out of the chart.
fn trend_section(entries: &[crate::history::Entry], out: &mut String) {
    use crate::history::Entry;
    let with: Vec<&Entry> = entries.iter().filter(|e| e.coverage.is_some()).collect();
    let shown = &with[with.len().saturating_sub(TREND_POINTS)..];
    out.push_str("<section id=\"trend\" aria-labelledby=\"trend-h\">\n<h2 id=\"trend-h\">Coverage over time</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">{} in the history file with schema coverage{}.</p>",
        counted(with.len() as u64, "run", "runs"),
        if shown.len() < with.len() {
            format!(", the latest {} drawn", shown.len())
        } else {
            String::new()
        }
    );
    if shown.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 36.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |i: usize| {
        if shown.len() == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (shown.len() - 1) as f64
        }
    };
    let y = |pct: f64| TOP + plot_h * (1.0 - pct.clamp(0.0, 100.0) / 100.0);
    let pct = |e: &Entry| e.coverage.as_ref().map_or(0.0, |c| c.overall.percent);
    let first = shown[0];
    let last = shown[shown.len() - 1];
    let _ = writeln!(
        out,
        "<svg class=\"trend\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"trend-t\"><title id=\"trend-t\">Overall schema coverage over {}: {:.1}% to {:.1}%</title>",
        counted(shown.len() as u64, "run", "runs"),
        pct(first),
        pct(last)
    );
    for g in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = writeln!(
            out,
            "<line class=\"trend-grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text class=\"trend-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{g}%</text>",
            W - RIGHT,
            y(g),
            y(g),
            LEFT - 6.0,
            y(g) + 4.0
        );
    }
    let points: Vec<String> = shown
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{:.1},{:.1}", x(i), y(pct(e))))
        .collect();
    let _ = writeln!(
        out,
        "<polyline class=\"trend-line\" points=\"{}\"/>",
        points.join(" ")
    );
    for (i, e) in shown.iter().enumerate() {
        let c = e.coverage.as_ref().map(|c| c.overall);
        let _ = writeln!(
            out,
            "<circle class=\"trend-dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{} {}: {:.1}% ({} of {})</title></circle>",
            x(i),
            y(pct(e)),
            esc(&e.time),
            esc(&short_commit(e.commit.as_deref(), "")),
            pct(e),
            num(c.map_or(0, |c| c.tested)),
            num(c.map_or(0, |c| c.objects))
        );
    }
    let date = |e: &Entry| esc(e.time.get(..10).unwrap_or(&e.time)).into_owned();
    let _ = writeln!(
        out,
        "<text class=\"trend-label\" x=\"{LEFT}\" y=\"{:.1}\">{}</text><text class=\"trend-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n</svg>",
        H - 12.0,
        date(first),
        W - RIGHT,
        H - 12.0,
        date(last)
    );
    out.push_str("<table class=\"plain trend-table\"><thead><tr><th>Time (UTC)</th><th>Commit</th><th>Overall</th><th>Change</th></tr></thead><tbody>\n");
    let start = shown.len().saturating_sub(TREND_ROWS);
    for i in (start..shown.len()).rev() {
        let e = shown[i];
        let c = e.coverage.as_ref().map(|c| c.overall);
        let change = match i.checked_sub(1).map(|p| pct(shown[p])) {
            Some(before) => {
                let d = ((pct(e) - before) * 10.0).round() / 10.0;
                if d > 0.0 {
                    format!("+{d:.1}")
                } else if d < 0.0 {
                    format!("{d:.1}")
                } else {
                    "±0.0".to_string()
                }
            }
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{:.1}% ({} of {})</td><td class=\"num\">{}</td></tr>",
            esc(&e.time),
            esc(&short_commit(e.commit.as_deref(), "-")),
            pct(e),
            num(c.map_or(0, |c| c.tested)),
            num(c.map_or(0, |c| c.objects)),
            change
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// The RLS matrix: for each table with row level security, its roles × `select`,
/// `insert`, `update`, `delete`. A cell says its state in words (and colour), lists the
/// policies that apply, and, when tested, links to its entry in the list of the lines
/// behind it under the table (`#rls-T-C`, T the table's and C the cell's index, both in
/// the report's order). Tables with no tested cell are collapsed into one `<details>`.
fn rls_section(b: &Behaviour, out: &mut String) {
    out.push_str("<section id=\"rls\" aria-labelledby=\"rls-h\">\n<h2 id=\"rls-h\">Row level security</h2>\n");
    let _ = writeln!(
        out,
        "<p>{}. For each table with row level security, what the tests expect of each command under each role; \
         a cell lists the policies that apply to it and links to the lines behind it.</p>",
        esc(&super::rls_line(&b.rls))
    );
    out.push_str("<ul class=\"legend rls-legend\" aria-label=\"Cell states\">");
    for (state, what) in [
        (CellState::Untested, "no test"),
        (CellState::Allowed, "expected to succeed"),
        (CellState::Denied, "expected to fail or to see no rows"),
        (CellState::Both, "tests of each"),
    ] {
        let _ = write!(
            out,
            "<li><span class=\"rls-state rls-{0}\">{0}</span> {1}</li>",
            state.name(),
            what
        );
    }
    out.push_str("</ul>\n");
    let tested = |t: &RlsTable| t.cells.iter().any(|c| c.state != CellState::Untested);
    let listed: Vec<(usize, &RlsTable)> = b
        .rls
        .iter()
        .enumerate()
        .filter(|(_, t)| tested(t))
        .collect();
    let untested: Vec<(usize, &RlsTable)> = b
        .rls
        .iter()
        .enumerate()
        .filter(|(_, t)| !tested(t))
        .collect();
    if listed.is_empty() {
        out.push_str(
            "<p class=\"empty\">No command under a role is tested on any of these tables.</p>\n",
        );
    }
    for (i, t) in listed.iter().take(MAX_RLS_TABLES) {
        rls_table(*i, t, out);
    }
    rls_omitted(listed.len(), out);
    if !untested.is_empty() {
        let _ = writeln!(
            out,
            "<details class=\"rls-untested\"><summary>{} with no role &times; command tested</summary>",
            counted(untested.len() as u64, "table", "tables")
        );
        for (i, t) in untested.iter().take(MAX_RLS_TABLES) {
            rls_table(*i, t, out);
        }
        rls_omitted(untested.len(), out);
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

fn rls_omitted(n: usize, out: &mut String) {
    if n > MAX_RLS_TABLES {
        let _ = writeln!(
            out,
            "<p class=\"muted\">&hellip; and {} more (every cell is in <code>--format json</code>).</p>",
            counted((n - MAX_RLS_TABLES) as u64, "table", "tables")
        );
    }
}

/// One table's matrix and, under it, the lines behind each tested cell.
fn rls_table(i: usize, t: &RlsTable, out: &mut String) {
    let _ = writeln!(
        out,
        "<div class=\"rls-table\" id=\"rls-{i}\" data-table=\"{0}\">\n<h3><code>{0}</code> <span class=\"muted\">{1}{2}</span></h3>",
        esc(&t.table),
        counted(t.policies.len() as u64, "policy", "policies"),
        if t.forced {
            " &middot; forced (the owner too)"
        } else {
            ""
        }
    );
    if t.roles.is_empty() {
        out.push_str("<p class=\"muted\">No role has a policy or a test.</p>\n</div>\n");
        return;
    }
    out.push_str("<div class=\"scroll\"><table class=\"rls\">\n");
    let _ = writeln!(
        out,
        "<caption class=\"sr-only\">Row level security of {}: roles &times; commands</caption>",
        esc(&t.table)
    );
    out.push_str("<thead><tr><th scope=\"col\">Role</th>");
    for c in MATRIX_COMMANDS {
        let _ = write!(out, "<th scope=\"col\">{c}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for role in &t.roles {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", esc(role));
        for c in MATRIX_COMMANDS {
            match t.cells.iter().position(|x| &x.role == role && x.command == c) {
                Some(j) => rls_cell(i, j, t, &t.cells[j], out),
                None => out.push_str("<td class=\"rls-cell rls-untested\"><span class=\"rls-state\">untested</span></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");

    // The lines behind the tested cells, each an anchor its cell links to.
    let tested: Vec<(usize, &Cell)> = t
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.state != CellState::Untested)
        .collect();
    if !tested.is_empty() {
        let _ = writeln!(
            out,
            "<ul class=\"rls-locs\" aria-label=\"The lines behind the tested cells of {}\">",
            esc(&t.table)
        );
        for (j, c) in tested {
            let _ = write!(
                out,
                "<li id=\"rls-{i}-{j}\"><div class=\"rls-loc-head\"><span class=\"rls-state rls-{}\">{}</span> \
                 <strong>{}</strong> &times; <strong>{}</strong> <span class=\"muted\">{} &middot; {}</span> \
                 <a class=\"back\" href=\"#rls-{i}\">back to the matrix</a></div><ul>",
                c.state.name(),
                c.state.name(),
                esc(&c.role),
                c.command,
                cell_counts(c),
                esc(&cell_policies(t, c, false)),
            );
            for l in &c.locations {
                let _ = write!(out, "<li><code>{}:{}</code></li>", esc(&l.file), l.line);
            }
            if c.locations.len() >= USE_LOCATIONS {
                let _ = write!(
                    out,
                    "<li class=\"muted\">(the first {USE_LOCATIONS} by file and line)</li>"
                );
            }
            out.push_str("</ul></li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</div>\n");
}

/// One cell: its state in words, the counts and a link to its lines when tested, and the
/// policies that apply (short names; the keys in the title).
fn rls_cell(i: usize, j: usize, t: &RlsTable, c: &Cell, out: &mut String) {
    let state = c.state.name();
    let policies = cell_policies(t, c, true);
    let _ = write!(
        out,
        "<td class=\"rls-cell rls-{state}\" data-role=\"{}\" data-command=\"{}\" title=\"{} &times; {}: {state}{}; {}\">",
        esc(&c.role),
        c.command,
        esc(&c.role),
        c.command,
        match c.state {
            CellState::Untested => String::new(),
            _ => format!(" ({})", cell_counts(c)),
        },
        esc(&policies),
    );
    if c.state == CellState::Untested {
        let _ = write!(out, "<span class=\"rls-state\">{state}</span>");
    } else {
        let _ = write!(
            out,
            "<a href=\"#rls-{i}-{j}\"><span class=\"rls-state\">{state}</span><span class=\"rls-n\">{}</span></a>",
            cell_counts(c)
        );
    }
    let _ = write!(
        out,
        "<span class=\"rls-pol\">{}</span></td>",
        esc(&cell_policies(t, c, false))
    );
}

/// `2 allowed, 1 denied`: the uses behind a cell (denied counts those expected to fail
/// and those expected to see no rows).
fn cell_counts(c: &Cell) -> String {
    let mut parts = Vec::new();
    if c.allowed > 0 {
        parts.push(format!("{} allowed", num(c.allowed)));
    }
    if c.denied > 0 {
        parts.push(format!("{} denied", num(c.denied)));
    }
    parts.join(", ")
}

/// The policies that apply to a cell, or why none does, not escaped: by name within the
/// table (`policy: todos_select`), or with `keys` as a sentence of their keys
/// (`policy:app.todos.todos_select applies`).
fn cell_policies(t: &RlsTable, c: &Cell, keys: bool) -> String {
    if c.policies.is_empty() {
        return if BYPASS_ROLES.contains(&c.role.as_str()) {
            "bypasses row level security".to_string()
        } else {
            "no policy applies".to_string()
        };
    }
    let many = c.policies.len() > 1;
    if keys {
        return format!(
            "{} {}",
            c.policies.join(", "),
            if many { "apply" } else { "applies" }
        );
    }
    let prefix = format!("policy:{}.", t.table.strip_prefix("table:").unwrap_or(""));
    let names: Vec<&str> = c
        .policies
        .iter()
        .map(|p| match p.strip_prefix(&prefix) {
            Some(name) if !name.is_empty() => name,
            _ => p.as_str(),
        })
        .collect();
    format!(
        "{}: {}",
        if many { "policies" } else { "policy" },
        names.join(", ")
    )
}

fn headline(r: &ScanReport, out: &mut String) {
    let s = &r.summary;
    let st = &r.coverage.statistics;
    let pl = &s.plans;
    out.push_str("<section id=\"overview\" aria-labelledby=\"overview-h\">\n<h2 id=\"overview-h\">Overview</h2>\n<div class=\"cards\">\n");
    card(
        out,
        "Files",
        &num(s.files),
        &format!(
            "{} without assertions",
            num(st.files_without_assertions.count)
        ),
        "",
    );
    card(
        out,
        "Assertions",
        &num(s.assertions),
        &format!("{} TAP results in top-level code", num(s.tests)),
        "",
    );
    card(
        out,
        "Objects named",
        &num(st.objects),
        &format!(
            "{} absent only &middot; {} referenced only",
            num(st.objects_absent_only),
            num(st.objects_referenced_only)
        ),
        "",
    );
    card(
        out,
        "Objects tested",
        &num(st.objects_tested),
        &format!(
            "{} of named &middot; {} in a single file",
            pct(st.objects_tested, st.objects),
            num(st.objects_single_file)
        ),
        "",
    );
    // Structural vs behavioural, with a split bar.
    let total = st.structural + st.behavioural;
    let _ = writeln!(
        out,
        "<div class=\"card wide\"><div class=\"card-label\">Structural / behavioural</div>\
         <div class=\"card-value\">{} <span class=\"slash\">/</span> {}</div>\
         <div class=\"split\" role=\"img\" aria-label=\"{} structural, {} behavioural\">\
         <span class=\"seg-structural\" style=\"width:{}\"></span>\
         <span class=\"seg-behavioural\" style=\"width:{}\"></span></div>\
         <div class=\"card-note\">{} attributed to objects &middot; {} not attributable</div></div>",
        num(st.structural),
        num(st.behavioural),
        pct(st.structural, total),
        pct(st.behavioural, total),
        width(st.structural, total),
        width(st.behavioural, total),
        num(st.attributed),
        num(st.unattributed),
    );
    let plan_class = if pl.mismatches.is_empty() {
        "ok"
    } else {
        "warn"
    };
    card(
        out,
        "Plans agree",
        &format!(
            "{} <span class=\"slash\">/</span> {}",
            num(pl.agree),
            num(pl.checked)
        ),
        &format!(
            "{} with plan(N) &middot; <a href=\"#problems\">{}</a>",
            counted(pl.planned, "file", "files"),
            counted(pl.mismatches.len() as u64, "mismatch", "mismatches")
        ),
        plan_class,
    );
    out.push_str("</div>\n");

    // The smaller numbers, as one line of facts.
    let d = &st.diversity;
    let _ = writeln!(
        out,
        "<dl class=\"facts\">\
         <div><dt>Functions used</dt><dd>{} of {}</dd></div>\
         <div><dt>Effective functions</dt><dd>{}</dd></div>\
         <div><dt>Aspects per tested object</dt><dd>{}</dd></div>\
         <div><dt>Dynamic names</dt><dd>{}</dd></div>\
         <div><dt>Ambiguous</dt><dd>{}</dd></div>\
         <div><dt>Rejected by PostgreSQL</dt><dd>{}</dd></div>\
         <div><dt>Errors / warnings</dt><dd>{} / {}</dd></div></dl>",
        num(d.functions_used),
        num(d.functions_available),
        d.effective_functions,
        d.aspects_per_tested_object,
        num(s.dynamic),
        num(s.ambiguous),
        num(s.rejected),
        num(s.errors),
        num(s.warnings),
    );
    out.push_str("</section>\n");
}

fn card(out: &mut String, label: &str, value: &str, note: &str, class: &str) {
    // `value` and `note` are built from numbers and fixed markup only.
    let class = if class.is_empty() {
        "card".to_string()
    } else {
        format!("card {class}")
    };
    let _ = writeln!(
        out,
        "<div class=\"{class}\"><div class=\"card-label\">{}</div><div class=\"card-value\">{value}</div><div class=\"card-note\">{note}</div></div>",
        esc(label)
    );
}

fn charts(r: &ScanReport, out: &mut String) {
    let st = &r.coverage.statistics;
    out.push_str("<section id=\"charts\" aria-labelledby=\"charts-h\">\n<h2 id=\"charts-h\">Coverage</h2>\n<div class=\"chart-grid\">\n");

    // Objects by kind: tested, absent only, referenced only; scaled to the largest kind.
    let mut per_kind: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for o in &r.coverage.objects {
        let e = per_kind.entry(o.kind.as_ref()).or_default();
        e[status_index(o)] += 1;
    }
    let mut kinds: Vec<(&str, [u64; 3])> = per_kind.into_iter().collect();
    kinds.sort_by(|a, b| {
        let (na, nb) = (a.1.iter().sum::<u64>(), b.1.iter().sum::<u64>());
        nb.cmp(&na).then(a.0.cmp(b.0))
    });
    let max = kinds
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    out.push_str("<figure class=\"chart\" aria-labelledby=\"kinds-h\">\n<figcaption id=\"kinds-h\"><h3>Objects by kind</h3>\
        <ul class=\"legend\"><li><span class=\"sw seg-tested\"></span>tested</li><li><span class=\"sw seg-absent\"></span>absent only</li><li><span class=\"sw seg-ref\"></span>referenced only</li></ul></figcaption>\n");
    if kinds.is_empty() {
        out.push_str("<p class=\"empty\">No objects named.</p>\n");
    }
    out.push_str("<table class=\"bars\">\n<thead class=\"sr-only\"><tr><th scope=\"col\">Kind</th><th scope=\"col\">Chart</th><th scope=\"col\">Tested of named</th></tr></thead>\n<tbody>\n");
    for (kind, c) in &kinds {
        let named: u64 = c.iter().sum();
        let assertions = st.by_kind.get(*kind).map_or(0, |k| k.assertions);
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"bar-cell\"><div class=\"bar\" role=\"img\" aria-label=\"{} tested, {} absent only, {} referenced only\">{}{}{}</div></td>\
             <td class=\"num\"><strong>{}</strong>/{} <span class=\"muted\">&middot; {} assertions</span></td></tr>",
            esc(&kind.replace('_', " ")),
            c[0],
            c[1],
            c[2],
            segment("seg-tested", c[0], max),
            segment("seg-absent", c[1], max),
            segment("seg-ref", c[2], max),
            num(c[0]),
            num(named),
            num(assertions),
        );
    }
    out.push_str("</tbody>\n</table>\n</figure>\n");

    // Assertions by aspect. An aspect some kind of object has is structural; the others
    // (values, result sets, exceptions, ...) come only from behaviour tests.
    let structural: BTreeSet<&str> = st
        .by_kind
        .values()
        .flat_map(|k| k.aspects.keys().map(Aspect::name))
        .collect();
    let mut aspects: Vec<(&str, u64)> = st.by_aspect.iter().map(|(a, n)| (a.name(), *n)).collect();
    aspects.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let max = aspects.first().map_or(0, |a| a.1);
    out.push_str("<figure class=\"chart\" aria-labelledby=\"aspects-h\">\n<figcaption id=\"aspects-h\"><h3>Assertions by aspect</h3>\
        <ul class=\"legend\"><li><span class=\"sw seg-structural\"></span>structural</li><li><span class=\"sw seg-behavioural\"></span>behavioural</li></ul></figcaption>\n");
    if aspects.is_empty() {
        out.push_str("<p class=\"empty\">No assertions.</p>\n");
    }
    out.push_str("<table class=\"bars\">\n<thead class=\"sr-only\"><tr><th scope=\"col\">Aspect</th><th scope=\"col\">Share</th><th scope=\"col\">Assertions</th></tr></thead>\n<tbody>\n");
    for (aspect, n) in &aspects {
        let class = if structural.contains(aspect) {
            "seg-structural"
        } else {
            "seg-behavioural"
        };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"bar-cell\"><div class=\"bar\">{}</div></td><td class=\"num\"><strong>{}</strong></td></tr>",
            esc(&aspect.replace('_', " ")),
            segment(class, *n, max),
            num(*n),
        );
    }
    out.push_str("</tbody>\n</table>\n</figure>\n");
    out.push_str("</div>\n");

    // Kind x aspect: positive assertions per cell, shaded by their share of the maximum.
    let aspect_cols: Vec<&str> = structural.iter().copied().collect();
    let cell_max = st
        .by_kind
        .values()
        .flat_map(|k| k.aspects.values().copied())
        .max()
        .unwrap_or(0);
    if !aspect_cols.is_empty() {
        out.push_str("<figure class=\"chart wide\" aria-labelledby=\"matrix-h\">\n<figcaption id=\"matrix-h\"><h3>What is asserted, by kind and aspect</h3><span class=\"muted\">positive assertions on objects</span></figcaption>\n<div class=\"scroll\"><table class=\"matrix\">\n<thead><tr><th scope=\"col\">kind</th>");
        for a in &aspect_cols {
            let _ = write!(out, "<th scope=\"col\">{}</th>", esc(&a.replace('_', " ")));
        }
        out.push_str("<th scope=\"col\">total</th></tr></thead>\n<tbody>\n");
        for (kind, _) in &kinds {
            let Some(k) = st.by_kind.get(*kind) else {
                continue;
            };
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th>",
                esc(&kind.replace('_', " "))
            );
            for a in &aspect_cols {
                match k.aspects.get(*a) {
                    Some(&n) if n > 0 => {
                        let level = if cell_max == 0 {
                            0.0
                        } else {
                            0.12 + 0.88 * (n as f64 / cell_max as f64)
                        };
                        let _ = write!(
                            out,
                            "<td class=\"heat{}\" style=\"--v:{:.2}\">{}</td>",
                            if level > 0.55 { " hot" } else { "" },
                            level,
                            num(n)
                        );
                    }
                    _ => out.push_str("<td class=\"zero\">&middot;</td>"),
                }
            }
            let _ = writeln!(out, "<td class=\"total\">{}</td></tr>", num(k.assertions));
        }
        out.push_str("</tbody>\n</table></div>\n</figure>\n");
    }

    // The most used assertion functions and the most tested objects, side by side.
    let mut funcs: Vec<(&str, u64)> = r
        .summary
        .by_function
        .iter()
        .map(|(f, n)| (f.as_str(), *n))
        .collect();
    funcs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    out.push_str("<div class=\"chart-grid below\">\n");
    out.push_str("<figure class=\"chart\" aria-labelledby=\"funcs-h\">\n<figcaption id=\"funcs-h\"><h3>Most used assertion functions</h3><span class=\"muted\">calls</span></figcaption>\n");
    let max = funcs.first().map_or(0, |f| f.1);
    bar_list(
        out,
        ("Function", "Calls"),
        funcs
            .iter()
            .take(TOP_FUNCTIONS)
            .map(|(f, n)| (*f, *n, String::new())),
        max,
    );
    if funcs.len() > TOP_FUNCTIONS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">&hellip; and {} more functions.</p>",
            num((funcs.len() - TOP_FUNCTIONS) as u64)
        );
    }
    out.push_str("</figure>\n");
    out.push_str("<figure class=\"chart\" aria-labelledby=\"top-h\">\n<figcaption id=\"top-h\"><h3>Most tested objects</h3><span class=\"muted\">positive assertions &middot; distinct functions</span></figcaption>\n");
    let max = st.top_objects.first().map_or(0, |o| o.assertions);
    bar_list(
        out,
        ("Object", "Assertions"),
        st.top_objects.iter().map(|o| {
            (
                o.key.as_str(),
                o.assertions,
                format!(
                    " <span class=\"muted\">&middot; {}</span>",
                    num(o.functions)
                ),
            )
        }),
        max,
    );
    out.push_str("</figure>\n</div>\n");
    out.push_str("</section>\n");
}

fn objects_section(r: &ScanReport, out: &mut String) {
    let st = &r.coverage.statistics;
    out.push_str("<section id=\"objects\" aria-labelledby=\"objects-h\">\n<h2 id=\"objects-h\">Objects</h2>\n");
    out.push_str("<p class=\"muted\">Every object the suite names. Click a row to see its assertions; click a column header to sort.</p>\n");
    out.push_str("<form class=\"filters\" id=\"filters\" role=\"search\">\n");
    out.push_str("<label>Filter <input type=\"search\" id=\"f-text\" placeholder=\"name, schema, function, file\" autocomplete=\"off\"></label>\n");
    out.push_str("<label>Kind <select id=\"f-kind\"><option value=\"\">all kinds</option>");
    for (kind, k) in &st.by_kind {
        let _ = write!(
            out,
            "<option value=\"{0}\">{0} ({1})</option>",
            esc(kind.name()),
            num(k.objects)
        );
    }
    out.push_str("</select></label>\n");
    let _ = writeln!(
        out,
        "<label>Status <select id=\"f-status\"><option value=\"\">all ({})</option>\
         <option value=\"tested\">tested ({})</option>\
         <option value=\"absent\">absent only ({})</option>\
         <option value=\"referenced\">referenced only ({})</option></select></label>",
        num(st.objects),
        num(st.objects_tested),
        num(st.objects_absent_only),
        num(st.objects_referenced_only)
    );
    out.push_str("<output id=\"f-count\" aria-live=\"polite\"></output>\n</form>\n");
    out.push_str("<div class=\"table-wrap\">\n<table class=\"objects\" id=\"objects-table\">\n<caption class=\"sr-only\">Objects named by the test suite</caption>\n<thead><tr>");
    for (key, label, class) in [
        ("name", "Object", ""),
        ("kind", "Kind", ""),
        ("status", "Status", ""),
        ("assertions", "Assertions", "num"),
        ("absent", "Absent", "num"),
        ("referenced", "Referenced", "num"),
        ("aspects", "Aspects", ""),
        ("functions", "Functions", "num"),
    ] {
        let _ = write!(
            out,
            "<th scope=\"col\" class=\"{class}\" data-sort=\"{key}\"><button type=\"button\">{label}<span class=\"arrow\" aria-hidden=\"true\"></span></button></th>"
        );
    }
    out.push_str("</tr></thead>\n<tbody id=\"objects-body\"></tbody>\n</table>\n</div>\n");
    out.push_str("<noscript><p class=\"empty\">The object table needs JavaScript; the same data is in <code>--format json</code>.</p></noscript>\n");
    out.push_str("</section>\n");
}

fn problems(r: &ScanReport, out: &mut String) {
    let s = &r.summary;
    let st = &r.coverage.statistics;
    out.push_str("<section id=\"problems\" aria-labelledby=\"problems-h\">\n<h2 id=\"problems-h\">Plans &amp; problems</h2>\n");

    let pl = &s.plans;
    out.push_str("<h3>Plan mismatches</h3>\n");
    if pl.mismatches.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"okmsg\">Every statically checkable plan agrees ({} of {} files with <code>plan(N)</code> checkable).</p>",
            num(pl.checked),
            num(pl.planned)
        );
    } else {
        out.push_str("<div class=\"table-wrap\"><table class=\"plain\">\n<thead><tr><th scope=\"col\">File</th><th scope=\"col\" class=\"num\">Planned</th><th scope=\"col\" class=\"num\">Found</th><th scope=\"col\" class=\"num\">From includes</th></tr></thead>\n<tbody>\n");
        for m in &pl.mismatches {
            let _ = writeln!(
                out,
                "<tr><td><code>{}:{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&m.path),
                m.line,
                num(m.planned),
                num(m.found),
                num(m.from_includes)
            );
        }
        out.push_str("</tbody>\n</table></div>\n");
    }

    out.push_str("<h3>Errors and warnings</h3>\n");
    // Every message the scan printed (files, includes, discovery, the universe), as the
    // report kept them: the first ones by place.
    let listed: Vec<(bool, &str, Option<u32>, &str)> = r
        .messages
        .iter()
        .map(|m| {
            (
                m.severity == Severity::Error,
                m.path.as_deref().unwrap_or(""),
                m.line,
                m.text.as_str(),
            )
        })
        .collect();
    if s.errors + s.warnings == 0 {
        out.push_str("<p class=\"okmsg\">None.</p>\n");
    } else {
        // Plan mismatches are warnings too; per-file diagnostics are listed below when
        // the report kept the files; the rest (unreadable paths, discovery) only on stderr.
        let mismatches = pl.mismatches.len() as u64;
        let shown = listed.len() as u64;
        let _ = writeln!(
            out,
            "<p>{}, {}{}.{}</p>",
            counted(s.errors, "error", "errors"),
            counted(s.warnings, "warning", "warnings"),
            if mismatches > 0 {
                format!(" ({} of them the plan mismatches above)", num(mismatches))
            } else {
                String::new()
            },
            if s.errors + s.warnings > shown {
                " The report keeps the first by file and line; the others were printed on stderr."
            } else {
                ""
            }
        );
        if !listed.is_empty() {
            out.push_str("<ul class=\"problems\">\n");
            for (error, path, line, msg) in listed.iter().take(MAX_PROBLEMS) {
                let place = match line {
                    Some(l) => format!("{}:{l}", esc(path)),
                    None => esc(path).to_string(),
                };
                let _ = writeln!(
                    out,
                    "<li class=\"{}\"><span class=\"tag\">{}</span> <code>{}</code> {}</li>",
                    if *error { "error" } else { "warning" },
                    if *error { "error" } else { "warning" },
                    place,
                    esc(msg)
                );
            }
            out.push_str("</ul>\n");
            if listed.len() > MAX_PROBLEMS {
                let _ = writeln!(
                    out,
                    "<p class=\"muted\">&hellip; and {} more.</p>",
                    num((listed.len() - MAX_PROBLEMS) as u64)
                );
            }
        }
    }

    let empty = &st.files_without_assertions;
    if empty.count > 0 {
        let _ = writeln!(
            out,
            "<details class=\"empty-files\"><summary>{} without any assertion</summary>\n<ul>",
            counted(empty.count, "file", "files")
        );
        for p in empty.paths.iter().take(MAX_EMPTY_FILES) {
            let _ = writeln!(out, "<li><code>{}</code></li>", esc(p));
        }
        out.push_str("</ul>");
        let shown = empty.paths.len().min(MAX_EMPTY_FILES) as u64;
        if empty.count > shown {
            let _ = write!(
                out,
                "<p class=\"muted\">&hellip; and {} more.</p>",
                num(empty.count - shown)
            );
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

/// Labelled bars: `(label, n, extra markup after the number)`, scaled to `max`.
fn bar_list<'a>(
    out: &mut String,
    headers: (&str, &str),
    rows: impl Iterator<Item = (&'a str, u64, String)>,
    max: u64,
) {
    let _ = writeln!(
        out,
        "<table class=\"bars\">\n<thead class=\"sr-only\"><tr><th scope=\"col\">{}</th><th scope=\"col\">Chart</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>",
        esc(headers.0),
        esc(headers.1)
    );
    let mut any = false;
    for (label, n, extra) in rows {
        any = true;
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><code title=\"{0}\">{0}</code></th><td class=\"bar-cell\"><div class=\"bar\">{1}</div></td><td class=\"num\"><strong>{2}</strong>{extra}</td></tr>",
            esc(label),
            segment("seg-fn", n, max),
            num(n)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if !any {
        out.push_str("<p class=\"empty\">None.</p>\n");
    }
}

/// 0 tested, 1 absent only, 2 referenced only (the statistics' partition).
fn status_index(o: &ObjectCoverage) -> usize {
    if o.tested {
        0
    } else if o.absent > 0 {
        1
    } else {
        2
    }
}

/// When the page was made: `SOURCE_DATE_EPOCH` when set (reproducible builds, snapshot
/// tests), else now. Seconds since 1970.
fn report_time() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
}

/// `2026-12-02 07:50 UTC` (the proleptic Gregorian calendar, days from civil dates after
/// Howard Hinnant's `civil_from_days`).
fn utc_date(secs: i64) -> String {
    let (year, month, day, hour, minute, _) = crate::history::civil(secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

/// Everything the script draws: the object table and, with a universe, the gaps.
fn page_data(r: &ScanReport) -> Value {
    let mut data = table_data(&r.coverage.objects);
    if let Some(s) = &r.schema {
        data["schema"] = gap_data(s);
    }
    data
}

/// The gaps, compact and in their order (most important kinds first): `kinds` lists
/// `[kind, objects of the kind, untested]` in that order, `files` the defining files, and
/// each gap is `[key, kind, file, line]` with the kind and file as indexes, followed by
/// what the tests do with it that does not count (`exercised, not asserted`), if anything.
fn gap_data(s: &SchemaCoverage) -> Value {
    let mut kinds: Vec<(&str, u64)> = Vec::new();
    let mut files: Vec<&str> = Vec::new();
    let mut file_ids: HashMap<&str, usize> = HashMap::new();
    let gaps: Vec<Value> = s
        .gaps
        .iter()
        .map(|g| {
            if kinds.last().map(|k| k.0) != Some(g.kind.name()) {
                kinds.push((g.kind.name(), 0));
            }
            let k = kinds.len() - 1;
            kinds[k].1 += 1;
            let f = *file_ids.entry(&g.defined_at.file).or_insert_with(|| {
                files.push(&g.defined_at.file);
                files.len() - 1
            });
            match super::gap_note(g) {
                Some(note) => json!([g.key, k, f, g.defined_at.line, note]),
                None => json!([g.key, k, f, g.defined_at.line]),
            }
        })
        .collect();
    let kinds: Vec<Value> = kinds
        .iter()
        .map(|(k, n)| {
            let objects = s.coverage.by_kind.get(*k).map_or(*n, |r| r.objects);
            json!([k, objects, n])
        })
        .collect();
    json!({"kinds": kinds, "files": files, "gaps": gaps})
}

/// The table's data, compact: file, function and context names are listed once and
/// referred to by index, and locations are arrays
/// `[file, line, column, context, function, role, absent]` (role 0 target, 1 member,
/// 2 reference).
fn table_data(objects: &[ObjectCoverage]) -> Value {
    #[derive(Default)]
    struct Names<'a> {
        ids: HashMap<&'a str, usize>,
        list: Vec<&'a str>,
    }
    impl<'a> Names<'a> {
        fn id(&mut self, s: &'a str) -> usize {
            *self.ids.entry(s).or_insert_with(|| {
                self.list.push(s);
                self.list.len() - 1
            })
        }
    }
    let (mut files, mut functions, mut contexts) =
        (Names::default(), Names::default(), Names::default());
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let locations: Vec<Value> = o
                .locations
                .iter()
                .map(|l| {
                    json!([
                        files.id(&l.file),
                        l.line,
                        l.column,
                        contexts.id(&l.context),
                        functions.id(&l.function),
                        match l.role {
                            Role::Target => 0,
                            Role::Member => 1,
                            Role::Reference => 2,
                        },
                        u8::from(l.absent)
                    ])
                })
                .collect();
            let fns: Vec<Value> = o
                .functions
                .iter()
                .map(|(f, n)| json!([functions.id(f), n]))
                .collect();
            let mut row = json!({
                "key": o.key,
                "kind": o.kind,
                "status": status_index(o),
                "assertions": o.assertions,
                "absent": o.absent,
                "referenced": o.referenced,
                "aspects": o.aspects,
                "functions": fns,
                "single_file": o.single_file,
                "locations": locations,
            });
            if o.locations_omitted > 0 {
                row["omitted"] = json!(o.locations_omitted);
            }
            row
        })
        .collect();
    json!({
        "files": files.list,
        "functions": functions.list,
        "contexts": contexts.list,
        "objects": rows,
    })
}

/// JSON that is safe inside `<script type="application/json">`: every `<`, `>` and `&`
/// (which occur only inside JSON strings) is written as a `\u` escape, so no `</script>`
/// or `<!--` can appear whatever the names contain, and `JSON.parse` reads the same
/// value back. U+2028 and U+2029 are escaped too, for readers that `eval` it.
pub fn script_json(value: &Value) -> String {
    let raw = value.to_string();
    let mut out = String::with_capacity(raw.len() + raw.len() / 64);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `12345` as `12,345`.
fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 file`, `2 files`.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", num(n), if n == 1 { one } else { many })
}

/// `n` as a percentage of `total`, for reading (`87%`, `<1%`).
fn pct(n: u64, total: u64) -> String {
    if total == 0 {
        return "0%".to_string();
    }
    let p = n as f64 * 100.0 / total as f64;
    if n > 0 && p < 1.0 {
        "<1%".to_string()
    } else {
        format!("{}%", p.round())
    }
}

/// One coloured segment of a bar, none when `n` is 0.
fn segment(class: &str, n: u64, max: u64) -> String {
    if n == 0 {
        return String::new();
    }
    format!(
        "<span class=\"{class}\" style=\"width:{}\"></span>",
        width(n, max)
    )
}

/// `n` as a CSS width relative to `max`, two decimals.
fn width(n: u64, max: u64) -> String {
    if max == 0 {
        return "0%".to_string();
    }
    format!("{:.2}%", n as f64 * 100.0 / max as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_date_is_utc_and_calendar_exact() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_date(-1), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = json!({"k": "</script><script>alert(1)</script><!-- & \u{2028}"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>'), "{s}");
        let back: Value = serde_json::from_str(&s).unwrap_or(Value::Null);
        assert_eq!(back, v);
    }

    #[test]
    fn esc_escapes_markup_and_quotes() {
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(esc("plain"), "plain");
    }

    #[test]
    fn numbers_are_grouped_and_percentages_rounded() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(1234567), "1,234,567");
        assert_eq!(pct(1, 1000), "<1%");
        assert_eq!(pct(180, 213), "85%");
        assert_eq!(pct(0, 0), "0%");
        assert_eq!(width(1, 4), "25.00%");
    }
}
