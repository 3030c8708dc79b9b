//! The HTML report end to end: the real binary writes the page, the tests check that it is
//! self-contained and safe (names cannot inject markup or script), snapshot it, and open
//! it in headless Chromium: no console errors, the table drawn, filtering, sorting and
//! expansion through the URL hash, and a screenshot.
//!
//! Chromium is `/usr/bin/chromium` (or `PGTAP_SCAN_CHROMIUM`); `scripts/install-chromium`
//! installs it. Without it the browser tests are skipped with a note, except in CI, where
//! they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{self, Dir};

const SAMPLE: &str = "fixtures/sample/tests";
/// The realworld fixture's tests with its migrations as the universe (run inside it).
const REALWORLD: &[&str] = &["tests", "--schema", "migrations", "--no-config"];

fn realworld_dir() -> PathBuf {
    manifest_dir().join("fixtures/realworld")
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `pgtap-scan <args> --format html` run from the project root; the page.
fn html_of(dir: &Dir, cwd: &Path, args: &[&str]) -> String {
    let run = dir
        .command()
        .current_dir(cwd)
        .args(args)
        .args(["--format", "html", "-q"])
        // The header's date, fixed so snapshots do not change by the minute.
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .run();
    assert!(
        run.code == Some(0) || run.code == Some(1),
        "pgtap-scan failed\n{run}"
    );
    assert!(!run.stdout.is_empty(), "empty page\n{run}");
    run.stdout
}

/// The page split into its parts: the skeleton (with the stylesheet, the script and the
/// data replaced by placeholders, and the version by `[version]`), the data, and the
/// number of `<script` elements.
struct Page {
    skeleton: String,
    data: Value,
    raw_data: String,
}

fn split(html: &str) -> Page {
    const DATA_OPEN: &str = "<script type=\"application/json\" id=\"pgtap-data\">";
    let start = html.find(DATA_OPEN).expect("the data element") + DATA_OPEN.len();
    let len = html[start..]
        .find("</script>")
        .expect("the data element's end");
    let raw_data = html[start..start + len].to_string();
    let data: Value = serde_json::from_str(&raw_data).expect("the embedded data is JSON");
    let mut skeleton = format!("{}/* data */{}", &html[..start], &html[start + len..]);
    skeleton = replace_between(&skeleton, "<style>\n", "</style>", "/* report.css */");
    skeleton = replace_between(&skeleton, "<script>\n", "</script>", "/* report.js */");
    skeleton = skeleton.replace(env!("CARGO_PKG_VERSION"), "[version]");
    Page {
        skeleton,
        data,
        raw_data,
    }
}

/// The embedded data for a snapshot: each name list and each object on its own line.
fn data_lines(data: &Value) -> String {
    let mut out = String::new();
    let Some(map) = data.as_object() else {
        panic!("the data is not an object");
    };
    for (k, v) in map {
        out.push_str(&format!("== {k}\n"));
        match v.as_array() {
            Some(items) => {
                for item in items {
                    out.push_str(&format!("{item}\n"));
                }
            }
            None => out.push_str(&format!("{v}\n")),
        }
    }
    out
}

/// The embedded gap data (`schema`) for a snapshot: each kind, file and gap on its own line.
fn gap_lines(data: &Value) -> String {
    let mut out = String::new();
    for part in ["kinds", "files", "gaps"] {
        out.push_str(&format!("== schema.{part}\n"));
        for item in data["schema"][part].as_array().expect("a schema list") {
            out.push_str(&format!("{item}\n"));
        }
    }
    out
}

fn replace_between(s: &str, open: &str, close: &str, with: &str) -> String {
    let Some(a) = s.find(open).map(|i| i + open.len()) else {
        panic!("no {open:?} in the page");
    };
    let Some(b) = s[a..].find(close).map(|i| a + i) else {
        panic!("no {close:?} after {open:?}");
    };
    format!("{}{with}{}", &s[..a], &s[b..])
}

/// The attributes of a tag's inside (`a href="#x" class=y`): names and raw values.
fn attributes(tag: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start_matches(|c: char| !c.is_whitespace());
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return out;
        }
        let end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = &rest[..end];
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix('=') {
            let (value, tail) = match after.strip_prefix('"') {
                Some(q) => q.split_once('"').unwrap_or((q, "")),
                None => after.split_once(char::is_whitespace).unwrap_or((after, "")),
            };
            out.push((name, value));
            rest = tail;
        } else {
            out.push((name, ""));
        }
    }
}

fn count(hay: &str, needle: &str) -> usize {
    hay.to_ascii_lowercase().matches(needle).count()
}

/// Nothing in the page loads anything: no URLs, no element that fetches, no links but
/// in-page anchors, no imports, and a Content-Security-Policy that forbids fetching should
/// one slip in. Names in the data may say anything (they are checked to be inert
/// elsewhere), so the data element is left out; names rendered server-side are escaped, so
/// every `<` left in the page starts real markup.
fn assert_self_contained(html: &str) {
    let page = split(html);
    let without_data = html.replacen(&page.raw_data, "", 1).to_ascii_lowercase();
    for bad in ["http://", "https://", "//cdn", "@import", "url(", "fonts."] {
        assert!(!without_data.contains(bad), "the page contains {bad:?}");
    }
    let skeleton = page.skeleton.to_ascii_lowercase();
    let mut tags = 0;
    for (i, _) in skeleton.match_indices('<') {
        let rest = &skeleton[i + 1..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        tags += 1;
        let name = tag.split([' ', '\n']).next().unwrap_or("");
        assert!(
            ![
                "link", "img", "iframe", "object", "embed", "base", "audio", "video", "source",
                "frame"
            ]
            .contains(&name),
            "a <{name}> element: <{tag}>"
        );
        for (attr, value) in attributes(tag) {
            assert!(
                ![
                    "src",
                    "srcset",
                    "action",
                    "formaction",
                    "poster",
                    "data",
                    "background"
                ]
                .contains(&attr)
                    && !attr.starts_with("on"),
                "<{tag}> fetches or runs something"
            );
            if attr == "href" {
                assert!(value.starts_with('#'), "<{tag}> leaves the page");
            }
        }
    }
    assert!(tags > 100, "only {tags} tags");
    assert!(
        html.contains("Content-Security-Policy\" content=\"default-src 'none';"),
        "no CSP"
    );
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.trim_end().ends_with("</html>"));
    // The error hook, the data and the script: nothing else.
    assert_eq!(count(html, "<script"), 3, "script elements");
    assert_eq!(count(html, "</script"), 3, "script end tags");
}

