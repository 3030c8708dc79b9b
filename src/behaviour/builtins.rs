//! PostgreSQL's built-in function and type names (schema `pg_catalog`), generated from a
//! real server by `scripts/gen-builtins`: calls to them and casts to them are not
//! references to a project's schema.

use std::sync::OnceLock;

static FUNCTIONS: &str = include_str!("builtin_functions.txt");
static TYPES: &str = include_str!("builtin_types.txt");

fn list(cell: &'static OnceLock<Vec<&'static str>>, text: &'static str) -> &'static [&'static str] {
    cell.get_or_init(|| {
        let mut v: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        // The file is sorted by the script; sorting again keeps lookups right if it is not.
        v.sort_unstable();
        v
    })
}

pub fn functions() -> &'static [&'static str] {
    static CELL: OnceLock<Vec<&'static str>> = OnceLock::new();
    list(&CELL, FUNCTIONS)
}

pub fn types() -> &'static [&'static str] {
    static CELL: OnceLock<Vec<&'static str>> = OnceLock::new();
    list(&CELL, TYPES)
}

fn set(
    cell: &'static OnceLock<ahash::AHashSet<&'static str>>,
    list: fn() -> &'static [&'static str],
) -> &'static ahash::AHashSet<&'static str> {
    cell.get_or_init(|| list().iter().copied().collect())
}

/// `name` as folded (lower case for unquoted names).
pub fn is_builtin_function(name: &str) -> bool {
    static SET: OnceLock<ahash::AHashSet<&'static str>> = OnceLock::new();
    set(&SET, functions).contains(name)
}

pub fn is_builtin_type(name: &str) -> bool {
    static SET: OnceLock<ahash::AHashSet<&'static str>> = OnceLock::new();
    set(&SET, types).contains(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_lists_are_sorted_unique_and_hold_known_names() {
        for text in [FUNCTIONS, TYPES] {
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines.len() > 100, "list is nearly empty");
            assert!(
                lines.windows(2).all(|w| w[0] < w[1]),
                "not sorted bytewise and unique: regenerate with scripts/gen-builtins"
            );
        }
        for f in [
            "now",
            "count",
            "jsonb_build_object",
            "nextval",
            "set_config",
            "gen_random_uuid",
        ] {
            assert!(is_builtin_function(f), "{f}");
        }
        for t in [
            "text",
            "int4",
            "integer",
            "uuid",
            "jsonb",
            "timestamptz",
            "regclass",
        ] {
            assert!(is_builtin_type(t), "{t}");
        }
        assert!(!is_builtin_function("authenticate_as"));
        assert!(!is_builtin_type("mood"));
    }
}
