//! From resolved arguments to object keys: which object a call asserts about, which others
//! it names, and whether the names are only known at run time.

use super::args::{Arg, Value};
use crate::model::Name as KeyName;
use crate::object::{function_key, key};

/// What a call says about objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub kind: KeyName,
    pub object: Option<String>,
    pub members: Vec<String>,
    pub references: Vec<String>,
    pub dynamic: bool,
    pub description: Option<String>,
}

/// Maps a catalog `object_kind` (or a helper's kind) to the kind used in object keys.
pub fn key_kind(object_kind: &str) -> &str {
    match object_kind {
        "user" | "group" => "role",
        "domain" | "enum" | "composite_type" => "type",
        "none" | "control" | "utility" => "none",
        other => other,
    }
}

/// How an argument role names an object.
struct Spec {
    kind: &'static str,
    /// The role holding this object's schema, if the kind lives in a schema.
    schema: Option<&'static [&'static str]>,
    /// The role holding the table this object belongs to.
    parent: Option<(&'static str, &'static [&'static str])>,
    list: bool,
}

const S: &[&str] = &["schema"];

fn spec(role: &str, fn_kind: &str) -> Option<Spec> {
    let one = |kind, schema, parent| {
        Some(Spec {
            kind,
            schema,
            parent,
            list: false,
        })
    };
    let many = |kind, schema, parent| {
        Some(Spec {
            kind,
            schema,
            parent,
            list: true,
        })
    };
    let table_parent = Some(("table", S));
    match role {
        "table" => one("table", Some(S), None),
        "view" => one("view", Some(S), None),
        "materialized_view" => one("materialized_view", Some(S), None),
        "sequence" => one("sequence", Some(S), None),
        "foreign_table" => one("foreign_table", Some(S), None),
        "relation" => one("relation", Some(S), None),
        "column" => one("column", Some(S), table_parent),
        "columns" => many("column", Some(S), table_parent),
        "fk_table" => one("table", Some(&["fk_schema"]), None),
        "pk_table" => one("table", Some(&["pk_schema"]), None),
        "fk_column" => one(
            "column",
            Some(&["fk_schema"]),
            Some(("fk_table", &["fk_schema"])),
        ),
        "fk_columns" => many(
            "column",
            Some(&["fk_schema"]),
            Some(("fk_table", &["fk_schema"])),
        ),
        "pk_column" => one(
            "column",
            Some(&["pk_schema"]),
            Some(("pk_table", &["pk_schema"])),
        ),
        "pk_columns" => many(
            "column",
            Some(&["pk_schema"]),
            Some(("pk_table", &["pk_schema"])),
        ),
        "ancestor_table" => one("table", Some(&["ancestor_schema"]), None),
        "descendent_table" => one("table", Some(&["descendent_schema"]), None),
        "child" => one("table", Some(&["child_schema"]), None),
        "parent_table" => one("table", Some(&["parent_schema"]), None),
        "index" => one("index", Some(S), table_parent),
        "trigger" => one("trigger", Some(S), table_parent),
        "policy" => one("policy", Some(S), table_parent),
        "rule" => one("rule", Some(S), table_parent),
        "function" => one("function", Some(&["func_schema", "schema"]), None),
        "type" if fn_kind == "type" => one("type", Some(&["type_schema", "schema"]), None),
        "domain" | "enum" | "composite" => one("type", Some(S), None),
        "role" | "user" | "group" | "member" => one("role", None, None),
        "roles" | "users" | "groups" | "members" => many("role", None, None),
        "schema" | "schemaname" if fn_kind == "schema" => one("schema", None, None),
        "extension" => one("extension", None, None),
        "language" | "lang" | "languagename" => one("language", None, None),
        "tablespace" | "tablespacename" => one("tablespace", None, None),
        "db" | "dbname" => one("database", None, None),
        "fdw" => one("foreign_data_wrapper", None, None),
        "server" => one("foreign_server", None, None),
        "opclass" => one("opclass", Some(S), None),
        "name" if fn_kind == "opclass" => one("opclass", Some(S), None),
        "tables" | "partitions" => many("table", Some(S), None),
        "views" => many("view", Some(S), None),
        "materialized_views" => many("materialized_view", Some(S), None),
        "sequences" => many("sequence", Some(S), None),
        "foreign_tables" => many("foreign_table", Some(S), None),
        "indexes" => many("index", Some(S), table_parent),
        "triggers" => many("trigger", Some(S), table_parent),
        "policies" => many("policy", Some(S), table_parent),
        "rules" => many("rule", Some(S), table_parent),
        "functions" => many("function", Some(S), None),
        "types" | "domains" | "enums" => many("type", Some(S), None),
        "opclasses" => many("opclass", Some(S), None),
        "schemas" => many("schema", None, None),
        "extensions" => many("extension", None, None),
        "languages" => many("language", None, None),
        "tablespaces" => many("tablespace", None, None),
        _ => None,
    }
}

/// A name read from an argument: known, or computed at run time.
enum Name<'a> {
    Known(&'a str),
    Dynamic,
}

fn name_of(v: &Value) -> Name<'_> {
    match v {
        Value::Str(s) => Name::Known(s),
        _ => Name::Dynamic,
    }
}