#[test]
fn sample_page_is_self_contained_and_carries_the_coverage_database() {
    let dir = Dir::new("html_sample");
    let html = html_of(&dir, manifest_dir(), &[SAMPLE]);
    assert_self_contained(&html);
    let page = split(&html);
    let json = dir.command().current_dir(manifest_dir()).arg(SAMPLE).json();

    // Every object of the database is in the page, in order, with its counts and every
    // location, file:line:column, function, context and role.
    let objects = json["objects"].as_array().expect("objects");
    let rows = page.data["objects"].as_array().expect("rows");
    assert_eq!(rows.len(), objects.len());
    assert!(rows.len() > 100, "the sample names many objects");
    let names = |k: &str| -> Vec<String> {
        page.data[k]
            .as_array()
            .expect("a name list")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    };
    let (files, functions, contexts) = (names("files"), names("functions"), names("contexts"));
    for (o, r) in objects.iter().zip(rows) {
        assert_eq!(o["key"], r["key"]);
        assert_eq!(o["kind"], r["kind"]);
        for n in [
            "assertions",
            "absent",
            "referenced",
            "aspects",
            "single_file",
        ] {
            assert_eq!(o[n], r[n], "{n} of {}", o["key"]);
        }
        let status = if o["tested"] == true {
            0
        } else if o["absent"].as_u64() > Some(0) {
            1
        } else {
            2
        };
        assert_eq!(r["status"], status, "{}", o["key"]);
        let locs = o["locations"].as_array().expect("locations");
        let packed = r["locations"].as_array().expect("packed locations");
        assert_eq!(locs.len(), packed.len(), "{}", o["key"]);
        for (l, p) in locs.iter().zip(packed) {
            let idx = |i: usize| p[i].as_u64().unwrap_or(u64::MAX) as usize;
            assert_eq!(
                Some(&files[idx(0)]),
                l["file"].as_str().map(str::to_string).as_ref()
            );
            assert_eq!(p[1], l["line"]);
            assert_eq!(p[2], l["column"]);
            assert_eq!(l["context"], contexts[idx(3)].as_str());
            assert_eq!(l["function"], functions[idx(4)].as_str());
            let role = ["target", "member", "reference"][idx(5).min(2)];
            assert_eq!(l["role"], role);
            assert_eq!(p[6] == 1, l["absent"] == true);
        }
    }

    // The headline numbers are the report's.
    let st = &json["statistics"];
    for (label, value) in [
        ("Files", &json["summary"]["files"]),
        ("Assertions", &json["summary"]["assertions"]),
        ("Objects named", &st["objects"]),
        ("Objects tested", &st["objects_tested"]),
    ] {
        let needle = format!(
            "<div class=\"card-label\">{label}</div><div class=\"card-value\">{value}</div>"
        );
        assert!(html.contains(&needle), "{needle}");
    }
    assert!(html.contains(&format!(
        "{} <span class=\"slash\">/</span> {}",
        json["summary"]["plans"]["agree"], json["summary"]["plans"]["checked"]
    )));
    // One option per kind in the kind filter, one bar per kind in the chart.
    for kind in st["by_kind"].as_object().expect("by_kind").keys() {
        assert!(
            html.contains(&format!("<option value=\"{kind}\">")),
            "{kind}"
        );
        assert!(
            html.contains(&format!(
                "<tr><th scope=\"row\">{}</th><td class=\"bar-cell\">",
                kind.replace('_', " ")
            )),
            "{kind}"
        );
    }

    // Snapshots: the page without its stylesheet and script, and the data.
    insta::assert_snapshot!("sample_skeleton", page.skeleton);
    insta::assert_snapshot!("sample_data", data_lines(&page.data));
}

