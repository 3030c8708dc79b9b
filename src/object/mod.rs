//! The domain's fixed words as types: object kinds ([`ObjectKind`]), aspects ([`Aspect`])
//! and object keys ([`ObjectKey`]).
//!
//! Object keys have one format everywhere (reports, coverage database, schema universe,
//! gates): `kind:qualified.name`, e.g. `table:public.users`, `column:public.users.email`,
//! `function:public.add(integer,integer)`, `policy:public.users.owner_can_read`,
//! `schema:app`, `role:anon`. Each name part is written as PostgreSQL's `quote_ident`
//! would: plain lower-case identifiers bare, anything else in double quotes, so that the
//! dots of a key always separate parts and names stay exact and case-sensitive.
//!
//! `kind.rs` holds [`ObjectKind`] and every rule decided by kind, `aspect.rs` [`Aspect`],
//! `key.rs` [`ObjectKey`] (reading keys back, function keys); this file quoting and the
//! spelling of types in keys.
//!
//! # Adding an object kind
//! 1. Add the variant and its name to the `kinds!` list in `kind.rs`; the compiler then
//!    asks for its answer in each rule there: `plural`, `scope`, `in_universe`,
//!    `importance`, `pg_class`, `has_children`, `answers_to_table_key`. Gates, gaps,
//!    stale detection, cascades and report plurals follow from those answers.
//! 2. If the pgTAP catalog names it with a word of its own, the catalog test fails until
//!    `ObjectKind::from_catalog_name` reads that word (`catalog/gen_test.rs`).
//! 3. If calls name it in an argument role, map the role in `extract/target.rs`'s `spec`
//!    (its test fails for a catalog role that is neither mapped nor listed as naming none).
//! 4. If a universe holds it, make the migration reader (`schema/ddl.rs`) and the
//!    database reader (`schema/introspect.rs`) produce it.

mod aspect;
mod key;
mod kind;

use std::borrow::Cow;

pub use aspect::Aspect;
pub(crate) use key::{split_args, split_dotted};
pub use key::{KeyError, ObjectKey};
pub use kind::{ObjectKind, PgClass, Scope, UnknownKind};

/// Quotes one name part like PostgreSQL's `quote_ident` (without the keyword rule).
pub fn quote_part(name: &str) -> Cow<'_, str> {
    let plain = !name.is_empty()
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'$');
    if plain {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("\"{}\"", name.replace('"', "\"\"")))
    }
}

/// Builds `kind:part1.part2...` from a kind's name. Typed code calls [`ObjectKind::key`];
/// this door stays for the migration reader, whose lookups still list kinds by name
/// (`find(q, &["table", "view"])`).
pub(crate) fn key(kind: &str, parts: &[&str]) -> String {
    let mut out =
        String::with_capacity(kind.len() + 1 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    out.push_str(kind);
    out.push(':');
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&quote_part(p));
    }
    out
}

/// Canonical spelling of a SQL type name for keys, as PostgreSQL's `format_type` prints it,
/// so `int4`, `INT` and `integer` are one type. (Overload resolution has its own internal
/// type identity, `catalog::resolve::normalize_type`, which uses catalog spellings.)
pub fn normalize_type(t: &str) -> String {
    // Most types are written plainly (`text`, `integer`, `name[]`): one lookup, one copy.
    let plain = |b: &[u8]| {
        !b.is_empty()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    };
    let bytes = t.as_bytes();
    let (base, suffix) = match bytes.strip_suffix(b"[]") {
        Some(b) => (b, "[]"),
        None => (bytes, ""),
    };
    if plain(base) && !base.starts_with(b"pg_catalog") {
        let mut out = String::from(canonical_type(&t[..base.len()]));
        out.push_str(suffix);
        return out;
    }
    let mut s = t.trim().to_ascii_lowercase();
    // Collapse runs of whitespace.
    let mut collapsed = String::with_capacity(s.len());
    let mut prev_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !prev_space {
                collapsed.push(' ');
            }
            prev_space = true;
        } else {
            prev_space = false;
            collapsed.push(c);
        }
    }
    s = collapsed
        .replace(" [", "[")
        .replace("[ ", "[")
        .replace(" ]", "]");
    if let Some(rest) = s.strip_prefix("pg_catalog.") {
        s = rest.to_string();
    }
    let (base, suffix) = match s.find('[') {
        Some(i) => (s[..i].trim_end().to_string(), s[i..].replace(' ', "")),
        None => (s.clone(), String::new()),
    };
    let mut out = canonical_type(&base).to_string();
    out.push_str(&suffix);
    out
}

/// PostgreSQL's canonical name for a lower-case base type name (`int4` -> `integer`).
fn canonical_type(base: &str) -> &str {
    match base {
        "int" | "int4" => "integer",
        "int2" => "smallint",
        "int8" => "bigint",
        "bool" => "boolean",
        "float8" | "float" => "double precision",
        "float4" => "real",
        "varchar" => "character varying",
        "char" | "bpchar" => "character",
        "decimal" => "numeric",
        "timestamptz" => "timestamp with time zone",
        "timestamp" => "timestamp without time zone",
        "timetz" => "time with time zone",
        "time" => "time without time zone",
        "varbit" => "bit varying",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_bare_and_others_quoted() {
        assert_eq!(key("table", &["public", "users"]), "table:public.users");
        assert_eq!(key("table", &["public", "Users"]), "table:public.\"Users\"");
        assert_eq!(key("column", &["a.b", "t", "c"]), "column:\"a.b\".t.c");
        assert_eq!(key("role", &["we\"ird"]), "role:\"we\"\"ird\"");
        assert_eq!(key("schema", &["1x"]), "schema:\"1x\"");
    }

    #[test]
    fn function_keys_normalise_argument_types() {
        let args = vec![
            "INT".to_string(),
            "varchar".to_string(),
            "text[]".to_string(),
        ];
        assert_eq!(
            ObjectKey::function("public", "add", Some(&args)),
            "function:public.add(integer,character varying,text[])"
        );
        assert_eq!(
            ObjectKey::function("public", "add", None),
            "function:public.add"
        );
        assert_eq!(
            ObjectKey::function("public", "f", Some(&[])),
            "function:public.f()"
        );
    }

    #[test]
    fn type_normalisation() {
        assert_eq!(normalize_type(" pg_catalog.INT4 "), "integer");
        assert_eq!(normalize_type("character  varying"), "character varying");
        assert_eq!(normalize_type("int [ ]"), "integer[]");
        assert_eq!(normalize_type("timestamptz"), "timestamp with time zone");
        assert_eq!(normalize_type("public.mood"), "public.mood");
        // The fast path for plain names.
        assert_eq!(normalize_type("int4[]"), "integer[]");
        assert_eq!(normalize_type("varchar"), "character varying");
        assert_eq!(normalize_type("text"), "text");
        assert_eq!(normalize_type("name[]"), "name[]");
        assert_eq!(normalize_type("int[3]"), "integer[3]");
        assert_eq!(normalize_type("[]"), "[]");
    }
}
