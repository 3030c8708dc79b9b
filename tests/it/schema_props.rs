//! The DDL reader never panics, whatever the bytes.

use pgtap_scan::universe::Universe;
use proptest::prelude::*;

fn sqlish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "CREATE ",
        "ALTER ",
        "DROP ",
        "TABLE ",
        "INDEX ",
        "VIEW ",
        "FUNCTION ",
        "TYPE ",
        "TRIGGER ",
        "POLICY ",
        "SCHEMA ",
        "SEQUENCE ",
        "DOMAIN ",
        "ROLE ",
        "EXTENSION ",
        "MATERIALIZED ",
        "UNIQUE ",
        "ON ",
        "AS ",
        "PARTITION OF ",
        "LIKE ",
        "INHERITS ",
        "RENAME ",
        "TO ",
        "COLUMN ",
        "ADD ",
        "SET SCHEMA ",
        "IF NOT EXISTS ",
        "IF EXISTS ",
        "OR REPLACE ",
        "PRIMARY KEY ",
        "REFERENCES ",
        "DEFAULT ",
        "NOT NULL ",
        "SELECT ",
        "FROM ",
        "* ",
        "t.* ",
        "BEGIN ATOMIC ",
        "END ",
        "CASE ",
        "DO ",
        "$$ ",
        "$x$ ",
        "'",
        "\"",
        "(",
        ")",
        "[",
        "]",
        ",",
        ";",
        ".",
        "::",
        "%TYPE ",
        "=",
        "a ",
        "b ",
        "t ",
        "app.t ",
        "int ",
        "text[] ",
        "OUT ",
        "VARIADIC ",
        "ENUM ",
        "RANGE ",
        "subtype = ",
        "\n",
        "-- c\n",
        "/* ",
        "*/ ",
        "\\. \n",
        "\\i x\n",
        "COPY t FROM stdin;\n",
        "set_config('search_path', '', false)",
        "set_config ",
        "SET search_path = ",
        "GENERATED ALWAYS AS IDENTITY ",
        "ADD VALUE ",
        "BEFORE ",
        "EXECUTE FUNCTION ",
        "WITH ",
        "VALUES ",
        "USING ",
        "ATTACH ",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

fn fixture_text() -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| std::fs::read(f).expect("fixture"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut u = Universe::new();
        let _ = u.apply_sql("f.sql", &bytes, &["public".to_string()]);
    }

    #[test]
    fn sql_like_input_never_panics(a in sqlish(), b in sqlish()) {
        let mut u = Universe::new();
        let _ = u.apply_sql("a.sql", a.as_bytes(), &["public".to_string()]);
        let _ = u.apply_sql("b.sql", b.as_bytes(), &[]);
        // Keys stay consistent with the objects holding them.
        for o in u.objects() {
            prop_assert!(u.get(&o.key).is_some());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Real migrations with a piece cut out: statements lose their heads, tails and
    /// brackets in every possible place.
    #[test]
    fn damaged_migrations_never_panic(cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..200), 1..6)) {
        let mut text = fixture_text();
        for (at, len) in cuts {
            let start = at.index(text.len().max(1)).min(text.len());
            let end = (start + len).min(text.len());
            text.drain(start..end);
        }
        let mut u = Universe::new();
        let _ = u.apply_sql("cut.sql", &text, &["public".to_string()]);
    }
}