/// Works out the target of a call whose arguments have the given roles.
///
/// `roles[i]` is the role of `args[i]`. `fn_kind` is the catalog's object kind (or the
/// helper's); `set` is true for set assertions (`tables_are`...).
pub fn target(
    fn_kind: &str,
    set: bool,
    roles: &[&str],
    args: &[Arg],
    search_path: &[String],
) -> Target {
    let kind = key_kind(fn_kind);
    let default_schema = search_path.first().map_or("public", String::as_str);
    let role_value = |r: &str| -> Option<&Value> {
        roles
            .iter()
            .position(|x| *x == r)
            .and_then(|i| args.get(i))
            .map(|a| &a.value)
    };

    let mut t = Target {
        kind: crate::catalog::name(kind),
        ..Target::default()
    };
    if let Some(v) = role_value("description") {
        t.description = v.as_str().map(str::to_owned);
    }

    // Resolves the schema named by one of `schema_roles`, or the search path's first.
    let schema_for = |schema_roles: &[&str]| -> Name<'_> {
        for r in schema_roles {
            if let Some(v) = role_value(r) {
                return match v {
                    Value::Null => Name::Known(default_schema),
                    v => name_of(v),
                };
            }
        }
        Name::Known(default_schema)
    };

    // Each entity named by the arguments, as (kind, is_list, keys or None if dynamic).
    let mut entities: Vec<(&'static str, bool, Option<Vec<String>>)> = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let Some(sp) = spec(role, kind) else { continue };
        let Some(arg) = args.get(i) else { continue };
        let schema = match sp.schema {
            Some(rs) => match schema_for(rs) {
                Name::Known(s) => Some(s),
                Name::Dynamic => {
                    entities.push((sp.kind, sp.list, None));
                    continue;
                }
            },
            None => None,
        };
        let parent = match sp.parent {
            Some((prole, _)) => match role_value(prole).map(name_of) {
                Some(Name::Known(p)) => Some(p),
                Some(Name::Dynamic) => {
                    entities.push((sp.kind, sp.list, None));
                    continue;
                }
                None => None,
            },
            None => None,
        };
        let fargs = if sp.kind == "function" && !sp.list {
            role_value("args").and_then(Value::as_list)
        } else {
            None
        };
        let key_of = |n: &str| {
            if sp.kind == "function" {
                function_key(schema.unwrap_or(default_schema), n, fargs.as_deref())
            } else {
                let mut parts: [&str; 3] = [""; 3];
                let mut len = 0;
                for part in [schema, parent, Some(n)].into_iter().flatten() {
                    parts[len] = part;
                    len += 1;
                }
                key(sp.kind, &parts[..len])
            }
        };
        // A single name (most calls) makes its key without a list of names first.
        let keys: Option<Vec<String>> = if sp.list {
            arg.value
                .as_list()
                .map(|names| names.iter().map(|n| key_of(n)).collect())
        } else {
            arg.value.as_str().map(|n| vec![key_of(n)])
        };
        entities.push((sp.kind, sp.list, keys));
    }

    // The object: the first entity of the function's own kind.
    let primary = entities
        .iter()
        .position(|(k, list, _)| *k == kind && (*list || !set));
    let primary = primary.or_else(|| entities.iter().position(|(k, _, _)| *k == kind));
    match primary {
        Some(p) => {
            // Taken, not cloned: the loop below skips the primary entity.
            let (_, list, keys) = &mut entities[p];
            match keys.take() {
                None => t.dynamic = true,
                Some(keys) if set || *list => {
                    t.members = keys;
                    if set {
                        t.object = container(roles, &role_value, default_schema, &mut t.dynamic);
                    } else {
                        t.object = t.members.first().cloned();
                    }
                }
                Some(keys) => t.object = keys.into_iter().next(),
            }
        }
        None if set => {
            t.object = container(roles, &role_value, default_schema, &mut t.dynamic);
        }
        None => {}
    }
    for (i, (_, _, keys)) in entities.iter().enumerate() {
        if Some(i) == primary {
            continue;
        }
        // A dynamic reference does not make the object dynamic.
        if let Some(keys) = keys {
            for k in keys {
                if t.object.as_ref() != Some(k) && !t.references.contains(k) {
                    t.references.push(k.clone());
                }
            }
        }
    }
    t
}

