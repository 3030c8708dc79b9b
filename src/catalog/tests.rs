//! Shape of the generated catalog.

use super::{lookup, Category, Resolves, FUNCTIONS};

#[test]
fn catalog_has_all_228_functions() {
    assert_eq!(FUNCTIONS.len(), 228);
}

#[test]
fn names_are_unique_lowercase_and_sorted() {
    for pair in FUNCTIONS.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "{} must sort before {}",
            pair[0].name,
            pair[1].name
        );
    }
    for f in FUNCTIONS {
        assert_eq!(f.name, f.name.to_ascii_lowercase());
    }
}

#[test]
fn every_overload_names_each_argument() {
    for f in FUNCTIONS {
        assert!(!f.overloads.is_empty(), "{} has no overloads", f.name);
        for (i, o) in f.overloads.iter().enumerate() {
            assert_eq!(
                o.arg_names.len(),
                o.arg_types.len(),
                "{} overload {i}",
                f.name
            );
            if !o.sql_param_names.is_empty() {
                assert_eq!(o.sql_param_names.len(), o.arg_types.len(), "{} {i}", f.name);
            }
            if let Some(min) = o.min_args {
                assert!(usize::from(min) <= o.arg_types.len(), "{} {i}", f.name);
            }
            for alt in o.alternative_arg_names {
                assert_eq!(alt.len(), o.arg_types.len(), "{} {i}", f.name);
            }
            assert_eq!(o.resolved_at_runtime, !o.alternative_arg_names.is_empty());
        }
    }
}

#[test]
fn oracle_fields_name_an_overload_of_the_same_function() {
    for f in FUNCTIONS {
        for o in f.overloads {
            for r in [
                o.untyped_literal_call_resolves_to,
                o.brace_array_literal_call_resolves_to,
                o.even_with_name_casts_resolves_to,
            ] {
                if let Resolves::To(names) = r {
                    assert!(
                        f.overloads.iter().any(|p| p.arg_names == names),
                        "{}: {names:?} is no overload's arg_names",
                        f.name
                    );
                }
            }
        }
    }
}

#[test]
fn lookup_finds_every_function_and_nothing_else() {
    for f in FUNCTIONS {
        assert!(std::ptr::eq(lookup(f.name).unwrap(), f));
    }
    let has_table = lookup("has_table").unwrap();
    assert_eq!(has_table.category, Category::Assertion);
    assert_eq!(
        has_table.object_kind,
        Some(crate::object::ObjectKind::Table)
    );
    assert_eq!(has_table.overloads.len(), 4);
    assert_eq!(lookup("hasnt_table").unwrap().negated_of, Some("has_table"));
    assert_eq!(lookup("plan").unwrap().category, Category::Control);
    assert!(
        lookup("HAS_TABLE").is_none(),
        "lookup takes lower-case names"
    );
    assert!(lookup("no_such_function").is_none());
    assert!(lookup("").is_none());
}

#[test]
fn counts_match_the_json() {
    let Some(json) = super::gen_test::load_json() else {
        return;
    };
    assert_eq!(json.len(), FUNCTIONS.len());
    let overloads: usize = FUNCTIONS.iter().map(|f| f.overloads.len()).sum();
    let json_overloads: usize = json
        .iter()
        .map(|f| f["overloads"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(overloads, json_overloads);
}