#[test]
fn realworld_page_shows_the_schema_coverage() {
    let dir = Dir::new("html_realworld");
    let html = html_of(&dir, &realworld_dir(), REALWORLD);
    assert_self_contained(&html);
    let page = split(&html);
    let json = dir
        .command()
        .current_dir(realworld_dir())
        .args(REALWORLD)
        .json();
    assert_eq!(json["universe_source"], "migrations");

    // The headline: the percentage, tested of objects, and where the universe came from.
    let overall = &json["coverage"]["overall"];
    let percent = overall["percent"].as_f64().expect("percent");
    assert!(html.contains(&format!(
        "<div class=\"card-value\" id=\"schema-percent\">{percent:.1}%</div>"
    )));
    assert!(html.contains(&format!(
        "{} of {} objects tested &middot; universe from migrations",
        overall["tested"], overall["objects"]
    )));
    // One bar per kind with its percentage and counts.
    for (kind, k) in json["coverage"]["by_kind"].as_object().expect("by_kind") {
        let needle = format!(
            "<tr data-kind=\"{kind}\"><th scope=\"row\">{}</th>",
            kind.replace('_', " ")
        );
        let at = html.find(&needle).unwrap_or_else(|| panic!("{needle}"));
        let row = &html[at..at + html[at..].find("</tr>").unwrap_or(0)];
        let p = k["percent"].as_f64().expect("percent");
        assert!(
            row.contains(&format!(
                "{p:.1}%</strong> <span class=\"muted\">{}/{} &middot;",
                k["tested"], k["objects"]
            )),
            "{row}"
        );
    }
    // Every gap, in the report's order, with where it is defined.
    let gaps = json["gaps"].as_array().expect("gaps");
    assert!(gaps.len() > 100);
    assert!(html.contains(&format!("<span id=\"gap-total\">{}</span>", gaps.len())));
    let schema = &page.data["schema"];
    let (kinds, files) = (&schema["kinds"], &schema["files"]);
    let packed = schema["gaps"].as_array().expect("packed gaps");
    assert_eq!(packed.len(), gaps.len());
    for (g, p) in gaps.iter().zip(packed) {
        let idx = |i: usize| p[i].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(p[0], g["key"]);
        assert_eq!(kinds[idx(1)][0], g["kind"]);
        assert_eq!(files[idx(2)], g["defined_at"]["file"]);
        assert_eq!(p[3], g["defined_at"]["line"]);
    }
    // Per kind: objects and untested, as the JSON report counts them.
    for k in kinds.as_array().expect("kinds") {
        let kind = k[0].as_str().expect("kind");
        assert_eq!(k[1], json["coverage"]["by_kind"][kind]["objects"]);
        let n = gaps.iter().filter(|g| g["kind"] == kind).count();
        assert_eq!(k[2], n, "{kind}");
        assert!(html.contains(&format!("<option value=\"{kind}\">{kind} ({n})</option>")));
    }
    // Every stale test, flagged, with its locations.
    let stale = json["stale"].as_array().expect("stale");
    assert!(!stale.is_empty());
    for x in stale {
        let key = x["key"].as_str().expect("key");
        let at = html
            .find(&format!("<li data-key=\"{key}\">"))
            .unwrap_or_else(|| panic!("{key} not listed"));
        let item = &html[at..at + html[at..].find("</ul></li>").unwrap_or(0)];
        let flag = if x["only_absent"] == true {
            "only hasnt_*"
        } else {
            "asserted to exist"
        };
        assert!(item.contains(flag), "{item}");
        for l in x["locations"].as_array().expect("locations") {
            let loc = format!(
                "<code>{}:{}:{}</code> <code class=\"fn\">{}</code>",
                l["file"].as_str().unwrap_or("?"),
                l["line"],
                l["column"],
                l["function"].as_str().unwrap_or("?")
            );
            assert!(item.contains(&loc), "{loc} in {item}");
        }
    }
    // The RLS matrices: every cell, the tested ones linked to their lines; the tables
    // with no tested cell collapsed.
    let tested = assert_rls_matrix(&html, &json);
    assert!(tested >= 10, "{tested} tested cells");
    let tables = json["behaviour"]["rls"].as_array().expect("rls");
    let untested = tables
        .iter()
        .filter(|t| {
            t["cells"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c["state"] == "untested"))
        })
        .count();
    assert!(untested > 0 && untested < tables.len());
    assert!(html.contains(&format!(
        "<details class=\"rls-untested\"><summary>{untested} tables with no role &times; command tested</summary>"
    )));
    // Gaps say what the tests do with them.
    let labelled = gaps.iter().filter(|g| g.get("only").is_some()).count();
    assert!(labelled > 0);
    assert_eq!(
        packed.iter().filter(|p| p.get(4).is_some()).count(),
        labelled
    );

    // The rest of the page is the usual one.
    assert_eq!(
        page.data["objects"].as_array().map(Vec::len),
        json["objects"].as_array().map(Vec::len)
    );

    insta::assert_snapshot!("realworld_universe_skeleton", page.skeleton);
    insta::assert_snapshot!("realworld_universe_gaps", gap_lines(&page.data));
}

#[test]
fn same_input_gives_the_same_page() {
    let dir = Dir::new("html_deterministic");
    let a = html_of(&dir, manifest_dir(), &[SAMPLE]);
    let b = html_of(
        &dir,
        manifest_dir(),
        &[SAMPLE, "--streaming", "never", "-j", "1"],
    );
    assert_eq!(a, b);
    let a = html_of(&dir, &realworld_dir(), REALWORLD);
    let b = html_of(
        &dir,
        &realworld_dir(),
        &[REALWORLD, &["--streaming", "never", "-j", "1"]].concat(),
    );
    assert_eq!(a, b);
}

/// A schema whose names (and a migration file name) are markup: an untested table (a gap),
/// and a test of a table the schema does not hold (stale).
fn hostile_schema(dir: &Dir) {
    dir.create(
        "m/<b>'\"&.sql",
        "CREATE TABLE \"</script><script>document.documentElement.setAttribute('data-pwned','1')</script>\" (id int);\n\
         CREATE TABLE \"<img src=x onerror=alert(1)>\" (id int);\n",
    )
    .create(
        "t/stale.sql",
        "SELECT plan(2);\nSELECT has_table('<!--</script>');\nSELECT hasnt_table('<svg onload=alert(2)>');\n",
    );
}

