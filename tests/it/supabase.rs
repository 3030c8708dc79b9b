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

/// A project whose migrations and tests use the platform's objects.
fn platform_project(dir: &Dir) {
    dir.create("supabase/config.toml", "project_id = \"demo\"\n")
        .create(
            "supabase/migrations/20240101000000_init.sql",
            "create table public.profiles (\n  id uuid primary key references auth.users (id) on delete cascade,\n  name text\n);\n\
             alter table public.profiles enable row level security;\n\
             create policy \"own profile\" on public.profiles for select to authenticated using (auth.uid() = id);\n\
             grant select on public.profiles to anon, authenticated;\n\
             create function public.handle_new_user() returns trigger language plpgsql as $$ begin insert into public.profiles (id) values (new.id); return new; end $$;\n\
             create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();\n\
             create policy \"avatars\" on storage.objects for select using (bucket_id = 'avatars');\n",
        )
        .create(
            "supabase/tests/platform.sql",
            "begin;\nselect plan(6);\nselect has_table('public', 'profiles', 'profiles');\n\
             select has_table('auth', 'users', 'auth users');\nselect has_function('auth', 'uid', 'uid');\n\
             select has_role('authenticated');\nselect has_schema('storage');\n\
             set local role authenticated;\n\
             select is((select count(*) from public.profiles where id = auth.uid()), 0::bigint, 'own');\n\
             select * from finish();\nrollback;\n",
        );
}

fn keys(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(|o| o["key"].as_str()).collect())
        .unwrap_or_default()
}

pgtest!(
    supabase_platform_objects_are_known_and_not_counted,
    |dir, cmd| {
        platform_project(dir);
        let run = cmd
            .args(["--no-config", "--format", "json", "-q"])
            .expect_code(0);
        let r = run.json();
        // Tests that assert the platform's objects are not stale ...
        assert!(keys(&r["stale"]).is_empty(), "{:?}", keys(&r["stale"]));
        // ... the tests' SQL that uses them resolves ...
        assert_eq!(
            r["behaviour"]["references"], r["behaviour"]["resolved"],
            "{}",
            r["behaviour"]
        );
        // ... and they are listed as ignored, the platform's own, not counted.
        let ignored = r["ignored"].as_array().expect("ignored");
        for key in [
            "schema:auth",
            "schema:storage",
            "schema:extensions",
            "table:auth.users",
            "column:auth.users.id",
            "table:storage.objects",
            "function:auth.uid()",
            "function:auth.jwt()",
            "function:auth.role()",
            "role:anon",
            "role:authenticated",
            "role:service_role",
        ] {
            let i = ignored
                .iter()
                .find(|i| i["key"] == key)
                .unwrap_or_else(|| panic!("{key} not ignored: {}", r["ignored"]));
            assert_eq!(i["source"], "platform", "{i}");
            assert_eq!(i["defined_at"]["file"], "<supabase platform>", "{i}");
        }
        assert!(ignored.iter().all(|i| i["source"] == "platform"));
        assert!(
            r["coverage"]["by_kind"].get("role").is_none(),
            "{}",
            r["coverage"]
        );
        assert!(
            r["coverage"]["by_kind"].get("schema").is_none(),
            "{}",
            r["coverage"]
        );
        // What the project defines on them counts, and is a gap when untested.
        let gaps = keys(&r["gaps"]);
        for key in [
            "trigger:auth.users.on_auth_user_created",
            "policy:storage.objects.avatars",
        ] {
            assert!(gaps.contains(&key), "{key}: {gaps:?}");
        }
        assert!(
            !gaps.iter().any(|g| g.starts_with("column:auth.")),
            "{gaps:?}"
        );
        // The whole migration was read: no statement skipped.
        assert_eq!(r["summary"]["warnings"], 0, "{}", r["messages"]);

        // --include-platform-schemas counts them (and the roles are gaps, the tested ones not).
        let run = dir
            .command()
            .args([
                "--no-config",
                "--format",
                "json",
                "-q",
                "--include-platform-schemas",
            ])
            .expect_code(0);
        let all = run.json();
        assert!(all.get("ignored").is_none(), "{}", all["ignored"]);
        assert!(keys(&all["gaps"]).contains(&"role:anon"));
        assert!(!keys(&all["gaps"]).contains(&"table:auth.users"));
        assert!(
            all["coverage"]["overall"]["objects"].as_u64()
                > r["coverage"]["overall"]["objects"].as_u64()
        );
        // Outside a Supabase project, nothing is known: the platform tests are stale.
        std::fs::remove_file(dir.join("supabase/config.toml")).unwrap();
        let run = dir
            .command()
            .args([
                "supabase/tests",
                "--schema",
                "supabase/migrations",
                "--no-config",
                "--format",
                "json",
                "-q",
            ])
            .expect_code(0);
        assert!(keys(&run.json()["stale"]).contains(&"table:auth.users"));
    }
);

