//! `pgtap-scan gaps`: the untested objects of the universe in every format that can list
//! them (text, JSON against `schema/gaps.schema.json`, CSV, Markdown), never cut, and a
//! clear refusal in the formats that cannot.

use serde_json::Value;

use crate::util::{in_fixture, two_tables_one_tested};

#[test]
fn gaps_subcommand_lists_every_gap() {
    let run = in_fixture("realworld", &["gaps", "tests", "--schema", "migrations"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stdout.lines().last(), Some("Coverage: 52.3%"));
    insta::assert_snapshot!("realworld_gaps", run.stdout);
}

fn gaps_schema() -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/gaps.schema.json");
    let text = std::fs::read_to_string(&path).expect("schema/gaps.schema.json");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("invalid schema: {e}"))
}

pgtest!(
    gaps_json_lists_the_gaps_and_matches_its_schema,
    |dir, cmd| {
        two_tables_one_tested(dir);
        let run = cmd
            .args(["gaps", "tests", "--schema", "db/migrations", "-f", "json"])
            .expect_code(0);
        let r = run.json();
        let errors: Vec<String> = gaps_schema()
            .iter_errors(&r)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{run}");
        assert!(
            r.get("files").is_none(),
            "the scan report, not the gaps\n{run}"
        );
        assert_eq!(r["untested"], 4, "{run}");
        let first = &r["gaps"][0];
        assert_eq!(first["kind"], "table");
        assert_eq!(first["key"], "table:public.orders");
        assert_eq!(first["defined_at"]["file"], "db/migrations/002_orders.sql");
        assert_eq!(first["defined_at"]["line"], 1);
        // The schema must be able to fail.
        let mut bad = r.clone();
        bad["gaps"][0]["defined_at"]["line"] = Value::from("one");
        assert!(!gaps_schema().is_valid(&bad));
    }
);

pgtest!(gaps_csv_has_one_row_per_gap, |dir, cmd| {
    two_tables_one_tested(dir);
    let run = cmd
        .args(["gaps", "tests", "--schema", "db/migrations", "-f", "csv"])
        .expect_code(0);
    let rows: Vec<&str> = run.stdout.split_terminator("\r\n").collect();
    assert_eq!(rows[0], "kind,key,file,line", "{run}");
    assert_eq!(rows.len(), 5, "header and 4 gaps\n{run}");
    assert!(
        rows.contains(&"table,table:public.orders,db/migrations/002_orders.sql,1"),
        "{run}"
    );
});

pgtest!(gaps_markdown_lists_the_gaps, |dir, cmd| {
    two_tables_one_tested(dir);
    let run = cmd
        .args(["gaps", "tests", "--schema", "db/migrations", "-f", "md"])
        .expect_code(0);
    assert!(run.stdout.starts_with("## pgtap-scan gaps: 4 of"), "{run}");
    assert!(
        run.stdout
            .contains("| `table:public.orders` | db/migrations/002_orders.sql:1 |"),
        "{run}"
    );
});

pgtest!(
    gaps_in_a_format_that_cannot_list_them_is_refused,
    |dir, cmd| {
        two_tables_one_tested(dir);
        let run = cmd
            .args(["gaps", "tests", "--schema", "db/migrations", "-f", "html"])
            .expect_code(2);
        run.assert_stderr_contains("gaps --format html");
        assert!(run.stdout.is_empty(), "{run}");
    }
);

pgtest!(gaps_text_never_cuts_a_location_or_a_key, |dir, cmd| {
    let file = "supabase/migrations/20240414161947_backfill_user_profiles_and_settings.sql";
    let table = "user_notification_preferences_by_channel_and_workspace";
    dir.create(
        file,
        format!("-- backfill\n\nCREATE TABLE {table} (id int);\n"),
    )
    .create("tests/t.sql", "SELECT has_table('nothing_here');\n");
    for sub in [&["gaps"][..], &[][..]] {
        let run = dir
            .command()
            .args(sub)
            .args(["tests", "--schema", "supabase/migrations"])
            .expect_code(0);
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&format!("table:public.{table}")))
            .unwrap_or_else(|| panic!("the key is whole\n{run}"));
        assert!(line.ends_with(&format!("{file}:3")), "{line}\n{run}");
        assert!(!run.stdout.contains('…'), "{run}");
    }
    let _ = cmd;
});