#[test]
fn schema_names_cannot_break_out_of_the_data_or_the_markup() {
    let dir = Dir::new("html_hostile_schema");
    hostile_schema(&dir);
    let args = ["t", "--schema", "m", "--no-config"];
    let html = html_of(&dir, dir.path(), &args);
    assert_self_contained(&html);
    let page = split(&html);
    for bad in ["<", ">", "&", "</script", "<!--"] {
        assert!(!page.raw_data.contains(bad), "{bad:?} in the data element");
    }
    let json = dir.command().current_dir(dir.path()).args(args).json();
    let gaps: Vec<&Value> = json["gaps"].as_array().expect("gaps").iter().collect();
    assert_eq!(
        page.data["schema"]["gaps"].as_array().map(Vec::len),
        Some(gaps.len())
    );
    assert!(
        gaps.iter()
            .any(|g| g["key"] == "table:public.\"<img src=x onerror=alert(1)>\""),
        "{gaps:?}"
    );
    assert_eq!(page.data["schema"]["files"][0], "m/<b>'\"&.sql");
    // The stale tests are rendered server-side, escaped.
    assert!(
        html.contains("<code class=\"key\">table:public.&quot;&lt;!--&lt;/script&gt;&quot;</code>")
    );
    assert!(html.contains(
        "<code class=\"key\">table:public.&quot;&lt;svg onload=alert(2)&gt;&quot;</code>"
    ));
    assert!(!html.contains("<svg"));

    let Some(chromium) = chromium() else { return };
    let path = write_page(&dir, "report.html", &html);
    let dom = rendered(&chromium, &path, "");
    assert!(
        !root_tag(&dom).contains("data-pwned"),
        "a schema name ran as script"
    );
    assert!(
        !dom.contains("<img") && !dom.contains("<svg"),
        "a name became markup"
    );
    assert_eq!(root_number(&dom, "gap-rows"), gaps.len());
    assert!(
        dom.contains("m/&lt;b&gt;'\"&amp;.sql:2"),
        "the file is shown as text"
    );
    let dom = rendered(&chromium, &path, &format!("#gfilter={}", enc("<img")));
    let img = gaps
        .iter()
        .filter(|g| g["key"].as_str().unwrap_or("").contains("<img"))
        .count();
    assert_eq!(img, 2, "the table and its column");
    assert_eq!(root_number(&dom, "gap-rows"), img);
}

/// Object names that try to close the data element, open a comment or inject markup.
fn hostile_suite(dir: &Dir) {
    dir.create(
        "t/evil.sql",
        "\
SELECT plan(5);
SELECT has_table('</script><script>alert(1)</script>');
SELECT has_table('</script><script>document.documentElement.setAttribute(\"data-pwned\",\"1\")</script>');
SELECT has_column('<!--', '<img src=x onerror=alert(2)>', 'comment opener and an img');
SELECT hasnt_table('</SCRIPT >&amp;');
SELECT * FROM finish();
",
    )
    // A plan mismatch in a file whose name is markup: rendered server-side.
    .create(
        "t/<i>x'\"&.sql",
        "SELECT plan(2);\nSELECT has_schema('s');\n",
    );
}

#[test]
fn names_cannot_break_out_of_the_data_or_the_markup() {
    let dir = Dir::new("html_hostile");
    hostile_suite(&dir);
    let html = html_of(&dir, dir.path(), &["t"]);
    assert_self_contained(&html);
    let page = split(&html);
    for bad in ["<", ">", "&", "</script", "<!--"] {
        assert!(!page.raw_data.contains(bad), "{bad:?} in the data element");
    }
    let keys: Vec<&str> = page.data["objects"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert!(
        keys.contains(&"table:public.\"</script><script>alert(1)</script>\""),
        "{keys:?}"
    );
    assert!(keys.contains(&"column:public.\"<!--\".\"<img src=x onerror=alert(2)>\""));
    assert!(keys.contains(&"table:public.\"</SCRIPT >&amp;\""));
    // The file name is escaped where the page shows it (the plan mismatch).
    assert!(html.contains("<code>t/&lt;i&gt;x&#39;&quot;&amp;.sql:1</code>"));
    assert!(!html.contains("<i>x"));
}

// ---------------------------------------------------------------------------------------
// Behavioural coverage: the coverage mode, the behaviour line, gap labels, the RLS matrix.

/// One table with row level security whose policies are tested for one role only
/// (`authenticated`; the admin's policy for none), under `anon` and `service_role` too:
/// the pair of `tests/it/behaviour.rs`.
fn rls_fixture(dir: &Dir) {
    dir.create("t/rls.sql", crate::behaviour::RLS_TEST)
        .create("db/001.sql", crate::behaviour::RLS_MIGRATION);
}

const RLS_ARGS: &[&str] = &["t", "--schema", "db", "--no-config"];

/// The page's RLS section, `<section id="rls"` to its end.
fn rls_section(html: &str) -> &str {
    let Some(start) = html.find("<section id=\"rls\"") else {
        panic!("no RLS section in the page");
    };
    let end = start + html[start..].find("</section>").unwrap_or(0) + "</section>".len();
    &html[start..end]
}

/// `s` escaped as the page escapes text and attribute values.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// From `open` (which must occur once in `hay`) to the first `close` after it.
fn element<'a>(hay: &'a str, open: &str, close: &str) -> &'a str {
    assert_eq!(hay.matches(open).count(), 1, "{open} in\n{hay}");
    let start = hay.find(open).unwrap_or(0);
    let len = hay[start..]
        .find(close)
        .unwrap_or_else(|| panic!("no {close} after {open}"));
    &hay[start..start + len + close.len()]
}

