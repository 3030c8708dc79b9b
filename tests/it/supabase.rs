//! Supabase out of the box (issue 16): with no paths and no universe, a
//! `supabase/config.toml` here means `supabase/tests` against `supabase/migrations` and
//! the declarative schema files `[db.migrations] schema_paths` names.

use crate::util::Dir;

fn project(dir: &Dir) {
    dir.create(
        "supabase/config.toml",
        "project_id = \"demo\"\n\n[api]\nport = 54321\n\n[db]\nport = 54322\n\n[db.migrations]\nschema_paths = [\"./schemas/*.sql\"]\n",
    )
    .create("supabase/schemas/10_profiles.sql", "CREATE TABLE profiles (id uuid);\n")
    .create("supabase/migrations/20240101000000_init.sql", "CREATE TABLE notes (id int);\n")
    .create(
        "supabase/tests/notes.sql",
        "SELECT plan(1);\nSELECT has_table('notes');\n",
    );
}

pgtest!(a_supabase_project_needs_no_arguments, |dir, cmd| {
    project(dir);
    let run = cmd.args(["--no-config", "--format", "json"]).expect_code(0);
    run.assert_stderr_contains(
        "supabase/config.toml: a Supabase project: scanning supabase/tests against supabase/schemas/10_profiles.sql, supabase/migrations",
    );
    let r = run.json();
    assert_eq!(r["universe_source"], "migrations");
    assert_eq!(r["coverage"]["by_kind"]["table"]["objects"], 2);
    assert_eq!(r["coverage"]["by_kind"]["table"]["tested"], 1);
    let gaps: Vec<&str> = r["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .filter_map(|g| g["key"].as_str())
        .collect();
    assert!(gaps.contains(&"table:public.profiles"), "{gaps:?}");
});

pgtest!(paths_given_turn_the_supabase_defaults_off, |dir, cmd| {
    project(dir);
    dir.create("other/a.sql", "SELECT has_table('x');\n");
    let run = cmd
        .args(["other", "--no-config", "--format", "json"])
        .expect_code(0);
    run.assert_stderr_lacks("Supabase");
    assert!(run.json().get("universe_source").is_none());
});
