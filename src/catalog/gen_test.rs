//! Keeps `generated.rs` equal to `../shared/pgtap-catalog.json`.
//!
//! The catalog is checked in as Rust so that the crate builds without the JSON (it is not
//! published with the crate). This test renders the JSON again and compares; with
//! `UPDATE_CATALOG=1` it rewrites `generated.rs` instead. Without the JSON (a build from
//! crates.io) it says so and passes.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::object::{Aspect, ObjectKind};

fn json_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/pgtap-catalog.json")
}

fn generated_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/catalog/generated.rs")
}

/// The catalog JSON, or `None` when it is not there (crates.io builds).
pub(super) fn load_json() -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(json_path()).ok()?;
    let value: Value = serde_json::from_str(&text).expect("pgtap-catalog.json is not JSON");
    match value {
        Value::Array(functions) => Some(functions),
        _ => panic!("pgtap-catalog.json: expected an array of functions"),
    }
}

const FUNCTION_KEYS: &[&str] = &[
    "name",
    "signatures",
    "object_kind",
    "negated_of",
    "category",
    "aspect",
    "also_references",
    "embeds_sql",
    "documented",
    "signatures_from",
    "overloads",
    "undocumented_signatures",
];

const OVERLOAD_KEYS: &[&str] = &[
    "arg_types",
    "arg_names",
    "min_args",
    "variadic",
    "sql_param_names",
    "untyped_literal_call_resolves_to",
    "brace_array_literal_call_resolves_to",
    "even_with_name_casts_resolves_to",
    "resolved_at_runtime",
    "runtime_rule",
    "alternative_arg_names",
    "returns",
];

fn check_keys(what: &str, obj: &serde_json::Map<String, Value>, known: &[&str]) {
    for key in obj.keys() {
        assert!(
            known.contains(&key.as_str()),
            "{what}: field `{key}` is not represented in the generated catalog; extend \
             catalog::Function/Overload and the generator"
        );
    }
}

fn str_lit(v: &str) -> String {
    format!("{v:?}")
}

fn get_str<'a>(obj: &'a serde_json::Map<String, Value>, key: &str, what: &str) -> &'a str {
    obj.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{what}: `{key}` must be a string"))
}