/// Every cell of the JSON report's RLS matrices is in the page's section: its state in
/// words and as a class, its policies (short names in the cell, keys in its title), and,
/// when tested, a link to an entry listing exactly its locations as `file:line`; an
/// untested cell links nowhere. Returns the number of tested cells.
fn assert_rls_matrix(html: &str, json: &Value) -> usize {
    let section = rls_section(html);
    let tables = json["behaviour"]["rls"].as_array().expect("behaviour.rls");
    assert!(!tables.is_empty());
    let mut tested = 0;
    for (i, t) in tables.iter().enumerate() {
        let table = t["table"].as_str().expect("table");
        let head = format!(
            "<div class=\"rls-table\" id=\"rls-{i}\" data-table=\"{}\">",
            escaped(table)
        );
        let start = section
            .find(&head)
            .unwrap_or_else(|| panic!("{head} not in the section"));
        let end = section[start + 1..]
            .find("<div class=\"rls-table\"")
            .map_or(section.len(), |e| start + 1 + e);
        let block = &section[start..end];
        let cells = t["cells"].as_array().expect("cells");
        assert_eq!(
            block.matches("<td class=\"rls-cell ").count(),
            cells.len(),
            "{table}"
        );
        for (j, c) in cells.iter().enumerate() {
            let (role, command) = (
                c["role"].as_str().expect("role"),
                c["command"].as_str().expect("command"),
            );
            let state = c["state"].as_str().expect("state");
            let td = element(
                block,
                &format!(
                    "<td class=\"rls-cell rls-{state}\" data-role=\"{}\" data-command=\"{command}\"",
                    escaped(role)
                ),
                "</td>",
            );
            assert!(
                td.contains(&format!("<span class=\"rls-state\">{state}</span>")),
                "the state in words: {td}"
            );
            for p in c["policies"].as_array().expect("policies") {
                let key = p.as_str().expect("policy key");
                let name = key.rsplit('.').next().unwrap_or(key);
                assert!(td.contains(&escaped(key)), "{key} in the title: {td}");
                assert!(td.contains(&escaped(name)), "{name} in the cell: {td}");
            }
            let anchor = format!("id=\"rls-{i}-{j}\"");
            if state == "untested" {
                assert!(!td.contains("<a "), "an untested cell links: {td}");
                assert!(!section.contains(&anchor), "{anchor}");
                continue;
            }
            tested += 1;
            assert!(
                td.contains(&format!("<a href=\"#rls-{i}-{j}\">")),
                "{table} {role} {command} links to its lines: {td}"
            );
            let entry = element(section, &format!("<li {anchor}>"), "</ul></li>");
            let locations = c["locations"].as_array().expect("locations");
            assert!(!locations.is_empty());
            assert_eq!(entry.matches("<code>").count(), locations.len(), "{entry}");
            for l in locations {
                let at = format!(
                    "<code>{}:{}</code>",
                    escaped(l["file"].as_str().unwrap_or("?")),
                    l["line"]
                );
                assert!(entry.contains(&at), "{at} in {entry}");
            }
            assert!(entry.contains(&format!("<a class=\"back\" href=\"#rls-{i}\">")));
        }
    }
    // Every link in the section goes to an anchor of the section.
    for (at, _) in section.match_indices("href=\"#") {
        let target = &section[at + 7..];
        let target = &target[..target.find('"').unwrap_or(0)];
        assert!(
            section.contains(&format!("id=\"{target}\"")),
            "#{target} has no anchor"
        );
    }
    tested
}

