//! Extraction per file for each test style, on small inputs written here (not the shared
//! corpus, so the numbers do not move when it changes): a plain script (pgflow-like), an
//! xUnit file (mox-like function bodies), a check_test-heavy file (pgTAP's own tests) and a
//! file with no pgTAP call at all (the fast path). Reported per file and in MB/s.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use pgtap_scan::Extractor;

const TABLES: [&str; 6] = ["users", "accounts", "orders", "runs", "steps", "invoices"];

fn plain(n: usize) -> String {
    let mut s = format!(
        "begin;\nselect plan({});\nselect app_tests.reset_db();\n\n",
        n * 3
    );
    for i in 0..n {
        let t = TABLES[i % TABLES.len()];
        s += &format!(
            "-- TEST: {t} exists (has_table) and is filled\n\
             select has_table('app', '{t}', 'has_table: app.{t} should exist');\n\
             select results_eq(\n  $$ SELECT id, status FROM app.{t} ORDER BY id $$,\n  $$ VALUES ({i}, 'started') $$,\n  'results_eq on {t}'\n);\n\
             select is(\n  (select count(*)::int from app.{t}),\n  {i}::int,\n  'is() counts {t}'\n);\n\n"
        );
    }
    s + "select finish();\nrollback;\n"
}

fn xunit(n: usize) -> String {
    let mut s = String::from(
        "-- Copyright (C) 2015 Magenta ApS\n--SELECT * FROM runtests('test'::name);\n\
         CREATE OR REPLACE FUNCTION test.test_as_search()\nRETURNS SETOF TEXT LANGUAGE plpgsql AS\n$$\n\
         DECLARE\n\tnew_uuid uuid;\n\tsearch_result uuid[];\n\tvirk Virkning;\nBEGIN\n",
    );
    for i in 0..n {
        let t = TABLES[i % TABLES.len()];
        s += &format!(
            "virk := ROW ('[2015-05-12, infinity)' :: TSTZRANGE, uuid_generate_v4(), 'Bruger', 'NoteEx{i}') :: Virkning;\n\
             search_result := as_search_{t}(null, null, ARRAY['x']::text[]);\n\
             RETURN NEXT is(search_result, ARRAY[new_uuid]::uuid[], 'simple search on {t}');\n\
             RETURN NEXT ok(search_result @> ARRAY[new_uuid] and array_length(search_result,1)=1, 'wildcard search');\n\
             EXECUTE format($q$ SELECT has_table(%L) $q$, '{t}');\n\
             RETURN NEXT has_column('test', '{t}', 'id', 'has_column {t}.id');\n\
             ---------------------------------------------------\n\n"
        );
    }
    s + "END;\n$$;\n"
}

fn check_test(n: usize) -> String {
    let mut s = String::from("\\unset ECHO\n\\i test/setup.sql\n\n");
    s += &format!("SELECT plan({});\n\n", n * 3);
    for i in 0..n {
        let t = TABLES[i % TABLES.len()];
        s += &format!(
            "/****************************************************************************/\n\
             -- Test has_table().\n\
             SELECT * FROM check_test(\n    has_table( '{t}_{i}' ),\n    true,\n    'has_table(table)',\n    'Table {t}_{i} should exist',\n    ''\n);\n\n"
        );
    }
    s + "SELECT * FROM finish();\nROLLBACK;\n"
}

fn no_calls(n: usize) -> String {
    let mut s = String::from("-- migration, not a test\nBEGIN;\n");
    for i in 0..n {
        s += &format!(
            "CREATE TABLE app.t{i} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());\n\
             INSERT INTO app.t{i} (id, name) SELECT g, 'row ' || g FROM generate_series(1, 100) g;\n"
        );
    }
    s + "COMMIT;\n"
}

fn extract(c: &mut Criterion) {
    let ex = Extractor::new(Default::default());
    let inputs = [
        ("plain", plain(12)),
        ("xunit", xunit(40)),
        ("check_test", check_test(40)),
        ("no_calls", no_calls(20)),
    ];
    let mut g = c.benchmark_group("extract_per_file");
    for (name, src) in &inputs {
        let found = ex.extract(src.as_bytes()).assertions.len();
        eprintln!(
            "extract bench: {name}: {} bytes, {found} assertions",
            src.len()
        );
        g.throughput(Throughput::Bytes(src.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| ex.extract(black_box(src.as_bytes())).assertions.len())
        });
    }
    g.finish();
}

criterion_group!(benches, extract);
criterion_main!(benches);