/// The container a set assertion lists the members of: the table if one is named, else the
/// schema (given or the search path's first).
fn container<'a>(
    roles: &[&str],
    role_value: &dyn Fn(&str) -> Option<&'a Value>,
    default_schema: &str,
    dynamic: &mut bool,
) -> Option<String> {
    let schema = match role_value("schema").map(name_of) {
        Some(Name::Dynamic) => {
            *dynamic = true;
            return None;
        }
        Some(Name::Known(s)) => s.to_string(),
        None => default_schema.to_string(),
    };
    if roles.contains(&"table") {
        return match role_value("table").map(name_of) {
            Some(Name::Known(tb)) => Some(key("table", &[&schema, tb])),
            _ => {
                *dynamic = true;
                None
            }
        };
    }
    Some(key("schema", &[&schema]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::resolve::ArgType;

    fn s(v: &str) -> Arg {
        Arg {
            name: None,
            ty: ArgType::UntypedLiteral,
            value: Value::Str(v.into()),
        }
    }
    fn arr(v: &[&str]) -> Arg {
        Arg {
            name: None,
            ty: ArgType::ArrayCtor(Some("text".into())),
            value: Value::Array(v.iter().map(|x| Value::Str(x.to_string())).collect()),
        }
    }
    fn dynamic() -> Arg {
        Arg {
            name: None,
            ty: ArgType::Unknown,
            value: Value::Dynamic,
        }
    }
    fn sp() -> Vec<String> {
        vec!["public".into()]
    }

    #[test]
    fn table_with_and_without_schema() {
        let t = target(
            "table",
            false,
            &["schema", "table", "description"],
            &[s("app"), s("users"), s("d")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("table:app.users"));
        assert_eq!(t.description.as_deref(), Some("d"));
        let t = target(
            "table",
            false,
            &["table", "description"],
            &[s("users"), s("d")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("table:public.users"));
    }

    #[test]
    fn column_and_its_table() {
        let t = target(
            "column",
            false,
            &["schema", "table", "column"],
            &[s("app"), s("users"), s("Email")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("column:app.users.\"Email\""));
    }

    #[test]
    fn function_with_args() {
        let t = target(
            "function",
            false,
            &["schema", "function", "args"],
            &[s("app"), s("add"), arr(&["int", "int"])],
            &sp(),
        );
        assert_eq!(
            t.object.as_deref(),
            Some("function:app.add(integer,integer)")
        );
        let t = target("function", false, &["function"], &[s("add")], &sp());
        assert_eq!(t.object.as_deref(), Some("function:public.add"));
    }

    #[test]
    fn set_assertion_lists_members_under_a_container() {
        let t = target(
            "table",
            true,
            &["schema", "tables"],
            &[s("app"), arr(&["a", "b"])],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("schema:app"));
        assert_eq!(t.members, vec!["table:app.a", "table:app.b"]);
        let t = target(
            "column",
            true,
            &["schema", "table", "columns"],
            &[s("app"), s("t"), arr(&["x"])],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("table:app.t"));
        assert_eq!(t.members, vec!["column:app.t.x"]);
    }

    #[test]
    fn privileges_reference_the_role() {
        let t = target(
            "table",
            false,
            &["schema", "table", "role", "privileges"],
            &[s("app"), s("t"), s("anon"), arr(&["SELECT"])],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("table:app.t"));
        assert_eq!(t.references, vec!["role:anon"]);
    }

    #[test]
    fn dynamic_names_give_no_object() {
        let t = target(
            "table",
            false,
            &["schema", "table"],
            &[dynamic(), s("users")],
            &sp(),
        );
        assert!(t.dynamic);
        assert_eq!(t.object, None);
    }

    #[test]
    fn fk_ok_names_both_tables() {
        let t = target(
            "column",
            false,
            &["fk_table", "fk_column", "pk_table", "pk_column"],
            &[s("orders"), s("user_id"), s("users"), s("id")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("column:public.orders.user_id"));
        assert_eq!(
            t.references,
            vec![
                "table:public.orders",
                "table:public.users",
                "column:public.users.id"
            ]
        );
    }

    #[test]
    fn trigger_references_its_function() {
        let t = target(
            "trigger",
            false,
            &["schema", "table", "trigger", "func_schema", "function"],
            &[s("app"), s("t"), s("trg"), s("util"), s("touch")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("trigger:app.t.trg"));
        assert_eq!(t.references, vec!["table:app.t", "function:util.touch"]);
    }
}