#[test]
fn rls_matrix_links_each_cell_to_the_lines_behind_it() {
    let dir = Dir::new("html_rls");
    rls_fixture(&dir);
    let html = html_of(&dir, dir.path(), RLS_ARGS);
    assert_self_contained(&html);
    let json = dir.command().current_dir(dir.path()).args(RLS_ARGS).json();
    assert_eq!(assert_rls_matrix(&html, &json), 4);
    let section = rls_section(&html);

    // The policy tested for one role only: authenticated's select is allowed under
    // todos_select, and its cell links to results_eq's line; the admin's policy is in
    // every admin cell, none of them tested.
    let select = element(
        section,
        "<td class=\"rls-cell rls-allowed\" data-role=\"authenticated\" data-command=\"select\"",
        "</td>",
    );
    assert!(select.contains("<span class=\"rls-pol\">policy: todos_select</span>"));
    let target = select
        .split("href=\"#")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a link");
    let entry = element(section, &format!("<li id=\"{target}\">"), "</ul></li>");
    assert!(entry.contains("<strong>authenticated</strong> &times; <strong>select</strong>"));
    assert!(entry.contains("<ul><li><code>t/rls.sql:6</code></li></ul>"));
    assert_eq!(
        section
            .matches("<td class=\"rls-cell rls-untested\" data-role=\"admin\"")
            .count(),
        4
    );
    assert_eq!(section.matches("policy: todos_admin</span>").count(), 4);
    // Denied (throws_ok 42501, is_empty under anon) and a role that bypasses RLS.
    assert!(section.contains(
        "data-role=\"authenticated\" data-command=\"insert\" title=\"authenticated &times; insert: denied (1 denied); policy:app.todos.todos_insert applies\">"
    ));
    assert!(section
        .contains("<td class=\"rls-cell rls-denied\" data-role=\"anon\" data-command=\"select\""));
    assert!(section.contains("<span class=\"rls-pol\">bypasses row level security</span>"));
    // The table has a tested cell: not collapsed.
    assert!(!section.contains("<details"));

    // The mode next to the percentage, the behaviour line, a link in the header.
    let percent = json["coverage"]["overall"]["percent"]
        .as_f64()
        .expect("percent");
    assert!(html.contains(&format!(
        "<div class=\"card-value\" id=\"schema-percent\">{percent:.1}%</div>\
         <span class=\"card-mode\" id=\"schema-mode\">(asserted or exercised)</span>"
    )));
    let b = &json["behaviour"];
    assert!(html.contains(&format!(
        "<p class=\"behaviour\" id=\"behaviour\"><strong>Behaviour:</strong> {} references in the tests&#39; SQL, {} resolved",
        b["references"], b["resolved"]
    )));
    assert!(html.contains("<a href=\"#schema\">Schema</a><a href=\"#rls\">Row level security</a><a href=\"#overview\">"));
    // Gaps carry what the tests do with them, as the text report says it.
    let gaps = page_gaps(&html);
    assert!(
        gaps.contains(
            &"[\"function:app.touch()\",1,0,7,\"only exercised indirectly\"]".to_string()
        ),
        "{gaps:?}"
    );
    assert!(
        gaps.contains(&"[\"function:app.unused()\",1,0,10]".to_string()),
        "{gaps:?}"
    );

    insta::assert_snapshot!("rls_section", section);

    let Some(chromium) = chromium() else { return };
    let page = write_page(&dir, "report.html", &html);
    // A cell's link target is an anchor, not table state: the page opens on it as usual.
    let dom = rendered(&chromium, &page, &format!("#{target}"));
    assert_eq!(
        rows_shown(&dom),
        json["objects"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(
        root_number(&dom, "gap-rows"),
        json["gaps"].as_array().map_or(0, Vec::len)
    );
    assert!(dom.contains("touch()<span class=\"only\">(only exercised indirectly)</span>"));
    // Gap labels are found by the gap filter.
    let dom = rendered(&chromium, &page, "#gfilter=indirectly");
    assert_eq!(gap_keys(&dom), ["function:app.touch()"]);
}

/// The embedded gaps, one JSON array per line.
fn page_gaps(html: &str) -> Vec<String> {
    split(html).data["schema"]["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(Value::to_string)
        .collect()
}

#[test]
fn rls_names_are_escaped() {
    let dir = Dir::new("html_rls_hostile");
    dir.create(
        "m/<b>.sql",
        "CREATE TABLE \"<t>\" (id int);\n\
         ALTER TABLE \"<t>\" ENABLE ROW LEVEL SECURITY;\n\
         CREATE POLICY \"<p onclick=x>\" ON \"<t>\" FOR SELECT TO \"<img src=x>\" USING (true);\n",
    )
    .create(
        "t/<i>&.sql",
        "SET ROLE \"<img src=x>\";\nSELECT lives_ok('SELECT * FROM \"<t>\"');\n",
    );
    let args = ["t", "--schema", "m", "--no-config"];
    let html = html_of(&dir, dir.path(), &args);
    assert_self_contained(&html);
    let json = dir.command().current_dir(dir.path()).args(args).json();
    assert_eq!(json["behaviour"]["rls"][0]["cells"][0]["state"], "allowed");
    assert_eq!(assert_rls_matrix(&html, &json), 1);
    let section = rls_section(&html);
    for bad in ["<img", "<t>", "<p ", "<b>", "<i>"] {
        assert!(!section.contains(bad), "{bad} in the section");
    }
    assert!(section.contains("<th scope=\"row\">&lt;img src=x&gt;</th>"));
    assert!(section.contains("<code>t/&lt;i&gt;&amp;.sql:2</code>"));
    assert!(
        section.contains("<span class=\"rls-pol\">policy: &quot;&lt;p onclick=x&gt;&quot;</span>")
    );
}

// ---------------------------------------------------------------------------------------
// Headless Chromium.

/// Chromium, or `None` (skip) when it is missing outside CI.
fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("PGTAP_SCAN_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]
            .map(PathBuf::from),
        );
    for c in candidates {
        if c.is_file() {
            return Some(c);
        }
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "CI is set but Chromium is missing: run scripts/install-chromium (or set PGTAP_SCAN_CHROMIUM)"
    );
    eprintln!(
        "note: Chromium not found (scripts/install-chromium installs it); browser test skipped"
    );
    None
}

/// What one headless run gave: the DOM after the scripts ran and the console messages.
struct Browser {
    dom: String,
    console: Vec<String>,
}

/// Opens `page` (plus `hash`) in headless Chromium with `args` (`--dump-dom`,
/// `--screenshot=..`), with a fresh profile, and no network of its own.
fn open(chromium: &Path, page: &Path, hash: &str, args: &[&str]) -> Browser {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = tempfile::tempdir().expect("output dir");
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let url = format!("file://{}{hash}", page.display());
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 120 s on {url}");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let err = std::fs::read_to_string(&stderr).unwrap_or_default();
    Browser {
        dom: std::fs::read_to_string(&stdout).unwrap_or_default(),
        console: err
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .map(str::to_string)
            .collect(),
    }
}

/// The DOM after the page's script ran without an error or console message.
fn rendered(chromium: &Path, page: &Path, hash: &str) -> String {
    let b = open(chromium, page, hash, &["--dump-dom"]);
    assert!(b.console.is_empty(), "console output: {:#?}", b.console);
    // The script marks <html> when it is done, and the error hook when anything failed.
    let root = root_tag(&b.dom);
    assert!(
        root.contains("data-ready=\"1\""),
        "the script did not finish: {root}"
    );
    assert!(!root.contains("data-js-error"), "a script error: {root}");
    b.dom
}

/// `<html ...` with its attributes, where the page's script leaves its marks.
fn root_tag(dom: &str) -> &str {
    let Some(start) = dom.find("<html") else {
        panic!("no <html> in the DOM:\n{}", head(dom));
    };
    &dom[start..start + dom[start..].find('>').unwrap_or(0)]
}

fn head(s: &str) -> &str {
    &s[..s.char_indices().nth(600).map_or(s.len(), |(i, _)| i)]
}

/// The `data-rows` the script set on `<html>`.
fn rows_shown(dom: &str) -> usize {
    let Some(i) = dom.find("data-rows=\"") else {
        panic!("no data-rows:\n{}", head(dom));
    };
    let rest = &dom[i + 11..];
    rest[..rest.find('"').unwrap_or(0)]
        .parse()
        .unwrap_or(usize::MAX)
}

/// The `data-key` of every object row, in page order (attribute values unescaped).
fn row_keys(dom: &str) -> Vec<String> {
    dom.match_indices("<tr class=\"obj\" data-key=\"")
        .map(|(i, m)| {
            let rest = &dom[i + m.len()..];
            let v = &rest[..rest.find('"').unwrap_or(0)];
            v.replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Percent-encodes a hash parameter value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn write_page(dir: &Dir, name: &str, html: &str) -> PathBuf {
    let page = dir.join(name);
    std::fs::write(&page, html).expect("write the page");
    page
}

#[test]
fn sample_page_renders_sorts_filters_and_expands_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("html_chromium");
    let html = html_of(&dir, manifest_dir(), &[SAMPLE]);
    let page = write_page(&dir, "report.html", &html);
    let json = dir.command().current_dir(manifest_dir()).arg(SAMPLE).json();
    let objects = json["objects"].as_array().expect("objects");

    // Unfiltered: every object is a row, sorted by kind then key (the database's order).
    let dom = rendered(&chromium, &page, "");
    assert_eq!(rows_shown(&dom), objects.len());
    let keys = row_keys(&dom);
    let mut expected: Vec<(String, String)> = objects
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or("").to_string(),
                o["key"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(
        keys,
        expected.into_iter().map(|(_, k)| k).collect::<Vec<_>>()
    );
    assert!(!dom.contains("class=\"detail\""), "nothing is expanded yet");

    // Filter (text + kind), sort by assertions descending, one row expanded.
    let assertions_of = |key: &str| -> u64 {
        objects
            .iter()
            .find(|o| o["key"] == key)
            .and_then(|o| o["assertions"].as_u64())
            .unwrap_or(u64::MAX)
    };
    let wanted: Vec<&str> = objects
        .iter()
        .filter_map(|o| o["key"].as_str())
        .filter(|k| k.starts_with("column:app.tenants."))
        .collect();
    assert!(wanted.len() >= 3, "{wanted:?}");
    let open_key = "column:app.tenants.slug";
    let hash = format!(
        "#filter={}&kind=column&sort=-assertions&open={}",
        enc("app.tenants."),
        enc(open_key)
    );
    let dom = rendered(&chromium, &page, &hash);
    let keys = row_keys(&dom);
    assert_eq!(rows_shown(&dom), keys.len());
    let mut sorted_keys = keys.clone();
    sorted_keys.sort();
    assert_eq!(sorted_keys, wanted, "exactly the columns of app.tenants");
    let counts: Vec<u64> = keys.iter().map(|k| assertions_of(k)).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "sorted by assertions, descending: {counts:?}"
    );
    assert!(dom.contains("aria-sort=\"descending\""));
    // The expanded row lists the object's locations as file:line:column.
    let obj = objects
        .iter()
        .find(|o| o["key"] == open_key)
        .expect("the opened object");
    assert_eq!(count(&dom, "class=\"detail\""), 1);
    for l in obj["locations"].as_array().expect("locations") {
        let at = format!(
            "{}:{}:{}",
            l["file"].as_str().unwrap_or("?"),
            l["line"],
            l["column"]
        );
        assert!(dom.contains(&at), "{at} not in the expanded row");
    }
    // The status filter: only objects asserted absent.
    let dom = rendered(&chromium, &page, "#status=absent");
    let absent_only = json["statistics"]["objects_absent_only"]
        .as_u64()
        .unwrap_or(0) as usize;
    assert!(absent_only > 0);
    assert_eq!(rows_shown(&dom), absent_only);
    assert_eq!(count(&dom, "class=\"pill absent\""), absent_only);
    // A filter nothing matches says so.
    let dom = rendered(&chromium, &page, "#filter=no-such-object-anywhere");
    assert_eq!(rows_shown(&dom), 0);
    assert!(dom.contains("No object matches these filters."));

    // A screenshot, kept in the target directory for people to look at.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    let b = open(
        &chromium,
        &page,
        "",
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1000",
        ],
    );
    assert!(b.console.is_empty(), "console output: {:#?}", b.console);
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 30_000,
        "a {} byte screenshot is too plain to be the report",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}

/// The `data-<name>` number the script set on `<html>`.
fn root_number(dom: &str, name: &str) -> usize {
    let root = root_tag(dom);
    let needle = format!("data-{name}=\"");
    let Some(i) = root.find(&needle) else {
        panic!("no data-{name}: {root}");
    };
    let rest = &root[i + needle.len()..];
    rest[..rest.find('"').unwrap_or(0)]
        .parse()
        .unwrap_or(usize::MAX)
}

/// The `data-key` of every gap row, in page order.
fn gap_keys(dom: &str) -> Vec<String> {
    dom.match_indices("<tr class=\"gap\" data-key=\"")
        .map(|(i, m)| {
            let rest = &dom[i + m.len()..];
            rest[..rest.find('"').unwrap_or(0)].replace("&quot;", "\"")
        })
        .collect()
}

#[test]
fn realworld_schema_section_renders_and_filters_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("html_chromium_realworld");
    let html = html_of(&dir, &realworld_dir(), REALWORLD);
    let page = write_page(&dir, "report.html", &html);
    let json = dir
        .command()
        .current_dir(realworld_dir())
        .args(REALWORLD)
        .json();
    let gaps = json["gaps"].as_array().expect("gaps");
    let keys_where = |f: &dyn Fn(&Value) -> bool| -> Vec<String> {
        gaps.iter()
            .filter(|g| f(g))
            .filter_map(|g| g["key"].as_str().map(str::to_string))
            .collect()
    };

    // Unfiltered: every gap is a row, in the report's order, under its kind's heading.
    let dom = rendered(&chromium, &page, "");
    assert_eq!(root_number(&dom, "gaps"), gaps.len());
    assert_eq!(root_number(&dom, "gap-rows"), gaps.len());
    assert_eq!(gap_keys(&dom), keys_where(&|_| true));
    assert!(dom.contains(&format!(
        "<output id=\"g-count\" aria-live=\"polite\">{} gaps</output>",
        gaps.len()
    )));
    let kinds: Vec<&str> = {
        let mut k: Vec<&str> = gaps.iter().filter_map(|g| g["kind"].as_str()).collect();
        k.dedup();
        k
    };
    assert_eq!(count(&dom, "<tr class=\"group\">"), kinds.len());
    // The object table is drawn as before.
    assert_eq!(
        rows_shown(&dom),
        json["objects"].as_array().map_or(0, Vec::len)
    );

    // By kind.
    let dom = rendered(&chromium, &page, "#gkind=policy");
    let policies = keys_where(&|g| g["kind"] == "policy");
    assert!(policies.len() > 10);
    assert_eq!(root_number(&dom, "gap-rows"), policies.len());
    assert_eq!(gap_keys(&dom), policies);
    assert_eq!(count(&dom, "<tr class=\"group\">"), 1);

    // By text: the key or the defining file; together with a table filter.
    let needle = "billing";
    let matching = keys_where(&|g| {
        g["key"].as_str().unwrap_or("").contains(needle)
            || g["defined_at"]["file"]
                .as_str()
                .unwrap_or("")
                .contains(needle)
    });
    assert!(!matching.is_empty() && matching.len() < gaps.len());
    let dom = rendered(&chromium, &page, &format!("#gfilter={needle}&kind=table"));
    assert_eq!(gap_keys(&dom), matching);
    assert!(dom.contains(&format!("{} of {} gaps", matching.len(), gaps.len())));
    let tables = json["objects"]
        .as_array()
        .map_or(0, |o| o.iter().filter(|o| o["kind"] == "table").count());
    assert_eq!(rows_shown(&dom), tables);

    let dom = rendered(&chromium, &page, "#gfilter=no-such-gap-anywhere");
    assert_eq!(root_number(&dom, "gap-rows"), 0);
    assert!(dom.contains("No gap matches these filters."));

    // The screenshot docs/html-report.png is taken like this, kept in the target directory.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report-schema.png");
    let _ = std::fs::remove_file(&shot);
    let b = open(
        &chromium,
        &page,
        "",
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1200",
        ],
    );
    assert!(b.console.is_empty(), "console output: {:#?}", b.console);
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn hostile_names_do_not_run_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("html_chromium_hostile");
    hostile_suite(&dir);
    let html = html_of(&dir, dir.path(), &["t"]);
    let page = write_page(&dir, "report.html", &html);
    let dom = rendered(&chromium, &page, "");
    assert!(
        !root_tag(&dom).contains("data-pwned"),
        "an object name ran as script"
    );
    assert!(dom.contains("data-pwned"), "the name is shown as text");
    assert!(!dom.contains("<img"), "an object name became markup");
    let keys = row_keys(&dom);
    assert_eq!(rows_shown(&dom), keys.len());
    assert!(
        keys.contains(&"table:public.\"</script><script>alert(1)</script>\"".to_string()),
        "{keys:?}"
    );
    // Shown as text.
    assert!(dom.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    // And the page still filters: the hostile names are found by their text.
    let dom = rendered(&chromium, &page, &format!("#filter={}", enc("<!--")));
    assert_eq!(rows_shown(&dom), 2, "the table and the column named <!--");
}

#[test]
fn shared_corpus_page_opens_in_chromium() {
    let Some(shared) = util::shared() else { return };
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("html_corpus");
    let html = html_of(&dir, &shared, &["corpus"]);
    assert_self_contained(&html);
    let objects = split(&html).data["objects"].as_array().map_or(0, Vec::len);
    assert!(objects > 500, "{objects} objects");
    let page = write_page(&dir, "corpus.html", &html);
    let started = Instant::now();
    let dom = rendered(&chromium, &page, "");
    eprintln!(
        "corpus page: {} bytes, {objects} objects, opened in {:?}",
        html.len(),
        started.elapsed()
    );
    assert_eq!(rows_shown(&dom), objects);
}

#[test]
fn empty_suite_page_opens_in_chromium() {
    let dir = Dir::new("html_empty");
    dir.create_dir("t");
    // An empty root is an error unless said to be expected.
    let html = html_of(&dir, dir.path(), &["t", "--allow-empty"]);
    assert_self_contained(&html);
    assert!(html.contains("No objects named."));
    let Some(chromium) = chromium() else { return };
    let page = write_page(&dir, "report.html", &html);
    let dom = rendered(&chromium, &page, "");
    assert_eq!(rows_shown(&dom), 0);
    assert!(dom.contains("The suite names no objects."));
}

#[test]
fn fully_tested_schema_page_opens_in_chromium() {
    let dir = Dir::new("html_no_gaps");
    dir.create("m/1.sql", "CREATE SCHEMA app;\nCREATE TABLE app.t (id int);\n")
        .create(
            "t/t.sql",
            "SELECT plan(3);\nSELECT has_schema('app');\nSELECT has_table('app', 't', 'd');\nSELECT has_column('app', 't', 'id', 'd');\n",
        );
    let args = ["t", "--schema", "m", "--no-config"];
    let html = html_of(&dir, dir.path(), &args);
    assert_self_contained(&html);
    assert!(html.contains("id=\"schema-percent\">100.0%</div>"));
    assert!(html.contains("None: every object of the schema is tested."));
    assert!(html.contains("None: every object the suite asserts exists in the schema."));
    assert!(!html.contains("id=\"gap-filters\""));
    let Some(chromium) = chromium() else { return };
    let page = write_page(&dir, "report.html", &html);
    let dom = rendered(&chromium, &page, "#gfilter=x&kind=table");
    assert_eq!(root_number(&dom, "gaps"), 0);
    assert_eq!(rows_shown(&dom), 1);
}

pgtest!(the_html_header_has_a_date_and_no_jargon, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('a');\n");
    let run = cmd
        .args(["t.sql", "-f", "html"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .expect_code(0);
    assert!(
        run.stdout.contains("<time>2023-11-14 22:13 UTC</time>"),
        "date"
    );
    assert!(!run.stdout.contains("standard mode"), "jargon");
});