// With --database-url, the platform's schemas are left out by default (a live database
// with an `auth` schema beside the project's `public` one).
pgtest!(
    supabase_platform_schemas_are_left_out_of_a_database_universe,
    |dir, cmd| {
        let Some(url) = std::env::var("PGTAP_SCAN_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!("skipped: PGTAP_SCAN_DATABASE_URL is not set");
            return;
        };
        if std::process::Command::new("psql")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: no psql");
            return;
        }
        let name = format!("pgtap_scan_supabase_{}", std::process::id());
        let psql = |db_url: &str, sql: &str| {
            let out = std::process::Command::new("psql")
                .args([db_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
                .output()
                .expect("psql runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (base, _) = url.rsplit_once('/').expect("a URL with a database");
        let db_url = format!("{base}/{name}");
        psql(&url, &format!("DROP DATABASE IF EXISTS {name}"));
        psql(&url, &format!("CREATE DATABASE {name}"));
        psql(
            &db_url,
            "CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY); \
         CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid'; \
         CREATE SCHEMA storage; CREATE TABLE storage.objects (id uuid); \
         CREATE TABLE public.notes (id int);",
        );
        dir.create("supabase/config.toml", "project_id = \"demo\"\n").create(
        "supabase/tests/t.sql",
        "SELECT plan(2);\nSELECT has_table('notes');\nSELECT has_table('auth', 'users', 'u');\n",
    );
        let scan = |extra: &[&str]| {
            let mut c = dir.command();
            c.args(["supabase/tests", "--no-config", "--format", "json", "-q"])
                .arg(format!("--database-url={db_url}"))
                .args(extra);
            c.run()
        };
        let run = scan(&[]);
        let all = scan(&["--include-platform-schemas"]);
        psql(&url, &format!("DROP DATABASE IF EXISTS {name}"));
        assert_eq!(run.code, Some(0), "{run}");
        let r = run.json();
        let gaps = keys(&r["gaps"]);
        assert!(
            !gaps
                .iter()
                .any(|g| g.contains("auth.") || g.contains("storage.")),
            "{gaps:?}"
        );
        assert!(keys(&r["stale"]).is_empty(), "{}", r["stale"]);
        let ignored = keys(&r["ignored"]);
        for key in [
            "schema:auth",
            "table:auth.users",
            "function:auth.uid()",
            "table:storage.objects",
        ] {
            assert!(ignored.contains(&key), "{key}: {ignored:?}");
        }
        assert_eq!(
            r["coverage"]["by_kind"]["table"]["objects"], 1,
            "{}",
            r["coverage"]
        );
        assert_eq!(all.code, Some(0), "{all}");
        let a = all.json();
        assert_eq!(
            a["coverage"]["by_kind"]["table"]["objects"], 3,
            "{}",
            a["coverage"]
        );
        assert!(keys(&a["gaps"]).contains(&"table:storage.objects"));
    }
);

pgtest!(
    the_text_report_counts_platform_objects_without_listing_them,
    |dir, cmd| {
        // Every Supabase project's text report listed ten of the platform's 59 objects and
        // "... and 49 more": the same noise in every project. The `ignored:` line counts
        // them; the list is what the project chose to ignore.
        platform_project(dir);
        dir.create(
            ".pgtap-scan.toml",
            "ignore = [\"column:public.profiles.name\"]\n",
        );
        let run = cmd.args(["--color", "never"]).expect_code(0);
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("ignored: "))
            .unwrap_or_else(|| panic!("no ignored line\n{run}"));
        assert!(line.contains("the platform's own"), "{line}");
        assert!(line.contains("1 by the config's ignore"), "{line}");
        assert!(
            run.stdout
                .contains("column:public.profiles.name (column:public.profiles.name)"),
            "{run}"
        );
        assert!(!run.stdout.contains("(platform)"), "{run}");
        assert!(
            !run.stdout.contains("more (the JSON report lists them)"),
            "{run}"
        );
    }
);
