//! Hostile names: file names, object names and descriptions with newlines, `::error`
//! workflow commands and terminal escape sequences must not reach the text report, the
//! GitHub annotations or stderr raw.

use crate::util::Dir;

const EVIL_FILE: &str = "evil\n::error file=x::pwned\x1b[31m.sql";

/// A test file with a hostile name whose plan disagrees (a warning naming the file), which
/// asserts about a table with a hostile name and carries a hostile description.
fn hostile_suite(dir: &Dir) {
    dir.create(
        format!("tests/{EVIL_FILE}"),
        "SELECT plan(9);\n\
         SELECT has_table('evil\n::error file=y::pwned\x1b[2J', 'desc\n::error file=d::pwned\x1b]0;title\x07');\n\
         SELECT has_table('gone\n::error file=g::stale');\n\
         SELECT ok(true, 'x\r::error file=r::pwned');\n",
    );
    dir.create(
        "tests/plain.sql",
        "SELECT plan(1);\nSELECT has_table('plain');\n",
    );
}

/// No control character but the line ends, and no line that is a workflow command we did
/// not mean to write.
fn assert_clean(what: &str, text: &str, allowed_commands: &[&str]) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect();
    assert!(
        bad.is_empty(),
        "{what} has raw control characters {bad:?}:\n{text}"
    );
    for line in text.lines() {
        if line.starts_with("::") {
            assert!(
                allowed_commands.iter().any(|c| line.starts_with(c)),
                "{what} has an injected workflow command: {line:?}\n{text}"
            );
        }
    }
}

pgtest!(
    hostile_names_are_escaped_in_the_text_report_and_on_stderr,
    |dir, cmd| {
        hostile_suite(dir);
        let run = cmd.args(["tests", "--color", "never"]).expect_code(0);
        assert_clean("stdout", &run.stdout, &[]);
        assert_clean("stderr", &run.stderr, &[]);
        // Every stderr line is one of ours, and the names are still there, escaped.
        for line in run.stderr.lines() {
            assert!(
                line.starts_with("pgtap-scan") || line.starts_with("Coverage"),
                "{line:?}\n{run}"
            );
        }
        assert!(
            run.stderr
                .contains("evil\\n::error file=x::pwned\\u{1b}[31m.sql"),
            "{run}"
        );
        assert!(run.stdout.contains("\\u{1b}"), "{run}");
    }
);

pgtest!(
    hostile_names_are_escaped_in_github_annotations,
    |dir, cmd| {
        hostile_suite(dir);
        dir.create(
            format!("migrations/{EVIL_FILE}"),
            "CREATE TABLE \"evil\n::error file=y::pwned\x1b[2J\" (id int);\n\
         CREATE TABLE \"untested\n::error file=u::pwned\x1b[2J\" (id int);\n\
         CREATE TABLE plain (id int);\n",
        );
        let run = cmd
            .args(["tests", "--schema", "migrations", "--format", "github"])
            .expect_code(0);
        assert_clean("stdout", &run.stdout, &["::warning ", "::notice "]);
        assert_clean("stderr", &run.stderr, &[]);
        assert!(run.stdout.contains("::warning "), "{run}");
        assert!(run.stdout.contains("::notice "), "{run}");
        for line in run.stderr.lines() {
            assert!(
                line.starts_with("pgtap-scan") || line.starts_with("Coverage"),
                "{line:?}\n{run}"
            );
        }
    }
);

// LCOV is a line-based format: a newline in a quoted object name started a new record.
pgtest!(hostile_names_cannot_start_an_lcov_record, |dir, cmd| {
    hostile_suite(dir);
    dir.create(
        format!("migrations/{EVIL_FILE}"),
        "CREATE TABLE \"evil\n::error file=y::pwned\x1b[2J\" (id int);\n\
         CREATE TABLE \"untested\nend_of_record\nSF:/etc/passwd\" (id int);\n",
    );
    let run = cmd
        .args(["tests", "--schema", "migrations", "--format", "lcov"])
        .expect_code(0);
    assert_clean("stdout", &run.stdout, &[]);
    let records = [
        "TN:", "SF:", "FN:", "FNDA:", "FNF:", "FNH:", "DA:", "LF:", "LH:",
    ];
    for line in run.stdout.lines() {
        assert!(
            line == "end_of_record" || records.iter().any(|r| line.starts_with(r)),
            "not an LCOV record: {line:?}\n{run}"
        );
        assert!(!line.starts_with("SF:/etc"), "{run}");
    }
});

pgtest!(hostile_names_are_escaped_in_markdown, |dir, cmd| {
    hostile_suite(dir);
    dir.create(
        "migrations/001.sql",
        "CREATE TABLE \"untested\x1b[2J\" (id int);\n",
    );
    let run = cmd
        .args(["tests", "--schema", "migrations", "--format", "markdown"])
        .expect_code(0);
    assert_clean("stdout", &run.stdout, &[]);
});

pgtest!(
    markdown_messages_cannot_inject_links_or_images,
    |dir, cmd| {
        dir.create(
        "mig/001.sql",
        "create table public.t (id int);\ncreate policy p on \"![a](https://evil.example/x.png)\" using (true);\n",
    )
    .create("t/a.sql", "select has_table('t');\n");
        let out = cmd
            .args(["t", "--schema", "mig", "--format", "markdown"])
            .expect_code(0);
        assert!(!out.stdout.contains("![a](https://"), "{}", out.stdout);
        assert!(
            out.stdout.contains("\\!\\[a\\]\\(https://"),
            "{}",
            out.stdout
        );
    }
);
