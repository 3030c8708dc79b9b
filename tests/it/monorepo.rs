//! Monorepos (issue 17): `fixtures/monorepo` holds three projects (two Supabase-style, one
//! plain migrations folder declared in the root config, billing with a gate that fails)
//! and a test file of no project. One run reports each project against its own universe,
//! a total, and per-project gates, in every format.

use std::path::Path;

use serde_json::Value;

use crate::util::fixture;
use crate::util::{Dir, Run};

/// `pgtap-scan ARGS` in `fixtures/monorepo`, with its `.pgtap-scan.toml`.
fn monorepo(args: &[&str]) -> Run {
    let dir = Dir::new("monorepo");
    dir.command()
        .current_dir(fixture("monorepo"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["--color", "never"])
        .args(args)
        .run()
}

fn project<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no project {name}: {r}"))
}

#[test]
fn one_run_reports_every_project_against_its_own_universe() {
    let run = monorepo(&["--format", "json"]);
    assert_eq!(run.code, Some(1), "billing's gate fails\n{run}");
    let r = run.json();
    let names: Vec<&str> = r["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["billing", "legacy", "services/auth"]);
    // Each project against its own migrations: billing's tables are not auth's.
    let billing = project(&r, "billing");
    assert_eq!(billing["roots"][0], "services/billing/supabase/tests");
    assert_eq!(billing["files"], 1);
    assert_eq!(
        billing["schema"]["coverage"]["by_kind"]["policy"]["objects"],
        2
    );
    assert_eq!(
        billing["schema"]["coverage"]["by_kind"]["policy"]["tested"],
        1
    );
    let auth = project(&r, "services/auth");
    assert_eq!(auth["schema"]["coverage"]["by_kind"]["view"]["objects"], 1);
    assert!(auth["schema"]["coverage"]["by_kind"]
        .get("policy")
        .is_none());
    let legacy = project(&r, "legacy");
    assert_eq!(legacy["roots"][0], "legacy/db-tests");
    assert_eq!(legacy["schema"]["universe_source"], "migrations");
    // The total is the sum of the projects'.
    let sum = |what: &str| -> u64 {
        r["projects"]
            .as_array()
            .expect("projects")
            .iter()
            .map(|p| {
                p["schema"]["coverage"]["overall"][what]
                    .as_u64()
                    .expect("count")
            })
            .sum()
    };
    assert_eq!(
        r["coverage"]["overall"]["objects"].as_u64(),
        Some(sum("objects"))
    );
    assert_eq!(
        r["coverage"]["overall"]["tested"].as_u64(),
        Some(sum("tested"))
    );
    // shared-tests/smoke.sql is scanned, and no project's.
    assert_eq!(r["files_outside_projects"], 1);
    assert_eq!(r["summary"]["files"], 4);
}

#[test]
fn a_project_gate_that_falls_short_names_the_project_and_the_kind() {
    let run = monorepo(&[]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains(
        "project billing: coverage gate failed: policy coverage 50.0% (1 of 2) is below 100%",
    );
    // legacy's gate (25) holds.
    run.assert_stderr_lacks("project legacy:");
    assert!(
        run.stdout.contains("gate failed: policy coverage 50.0%"),
        "{run}"
    );
}

#[test]
fn fail_under_project_colon_spec_replaces_that_projects_gates() {
    let run = monorepo(&["--fail-under", "billing:policy=50"]);
    assert_eq!(run.code, Some(0), "{run}");
    let run = monorepo(&[
        "--fail-under",
        "billing:policy=50",
        "--fail-under",
        "legacy:table=100",
    ]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains("project legacy: coverage gate failed: table coverage 50.0%");
    // A gate of the whole scan is held against the total.
    let run = monorepo(&["--fail-under", "billing:50", "--fail-under", "90"]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains("coverage gate failed: overall coverage");
    let run = monorepo(&["--fail-under", "nosuch:80"]);
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("--fail-under nosuch:80: no project named \"nosuch\"");
}

#[test]
fn project_flag_narrows_the_run() {
    let run = monorepo(&["--project", "services/auth", "--format", "json"]);
    assert_eq!(run.code, Some(0), "auth has no gate\n{run}");
    let r = run.json();
    assert_eq!(r["projects"].as_array().expect("projects").len(), 1);
    assert_eq!(r["summary"]["files"], 1);
    assert_eq!(r["files_outside_projects"], 0);
    let run = monorepo(&[
        "--project",
        "billing",
        "--project",
        "legacy",
        "--format",
        "json",
    ]);
    assert_eq!(
        run.json()["projects"].as_array().expect("projects").len(),
        2
    );
    let run = monorepo(&["--project", "nope"]);
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains(
        "--project nope: no such project; the projects: billing, legacy, services/auth",
    );
}

#[test]
fn the_json_report_with_projects_matches_its_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("valid schema");
    let r = monorepo(&["--format", "json"]).json();
    let errors: Vec<String> = validator.iter_errors(&r).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn ci_formats_carry_paths_from_the_repository_root() {
    let root = fixture("monorepo");
    for (format, prefix) in [
        ("lcov", "SF:"),
        ("cobertura", "filename=\""),
        ("sarif", "\"uri\": \""),
        ("junit", "file=\""),
        ("github", "file="),
    ] {
        let run = monorepo(&["--format", format]);
        let mut seen = 0;
        for part in run.stdout.split(prefix).skip(1) {
            let path: String = part
                .chars()
                .take_while(|c| !matches!(c, '"' | ',' | '\n'))
                .collect();
            assert!(
                root.join(&path).is_file(),
                "{format}: {path} is not a file from the repository root"
            );
            seen += 1;
        }
        assert!(seen > 0, "{format}: no path\n{run}");
        // Every project's migrations are there (GitHub annotates the first ten gaps only).
        if format == "github" {
            continue;
        }
        for p in ["services/billing", "services/auth", "legacy/db"] {
            assert!(run.stdout.contains(p), "{format}: nothing of {p}");
        }
    }
}

// Run from a folder below the repository root (the config found upwards), the projects'
// folders became absolute paths and the CI formats carried them as such (or relative to
// the current folder), and the declared `billing` met the billing found below as a second
// project of one name. The same scan now: the same projects, and in every CI format the
// same repository-relative paths as from the root.
#[test]
fn ci_formats_carry_repository_paths_when_run_from_a_subfolder() {
    let dir = Dir::new("monorepo-below");
    crate::util::copy_tree(&fixture("monorepo"), dir.path());
    let run_in = |cwd: &Path, format: &str| {
        dir.command()
            .current_dir(cwd)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["--color", "never", "--format", format])
            .run()
    };
    let below = dir.join("services/auth");
    let (root_json, below_json) = (
        run_in(dir.path(), "json").json(),
        run_in(&below, "json").json(),
    );
    let sections = |r: &Value| -> Vec<(Value, Value, Value)> {
        r["projects"]
            .as_array()
            .expect("projects")
            .iter()
            .map(|p| {
                (
                    p["name"].clone(),
                    p["files"].clone(),
                    p["tested_objects"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(sections(&below_json), sections(&root_json));
    assert_eq!(below_json["files_outside_projects"], 1);
    for format in [
        "lcov",
        "cobertura",
        "sarif",
        "junit",
        "github",
        "codequality",
    ] {
        let (from_root, from_below) = (run_in(dir.path(), format), run_in(&below, format));
        assert_eq!(from_below.code, from_root.code, "{format}\n{from_below}");
        assert_eq!(from_below.stdout, from_root.stdout, "{format}");
        assert!(
            from_root
                .stdout
                .contains("services/billing/supabase/migrations/"),
            "{format}: {}",
            from_root.stdout
        );
    }
}

/// The report sections, as a reader sees them.
#[test]
fn text_markdown_and_html_have_a_section_per_project_and_a_total() {
    let text = monorepo(&[]).stdout;
    insta::assert_snapshot!("monorepo_text", text);
    let md = monorepo(&["--format", "markdown"]).stdout;
    insta::assert_snapshot!("monorepo_markdown", md);
    let html = monorepo(&["--format", "html"]).stdout;
    let start = html
        .find("<section id=\"projects\"")
        .expect("projects section");
    let end = start + html[start..].find("</section>").expect("its end");
    insta::assert_snapshot!("monorepo_html_projects", &html[start..end]);
    assert!(html.contains("<a href=\"#projects\">Projects</a>"));
}

#[test]
fn every_format_reports_the_monorepo() {
    for format in pgtap_scan::report::FORMATS.iter().map(|f| f.name) {
        if format == "partial" {
            continue;
        }
        let run = monorepo(&["--format", format]);
        assert_eq!(run.code, Some(1), "{format}: billing's gate\n{run}");
        assert!(!run.stdout.is_empty(), "{format}: empty report\n{run}");
    }
    let mut json = monorepo(&["--format", "json"]).json();
    json.as_object_mut().expect("object").remove("stats");
    insta::assert_json_snapshot!("monorepo_json_projects", json["projects"]);
}

pgtest!(
    two_supabase_projects_side_by_side_are_two_projects,
    |dir, cmd| {
        for (name, table) in [("shop", "orders"), ("blog", "posts")] {
            dir.create(
                format!("{name}/supabase/config.toml"),
                "[db]\nport = 54322\n",
            )
            .create(
                format!("{name}/supabase/migrations/0001_init.sql"),
                format!("CREATE TABLE {table} (id int);\nCREATE TABLE {table}_log (id int);\n"),
            )
            .create(
                format!("{name}/supabase/tests/t.sql"),
                format!("SELECT plan(1);\nSELECT has_table('{table}');\n"),
            );
        }
        let r = cmd
            .args(["--no-config", "--format", "json"])
            .expect_code(0)
            .json();
        let names: Vec<&str> = r["projects"]
            .as_array()
            .expect("projects")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["blog", "shop"]);
        for p in r["projects"].as_array().expect("projects") {
            // Two tables each, one tested: not one merged universe of four.
            assert_eq!(
                p["schema"]["coverage"]["by_kind"]["table"]["objects"], 2,
                "{p}"
            );
            assert_eq!(
                p["schema"]["coverage"]["by_kind"]["table"]["tested"], 1,
                "{p}"
            );
        }
    }
);

pgtest!(discover_projects_false_keeps_one_scan, |dir, cmd| {
    dir.create(".pgtap-scan.toml", "discover-projects = false\n")
        .create("a/supabase/config.toml", "")
        .create("a/supabase/tests/t.sql", "SELECT has_table('x');\n");
    let r = cmd.args(["--format", "json"]).expect_code(0).json();
    assert!(r.get("projects").is_none(), "{r}");
});

pgtest!(a_project_of_its_own_config_file_is_found, |dir, cmd| {
    dir.create(
        "svc/.pgtap-scan.toml",
        "paths = [\"t\"]\nschema = \"db\"\nfail-under = 100\n",
    )
    .create(
        "svc/db/1.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
    )
    .create("svc/t/a.sql", "SELECT has_table('a');\n")
    .create("other/supabase/config.toml", "")
    .create(
        "other/supabase/migrations/1.sql",
        "CREATE TABLE c (id int);\n",
    )
    .create("other/supabase/tests/c.sql", "SELECT has_table('c');\n");
    let run = cmd.args(["--no-config", "--format", "json"]).run();
    assert_eq!(run.code, Some(1), "svc's own gate\n{run}");
    run.assert_stderr_contains(
        "project svc: coverage gate failed: overall coverage 25.0% (1 of 4)",
    );
    let r = run.json();
    assert_eq!(r["projects"].as_array().expect("projects").len(), 2);
});

pgtest!(
    two_projects_of_one_name_are_an_error_naming_the_line,
    |dir, cmd| {
        dir.create(
        ".pgtap-scan.toml",
        "[[project]]\nname = \"app\"\ntests = \"a\"\n\n[[project]]\nname = \"app\"\ntests = \"b\"\n",
    )
    .create("a/t.sql", "SELECT pass();\n")
    .create("b/t.sql", "SELECT pass();\n");
        let run = cmd.expect_code(2);
        run.assert_stderr_contains(
            ".pgtap-scan.toml:5: a second project named \"app\" (the first: ",
        );
        run.assert_stderr_contains(".pgtap-scan.toml:1)");
    }
);

pgtest!(
    a_glob_matching_nothing_is_a_warning_naming_the_line,
    |dir, cmd| {
        dir.create(
        ".pgtap-scan.toml",
        "[[project]]\nname = \"a\"\ntests = \"a\"\n\n[[project]]\npath = \"services/*/supabase\"\n",
    )
    .create("a/t.sql", "SELECT pass();\n");
        let run = cmd.expect_code(0);
        run.assert_stderr_contains(
            ".pgtap-scan.toml:5: [[project]] path = \"services/*/supabase\" matches no folder",
        );
    }
);

pgtest!(a_glob_path_makes_a_project_per_folder, |dir, cmd| {
    dir.create(
        ".pgtap-scan.toml",
        "discover-projects = false\n\n[[project]]\nname = \"svc-*\"\npath = \"services/*/supabase\"\n",
    );
    for s in ["one", "two"] {
        dir.create(format!("services/{s}/supabase/config.toml"), "")
            .create(
                format!("services/{s}/supabase/migrations/1.sql"),
                "CREATE TABLE t (id int);\n",
            )
            .create(
                format!("services/{s}/supabase/tests/t.sql"),
                "SELECT has_table('t');\n",
            );
    }
    let r = cmd.args(["--format", "json"]).expect_code(0).json();
    let names: Vec<&str> = r["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["svc-one", "svc-two"]);
    assert_eq!(r["coverage"]["overall"]["objects"], 4);
});

/// The fixture monorepo copied into a temporary folder, its JSON report there as
/// `base.json`, then changed: billing tests its second policy, legacy stops testing a
/// table, services/auth is gone and services/shop is new.
fn monorepo_a_commit_later() -> Dir {
    let dir = Dir::new("monorepo-baseline");
    crate::util::copy_tree(&fixture("monorepo"), dir.path());
    let run = dir
        .command()
        .args(["--format", "json", "-q", "-o", "base.json"])
        .run();
    assert_eq!(run.code, Some(1), "billing's gate\n{run}");
    let billing = dir.join("services/billing/supabase/tests/invoices_test.sql");
    let mut text = std::fs::read_to_string(&billing).expect("billing's test");
    text.push_str("SELECT policies_are('invoices', ARRAY['invoices_owner', 'invoices_admin']);\n");
    dir.create("services/billing/supabase/tests/invoices_test.sql", text);
    let legacy = std::fs::read_to_string(dir.join("legacy/db-tests/reports.sql")).expect("legacy");
    let legacy: String = legacy
        .lines()
        .filter(|l| !l.contains("has_table('reports')"))
        .map(|l| format!("{l}\n"))
        .collect();
    dir.create("legacy/db-tests/reports.sql", legacy);
    std::fs::remove_dir_all(dir.join("services/auth")).expect("auth");
    dir.create("services/shop/supabase/config.toml", "")
        .create(
            "services/shop/supabase/migrations/1.sql",
            "CREATE TABLE carts (id int);\n",
        )
        .create(
            "services/shop/supabase/tests/t.sql",
            "SELECT has_table('carts');\n",
        );
    dir
}

fn baseline_run(dir: &Dir, args: &[&str]) -> Run {
    dir.command()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["--color", "never", "--baseline", "base.json"])
        .args(args)
        .run()
}

#[test]
fn a_baseline_compares_a_monorepo_project_by_project() {
    let dir = monorepo_a_commit_later();
    let text = baseline_run(&dir, &[]);
    assert_eq!(text.code, Some(1), "legacy's gate\n{text}");
    let at = text
        .stdout
        .find("Coverage versus baseline")
        .expect("the comparison");
    insta::assert_snapshot!("monorepo_baseline_text", &text.stdout[at..]);
    let md = baseline_run(&dir, &["--format", "markdown"]);
    let md_at = md
        .stdout
        .find("### Coverage versus baseline")
        .expect("the comparison");
    insta::assert_snapshot!("monorepo_baseline_markdown", &md.stdout[md_at..]);
    let json = baseline_run(&dir, &["--format", "json"]).json();
    let projects = &json["baseline"]["projects"];
    insta::assert_json_snapshot!("monorepo_baseline_json", projects);
    let status = |name: &str| {
        projects
            .as_array()
            .expect("projects")
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["status"].clone())
    };
    assert_eq!(status("services/shop"), Some("added".into()));
    assert_eq!(status("services/auth"), Some("removed".into()));
    // The total's lists would mix projects' keys: each project has its own.
    assert_eq!(json["baseline"]["newly_untested"], serde_json::json!([]));
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema")).expect("JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // legacy's overall fell; the total's did not.
    let run = baseline_run(&dir, &["--fail-on-drop", "-q", "--fail-under", "legacy:0"]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains(
        "project legacy: coverage fell versus the baseline: overall 27.2% (3/11) -> 18.1% (2/11)",
    );
    run.assert_stderr_lacks("pgtap-scan: coverage fell");
    // pgtap-scan diff compares the same way.
    dir.command()
        .args(["--format", "json", "-q", "-o", "new.json"])
        .run();
    let diff = dir
        .command()
        .args(["diff", "base.json", "new.json"])
        .expect_code(0);
    // (The report ends with its coverage line, the diff does not.)
    let section = &text.stdout[at..];
    let section = &section[..section.find("Coverage: ").expect("the coverage line")];
    assert_eq!(section, diff.stdout);
}

#[test]
fn a_baseline_and_a_report_one_with_projects_one_without_are_not_compared() {
    let dir = Dir::new("monorepo-baseline-shape");
    crate::util::copy_tree(&fixture("monorepo"), dir.path());
    // The baseline: legacy alone, without projects.
    dir.command()
        .args([
            "--no-config",
            "legacy/db-tests",
            "--schema",
            "legacy/db/migrations",
        ])
        .args(["--format", "json", "-q", "-o", "one.json"])
        .expect_code(0);
    let run = dir.command().args(["--baseline", "one.json"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains(
        "--baseline one.json: the baseline was taken without projects and this report has 3 projects",
    );
    assert!(run.stdout.is_empty(), "a report was written\n{run}");
    // The reverse: a monorepo's baseline, one project scanned alone.
    dir.command()
        .args(["--format", "json", "-q", "-o", "all.json"])
        .run();
    let run = dir
        .command()
        .args([
            "--no-config",
            "legacy/db-tests",
            "--schema",
            "legacy/db/migrations",
        ])
        .args(["--baseline", "all.json"])
        .run();
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("the baseline has 3 projects and this report has none");
    let run = dir.command().args(["diff", "one.json", "all.json"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("one.json and all.json: the first was taken without projects");
}

#[test]
fn a_merge_compares_with_a_baseline_as_one_run() {
    let dir = monorepo_a_commit_later();
    let one = baseline_run(&dir, &["--format", "json"]).json();
    let parts: Vec<String> = (1..=3)
        .map(|k| {
            let p = format!("s{k}.pgtap");
            dir.command()
                .args([
                    "--shard",
                    &format!("{k}/3"),
                    "--format",
                    "partial",
                    "-q",
                    "-o",
                    &p,
                ])
                .expect_code(0);
            p
        })
        .collect();
    let merged = dir
        .command()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("merge")
        .args(&parts)
        .args([
            "--color",
            "never",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(merged.code, Some(1), "{merged}");
    assert_eq!(merged.json()["baseline"], one["baseline"]);
}

/// `pgtap-scan ARGS` in `fixtures/monorepo` with a subcommand first (`merge`).
fn monorepo_command(command: &str, args: &[&str]) -> Run {
    Dir::new("monorepo")
        .command()
        .current_dir(fixture("monorepo"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args([command, "--color", "never"])
        .args(args)
        .run()
}

/// Shards k/n of the fixture monorepo (with `args`) written into `out`; their paths.
fn monorepo_shards(out: &Dir, n: u32, args: &[&[&str]]) -> Vec<String> {
    (1..=n)
        .map(|k| {
            let p = out
                .join(format!("shard-{k}-of-{n}.pgtap"))
                .display()
                .to_string();
            let shard = format!("{k}/{n}");
            let mut a = vec!["--shard", &shard, "--format", "partial", "-q", "-o", &p];
            a.extend(args.get(k as usize - 1).copied().unwrap_or_default());
            let run = monorepo(&a);
            assert_eq!(run.code, Some(0), "shard {shard}\n{run}");
            p
        })
        .collect()
}

#[test]
fn merging_the_monorepos_shards_gives_the_one_runs_report_in_every_format() {
    let out = Dir::new("monorepo-shards");
    for n in [1, 3] {
        let parts = monorepo_shards(&out, n, &[]);
        for (format, _) in crate::shard::FORMATS {
            let one = monorepo(&["--format", format]);
            let mut m: Vec<&str> = parts.iter().map(String::as_str).collect();
            m.extend(["--format", format]);
            let merged = monorepo_command("merge", &m);
            // billing's gate (its config's) fails at the merge as in one run.
            assert_eq!(merged.code, Some(1), "{n} shards, {format}\n{merged}");
            merged.assert_stderr_contains(
                "project billing: coverage gate failed: policy coverage 50.0% (1 of 2)",
            );
            let (want, got) = (
                crate::shard::without_stats(format, &one.stdout),
                crate::shard::without_stats(format, &merged.stdout),
            );
            assert!(
                got == want,
                "{n} shards, --format {format}: the merge differs from one run\n{}",
                crate::shard::first_difference(&want, &got)
            );
        }
    }
    let parts = monorepo_shards(&out, 3, &[]);
    let r = {
        let mut m: Vec<&str> = parts.iter().map(String::as_str).collect();
        m.extend(["--format", "json"]);
        monorepo_command("merge", &m).json()
    };
    assert_eq!(r["projects"].as_array().expect("projects").len(), 3);
    assert_eq!(r["files_outside_projects"], 1);
    // Streamed (no per-file detail kept), each project gets its files as they are folded.
    let always: &[&str] = &["--streaming", "always"];
    let parts = monorepo_shards(&out, 3, &[always, always, always]);
    let mut m: Vec<&str> = parts.iter().map(String::as_str).collect();
    m.extend(["--format", "json", "--streaming", "always"]);
    let streamed = monorepo_command("merge", &m).json();
    assert_eq!(streamed["projects"], r["projects"]);
    let parts = monorepo_shards(&out, 3, &[]);
    // Gates given to the merge replace the project's own, as in one run.
    let mut m: Vec<&str> = parts.iter().map(String::as_str).collect();
    m.extend(["--fail-under", "billing:policy=50"]);
    let run = monorepo_command("merge", &m);
    assert_eq!(run.code, Some(0), "{run}");
}

#[test]
fn a_merge_refuses_shards_made_with_other_projects() {
    let out = Dir::new("monorepo-mismatch");
    // Shard 2 narrowed to billing: the shards disagree.
    let parts = monorepo_shards(&out, 2, &[&[], &["--project", "billing"]]);
    let run = monorepo_command("merge", &[&parts[0], &parts[1]]);
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("were made with other projects (");
    run.assert_stderr_contains("only: legacy, services/auth");
    assert!(run.stdout.is_empty(), "a report was written\n{run}");
    // The shards agree, the merge finds other projects (no config: legacy is not declared).
    let parts = monorepo_shards(&out, 2, &[]);
    let run = monorepo_command("merge", &["--no-config", &parts[0], &parts[1]]);
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("was made with other projects than this merge finds (");
    run.assert_stderr_contains(
        "the shards only: billing, legacy; the merge only: services/billing",
    );
    assert!(run.stdout.is_empty(), "a report was written\n{run}");
    let run = monorepo_command("merge", &["--project", "legacy", &parts[0], &parts[1]]);
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("the shards only: billing, services/auth");
}

#[test]
fn a_project_gate_on_a_shard_is_refused() {
    let out = Dir::new("monorepo-shard-gate");
    let p = out.join("s.pgtap").display().to_string();
    let run = monorepo(&[
        "--shard",
        "1/2",
        "--format",
        "partial",
        "-o",
        &p,
        "--fail-under",
        "billing:policy=50",
    ]);
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains(
        "--fail-under billing:policy=50 with --shard: a shard holds part of the suite",
    );
    assert!(!out.join("s.pgtap").exists());
}

/// Above 1,000 files the scan streams (no per-file detail kept): projects then get their
/// files as they are aggregated, with the same results.
#[test]
fn streaming_gives_every_project_the_same_results() {
    let kept = monorepo(&["--format", "json", "--streaming", "never"]).json();
    let streamed = monorepo(&["--format", "json", "--streaming", "always"]).json();
    assert!(streamed.get("files").is_none());
    for (a, b) in kept["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .zip(streamed["projects"].as_array().expect("projects"))
    {
        assert_eq!(a["files"], b["files"]);
        assert_eq!(a["schema"]["coverage"], b["schema"]["coverage"]);
        assert_eq!(a["schema"]["gaps"], b["schema"]["gaps"]);
    }
    assert_eq!(
        kept["files_outside_projects"],
        streamed["files_outside_projects"]
    );
}

pgtest!(an_unknown_project_lists_at_most_twenty_names, |dir, cmd| {
    for i in 0..25 {
        dir.create(format!("p{i:02}/supabase/config.toml"), "")
            .create(format!("p{i:02}/supabase/tests/t.sql"), "SELECT pass();\n");
    }
    let run = cmd
        .args(["--no-config", "--project", "nope"])
        .expect_code(2);
    run.assert_stderr_contains("p00, p01, p02");
    run.assert_stderr_contains("p19 and 5 more");
    run.assert_stderr_lacks("p20");
});

pgtest!(
    an_include_reaching_into_another_project_is_a_warning_naming_the_line,
    |dir, cmd| {
        for (name, table) in [("a", "ta"), ("b", "tb")] {
            dir.create(format!("{name}/supabase/config.toml"), "")
                .create(
                    format!("{name}/supabase/migrations/1.sql"),
                    format!("CREATE TABLE {table} (id int);\n"),
                );
        }
        dir.create(
            "a/supabase/tests/t.sql",
            "SELECT plan(3);\nSELECT has_table('ta');\n\\ir ../../../b/supabase/tests/helper.sql\n\
             \\ir ../../../shared/common.psql\n",
        )
        .create("b/supabase/tests/helper.sql", "SELECT has_table('tb');\n")
        .create("shared/common.psql", "SELECT pass();\n");
        let run = cmd
            .args(["--no-config", "--format", "json", "--color", "never"])
            .expect_code(0);
        run.assert_stderr_contains(
            "a/supabase/tests/t.sql:3: the include of ../../../b/supabase/tests/helper.sql \
             reaches into project b's tests: includes stay inside their project, so its \
             assertions count for b, not a",
        );
        // A shared helper of no project is no project's to keep (it is outside the scanned
        // folders here, which is said as before).
        run.assert_stderr_lacks("common.psql reaches");
        let r = run.json();
        let tested = |name: &str| project(&r, name)["tested_objects"].clone();
        assert_eq!(tested("a"), serde_json::json!(["table:public.ta"]));
        assert_eq!(tested("b"), serde_json::json!(["table:public.tb"]));
        // The warning is the report's too, not only stderr's (it was stderr's only): in
        // JSON's messages with its file and line, counted, and in the text report.
        let crossing: Vec<&Value> = r["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| {
                m["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("reaches into"))
            })
            .collect();
        assert_eq!(crossing.len(), 1, "{:#}", r["messages"]);
        assert_eq!(crossing[0]["path"], "a/supabase/tests/t.sql");
        assert_eq!(crossing[0]["line"], 3);
        assert_eq!(crossing[0]["severity"], "warning");
        assert!(
            r["summary"]["warnings"].as_u64().unwrap_or(0) >= 1,
            "{}",
            r["summary"]
        );
        let text = dir
            .command()
            .args(["--no-config", "--color", "never"])
            .expect_code(0);
        assert!(
            text.stdout.contains(
                "a/supabase/tests/t.sql:3: the include of ../../../b/supabase/tests/helper.sql \
                 reaches into project b's tests"
            ),
            "{}",
            text.stdout
        );
    }
);

/// Three projects that read the same call three ways: `a` and `b` declare a helper of
/// one name (`[[project.helper]]`) on another argument and a role helper of one name for
/// another role; `c`, found by its own `.pgtap-scan.toml`, declares its `[[helper]]` and
/// `search-path` there.
fn projects_with_their_own_helpers(dir: &Dir) {
    dir.create(
        ".pgtap-scan.toml",
        "[[project]]\nname = \"a\"\npath = \"a\"\n\
         [[project.helper]]\nname = \"tests.owns\"\nkind = \"table\"\nargs = [\"table\", \"_\"]\n\
         [[project.role-helper]]\nname = \"tests.become\"\nrole = \"anon\"\n\n\
         [[project]]\nname = \"b\"\npath = \"b\"\n\
         [[project.helper]]\nname = \"tests.owns\"\nkind = \"table\"\nargs = [\"_\", \"table\"]\n\
         [[project.role-helper]]\nname = \"tests.become\"\nrole = \"authenticated\"\n",
    )
    .create("a/migrations/1.sql", "CREATE TABLE widgets (id int);\n")
    .create("b/migrations/1.sql", "CREATE TABLE gadgets (id int);\n")
    .create(
        "c/.pgtap-scan.toml",
        "search-path = [\"app\"]\n\
         [[helper]]\nname = \"tests.owns\"\nkind = \"table\"\nargs = [\"_\", \"_\", \"table\"]\n",
    )
    .create(
        "c/migrations/1.sql",
        "CREATE SCHEMA app;\nCREATE TABLE app.things (id int);\n",
    );
    for (p, call) in [
        ("a", "'widgets', 'x'"),
        ("b", "'x', 'gadgets'"),
        ("c", "'x', 'y', 'things'"),
    ] {
        dir.create(
            format!("{p}/tests/t.sql"),
            format!(
                "SELECT plan(2);\nSELECT tests.owns({call});\nSELECT tests.become();\n\
                 SELECT is_empty('select * from secrets');\n"
            ),
        );
    }
}

pgtest!(
    each_project_reads_its_files_with_its_own_helpers_and_search_path,
    |dir, cmd| {
        // Before, every file was read with the root config's helpers and search path: a
        // project's `[[project.helper]]` (or its own config's `[[helper]]`) was not known,
        // and nothing here was tested.
        projects_with_their_own_helpers(dir);
        let run = cmd
            .args(["--format", "json", "--streaming", "never", "--references"])
            .expect_code(0);
        let r = run.json();
        let tested = |name: &str| project(&r, name)["tested_objects"].clone();
        assert_eq!(
            tested("a"),
            serde_json::json!(["table:public.widgets"]),
            "{run}"
        );
        assert_eq!(
            tested("b"),
            serde_json::json!(["table:public.gadgets"]),
            "{run}"
        );
        assert_eq!(
            tested("c"),
            serde_json::json!(["table:app.things"]),
            "{run}"
        );
        // The role helper of one name switches to each project's own role.
        let role = |path: &str| {
            let refs = crate::util::file(&r, path)["references"]
                .as_array()
                .expect("references")
                .clone();
            refs.iter()
                .find(|x| x["name"] == "secrets")
                .unwrap_or_else(|| panic!("no reference to secrets in {path}: {refs:?}"))["role"]
                .clone()
        };
        assert_eq!(role("a/tests/t.sql"), "anon");
        assert_eq!(role("b/tests/t.sql"), "authenticated");
        // `c` declares no role helper: the call switches nothing.
        assert_eq!(role("c/tests/t.sql"), Value::Null);
    }
);

pgtest!(
    a_project_helper_change_is_not_served_from_the_cache,
    |dir, cmd| {
        // Results are cached under the options they were read with: a project's own
        // helpers are part of them.
        projects_with_their_own_helpers(dir);
        let first = cmd
            .args(["--format", "json", "--cache", "cache"])
            .expect_code(0)
            .json();
        assert_eq!(
            project(&first, "a")["tested_objects"],
            serde_json::json!(["table:public.widgets"])
        );
        let config = std::fs::read_to_string(dir.join(".pgtap-scan.toml")).expect("config");
        dir.create(
            ".pgtap-scan.toml",
            config.replace("args = [\"table\", \"_\"]", "args = [\"_\", \"table\"]"),
        );
        let second = dir
            .command()
            .args(["--format", "json", "--cache", "cache"])
            .run();
        let second = second.json();
        // `a` now reads the second argument: `x`, which its schema does not have.
        let a = &project(&second, "a")["tested_objects"];
        assert!(a.as_array().is_none_or(Vec::is_empty), "{a}");
        assert_eq!(
            project(&second, "b")["tested_objects"],
            serde_json::json!(["table:public.gadgets"])
        );
    }
);