fn opt_str(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> String {
    match obj.get(key) {
        None | Some(Value::Null) => "None".to_string(),
        Some(Value::String(s)) => format!("Some({})", str_lit(s)),
        Some(other) => panic!("{what}: `{key}` must be a string or null, not {other}"),
    }
}

/// The catalog's `object_kind` as the `ObjectKind` it means (`user` is a role, `none` no
/// object): `Some(ObjectKind::Role)`, `None`.
fn object_kind(obj: &serde_json::Map<String, Value>, what: &str) -> String {
    let word = get_str(obj, "object_kind", what);
    match ObjectKind::from_catalog_name(word) {
        Ok(Some(kind)) => format!("Some(ObjectKind::{kind:?})"),
        Ok(None) => "None".to_string(),
        Err(e) => panic!("{what}: {e}; add the kind to crate::object::ObjectKind"),
    }
}

/// The catalog's `aspect` as an `Aspect` value.
fn aspect(obj: &serde_json::Map<String, Value>, what: &str) -> String {
    match obj.get("aspect") {
        None | Some(Value::Null) => "None".to_string(),
        Some(Value::String(word)) => match Aspect::known(word) {
            Some(a) => format!("Some(Aspect::{a:?})"),
            None => {
                panic!("{what}: aspect {word:?} is not an Aspect; add it to crate::object::Aspect")
            }
        },
        Some(other) => panic!("{what}: `aspect` must be a string or null, not {other}"),
    }
}

/// A list of catalog kind words as `&[ObjectKind::..]`.
fn kind_list(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> String {
    let Some(v) = obj.get(key) else {
        return "&[]".to_string();
    };
    let items = v
        .as_array()
        .unwrap_or_else(|| panic!("{what}: `{key}` must be a list of strings"));
    let kinds: Vec<String> = items
        .iter()
        .map(|s| {
            let word = s
                .as_str()
                .unwrap_or_else(|| panic!("{what}: `{key}` must be a list of strings"));
            match ObjectKind::from_catalog_name(word) {
                Ok(Some(kind)) => format!("ObjectKind::{kind:?}"),
                Ok(None) => panic!("{what}: `{key}`: {word:?} names no object"),
                Err(e) => panic!("{what}: `{key}`: {e}; add the kind to crate::object::ObjectKind"),
            }
        })
        .collect();
    format!("&[{}]", kinds.join(", "))
}

fn bool_field(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> bool {
    match obj.get(key) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => panic!("{what}: `{key}` must be a boolean, not {other}"),
    }
}

/// `["a", "b"]` as `&["a", "b"]`; an absent field is `&[]`.
fn str_list(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> String {
    match obj.get(key) {
        None => "&[]".to_string(),
        Some(v) => render_str_list(v, &format!("{what}: `{key}`")),
    }
}

fn render_str_list(v: &Value, what: &str) -> String {
    let items = v
        .as_array()
        .unwrap_or_else(|| panic!("{what} must be a list of strings"));
    let parts: Vec<String> = items
        .iter()
        .map(|s| {
            str_lit(
                s.as_str()
                    .unwrap_or_else(|| panic!("{what} must be a list of strings")),
            )
        })
        .collect();
    format!("&[{}]", parts.join(", "))
}

fn str_list_list(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> String {
    match obj.get(key) {
        None => "&[]".to_string(),
        Some(v) => {
            let lists = v
                .as_array()
                .unwrap_or_else(|| panic!("{what}: `{key}` must be a list of lists"));
            let parts: Vec<String> = lists
                .iter()
                .map(|l| render_str_list(l, &format!("{what}: `{key}` item")))
                .collect();
            format!("&[{}]", parts.join(", "))
        }
    }
}

fn resolves(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> String {
    match obj.get(key) {
        None => "Resolves::NotGiven".to_string(),
        Some(Value::String(s)) if s == "ambiguous" => "Resolves::Ambiguous".to_string(),
        Some(v @ Value::Array(_)) => {
            format!(
                "Resolves::To({})",
                render_str_list(v, &format!("{what}: `{key}`"))
            )
        }
        Some(other) => panic!("{what}: `{key}`: expected \"ambiguous\" or a list, not {other}"),
    }
}

/// Renders the whole `generated.rs`.
pub(super) fn render(functions: &[Value]) -> String {
    let mut fs: Vec<&serde_json::Map<String, Value>> = functions
        .iter()
        .map(|f| f.as_object().expect("each function must be an object"))
        .collect();
    fs.sort_by(|a, b| get_str(a, "name", "function").cmp(get_str(b, "name", "function")));

    let mut out = String::new();
    out.push_str(
        "//! Generated from `../shared/pgtap-catalog.json` by `gen_test.rs`; do not edit.\n\
         //! Regenerate with `UPDATE_CATALOG=1 cargo test --lib catalog::gen_test`.\n\
         use super::{Category, Function, Overload, Resolves};\n\
         use crate::object::{Aspect, ObjectKind};\n\
         \n\
         /// Every pgTAP function the catalog knows, in the catalog's order (sorted by name),\n\
         /// with its overloads, category and the object kind and aspect it asserts.\n\
         #[rustfmt::skip]\n\
         pub static FUNCTIONS: &[Function] = &[\n",
    );
    for f in fs {
        let name = get_str(f, "name", "function");
        let what = format!("function {name}");
        check_keys(&what, f, FUNCTION_KEYS);
        let category = match get_str(f, "category", &what) {
            "assertion" => "Category::Assertion",
            "control" => "Category::Control",
            "utility" => "Category::Utility",
            other => panic!("{what}: unknown category {other}"),
        };
        let _ = writeln!(out, "    Function {{");
        let _ = writeln!(out, "        name: {},", str_lit(name));
        let _ = writeln!(out, "        object_kind: {},", object_kind(f, &what));
        let _ = writeln!(
            out,
            "        negated_of: {},",
            opt_str(f, "negated_of", &what)
        );
        let _ = writeln!(out, "        category: {category},");
        let _ = writeln!(out, "        aspect: {},", aspect(f, &what));
        let _ = writeln!(
            out,
            "        also_references: {},",
            kind_list(f, "also_references", &what)
        );
        let _ = writeln!(
            out,
            "        embeds_sql: {},",
            bool_field(f, "embeds_sql", &what)
        );
        let _ = writeln!(
            out,
            "        documented: {},",
            bool_field(f, "documented", &what)
        );
        let _ = writeln!(
            out,
            "        signatures: {},",
            str_list_list(f, "signatures", &what)
        );
        let _ = writeln!(
            out,
            "        signatures_from: {},",
            str_lit(get_str(f, "signatures_from", &what))
        );
        let _ = writeln!(
            out,
            "        undocumented_signatures: {},",
            str_list_list(f, "undocumented_signatures", &what)
        );
        let _ = writeln!(out, "        overloads: &[");
        let overloads = f
            .get("overloads")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{what}: `overloads` must be a list"));
        for (i, o) in overloads.iter().enumerate() {
            let o = o
                .as_object()
                .unwrap_or_else(|| panic!("{what}: overload {i} must be an object"));
            let what = format!("{what} overload {i}");
            check_keys(&what, o, OVERLOAD_KEYS);
            let min_args = match o.get("min_args") {
                None => "None".to_string(),
                Some(v) => {
                    let n = v
                        .as_u64()
                        .filter(|n| u8::try_from(*n).is_ok())
                        .unwrap_or_else(|| panic!("{what}: `min_args` must be a small integer"));
                    format!("Some({n})")
                }
            };
            let _ = writeln!(out, "            Overload {{");
            let _ = writeln!(
                out,
                "                arg_types: {},",
                str_list(o, "arg_types", &what)
            );
            let _ = writeln!(
                out,
                "                arg_names: {},",
                str_list(o, "arg_names", &what)
            );
            let _ = writeln!(out, "                min_args: {min_args},");
            let _ = writeln!(
                out,
                "                variadic: {},",
                bool_field(o, "variadic", &what)
            );
            let _ = writeln!(
                out,
                "                sql_param_names: {},",
                str_list(o, "sql_param_names", &what)
            );
            for key in [
                "untyped_literal_call_resolves_to",
                "brace_array_literal_call_resolves_to",
                "even_with_name_casts_resolves_to",
            ] {
                let _ = writeln!(out, "                {key}: {},", resolves(o, key, &what));
            }
            let _ = writeln!(
                out,
                "                resolved_at_runtime: {},",
                bool_field(o, "resolved_at_runtime", &what)
            );
            let _ = writeln!(
                out,
                "                runtime_rule: {},",
                opt_str(o, "runtime_rule", &what)
            );
            let _ = writeln!(
                out,
                "                alternative_arg_names: {},",
                str_list_list(o, "alternative_arg_names", &what)
            );
            let _ = writeln!(
                out,
                "                returns: {},",
                str_lit(get_str(o, "returns", &what))
            );
            let _ = writeln!(out, "            }},");
        }
        let _ = writeln!(out, "        ],");
        let _ = writeln!(out, "    }},");
    }
    out.push_str("];\n");
    out
}

#[test]
fn generated_catalog_matches_json() {
    let Some(functions) = load_json() else {
        eprintln!(
            "note: {} not found; not checking generated.rs against it",
            json_path().display()
        );
        return;
    };
    let rendered = render(&functions);
    let path = generated_path();
    if std::env::var_os("UPDATE_CATALOG").is_some_and(|v| v == "1") {
        std::fs::write(&path, &rendered).expect("cannot write generated.rs");
        eprintln!("note: rewrote {}", path.display());
        return;
    }
    let current = std::fs::read_to_string(&path).expect("cannot read generated.rs");
    assert!(
        current == rendered,
        "src/catalog/generated.rs is out of date with {}; regenerate with \
         `UPDATE_CATALOG=1 cargo test --lib catalog::gen_test`",
        json_path().display()
    );
}
