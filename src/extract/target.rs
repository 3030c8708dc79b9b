//! From resolved arguments to object keys: which object a call asserts about, which others
//! it names, and whether the names are only known at run time.

use super::args::{Arg, Value};
use crate::object::{ObjectKey, ObjectKind, Scope};

/// What a call says about objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The kind the function asserts about; `None` for value tests.
    pub kind: Option<ObjectKind>,
    pub object: Option<String>,
    pub members: Vec<String>,
    pub references: Vec<String>,
    pub dynamic: bool,
    pub description: Option<String>,
}

/// How an argument role names an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spec {
    kind: ObjectKind,
    /// The roles that may hold this object's schema, the first given wins (`None`: the
    /// kind lives in no schema).
    schema: Option<&'static [&'static str]>,
    /// The role holding the name of the table this object belongs to.
    parent: Option<&'static str>,
    /// The argument is a list of names (`tables_are`).
    list: bool,
}

const S: &[&str] = &["schema"];

impl Spec {
    /// One object of `kind`, qualified the kind's usual way: by the `schema` role for
    /// kinds in a schema, by `schema` and `table` for kinds on a table.
    const fn one(kind: ObjectKind) -> Spec {
        let (schema, parent) = match kind.scope() {
            Scope::Global => (None, None),
            Scope::Schema => (Some(S), None),
            Scope::Table => (Some(S), Some("table")),
        };
        Spec {
            kind,
            schema,
            parent,
            list: false,
        }
    }

    /// A list of objects of `kind`, qualified as [`Spec::one`].
    const fn many(kind: ObjectKind) -> Spec {
        Spec {
            list: true,
            ..Spec::one(kind)
        }
    }

    /// The schema is in the first given of these roles (`fk_schema`, `func_schema`).
    const fn schema_in(self, roles: &'static [&'static str]) -> Spec {
        Spec {
            schema: Some(roles),
            ..self
        }
    }

    /// The table is in this role (`fk_table`).
    const fn table_in(self, role: &'static str) -> Spec {
        Spec {
            parent: Some(role),
            ..self
        }
    }
}

/// What object an argument role names in a call of a function about `fn_kind`; `None`
/// for roles that name none (the tests list those of the catalog, with why).
fn spec(role: &str, fn_kind: Option<ObjectKind>) -> Option<Spec> {
    use ObjectKind as K;
    let one = |kind| Some(Spec::one(kind));
    let many = |kind| Some(Spec::many(kind));
    match role {
        "table" => one(K::Table),
        "view" => one(K::View),
        "materialized_view" => one(K::MaterializedView),
        "sequence" => one(K::Sequence),
        "foreign_table" => one(K::ForeignTable),
        "relation" => one(K::Relation),
        "column" => one(K::Column),
        "columns" => many(K::Column),
        "fk_table" => Some(Spec::one(K::Table).schema_in(&["fk_schema"])),
        "pk_table" => Some(Spec::one(K::Table).schema_in(&["pk_schema"])),
        "fk_column" => Some(
            Spec::one(K::Column)
                .schema_in(&["fk_schema"])
                .table_in("fk_table"),
        ),
        "fk_columns" => Some(
            Spec::many(K::Column)
                .schema_in(&["fk_schema"])
                .table_in("fk_table"),
        ),
        "pk_column" => Some(
            Spec::one(K::Column)
                .schema_in(&["pk_schema"])
                .table_in("pk_table"),
        ),
        "pk_columns" => Some(
            Spec::many(K::Column)
                .schema_in(&["pk_schema"])
                .table_in("pk_table"),
        ),
        "ancestor_table" => Some(Spec::one(K::Table).schema_in(&["ancestor_schema"])),
        "descendent_table" => Some(Spec::one(K::Table).schema_in(&["descendent_schema"])),
        "child" => Some(Spec::one(K::Table).schema_in(&["child_schema"])),
        "parent_table" => Some(Spec::one(K::Table).schema_in(&["parent_schema"])),
        "index" => one(K::Index),
        "trigger" => one(K::Trigger),
        "policy" => one(K::Policy),
        "rule" => one(K::Rule),
        "function" => Some(Spec::one(K::Function).schema_in(&["func_schema", "schema"])),
        "type" if fn_kind == Some(K::Type) => {
            Some(Spec::one(K::Type).schema_in(&["type_schema", "schema"]))
        }
        "domain" | "enum" | "composite" => one(K::Type),
        "role" | "user" | "group" | "member" => one(K::Role),
        "roles" | "users" | "groups" | "members" => many(K::Role),
        "schema" | "schemaname" if fn_kind == Some(K::Schema) => one(K::Schema),
        "extension" => one(K::Extension),
        "language" | "lang" | "languagename" => one(K::Language),
        "tablespace" | "tablespacename" => one(K::Tablespace),
        "db" | "dbname" => one(K::Database),
        "fdw" => one(K::ForeignDataWrapper),
        "server" => one(K::ForeignServer),
        "opclass" => one(K::Opclass),
        "name" if fn_kind == Some(K::Opclass) => one(K::Opclass),
        "tables" | "partitions" => many(K::Table),
        "views" => many(K::View),
        "materialized_views" => many(K::MaterializedView),
        "sequences" => many(K::Sequence),
        "foreign_tables" => many(K::ForeignTable),
        "indexes" => many(K::Index),
        "triggers" => many(K::Trigger),
        "policies" => many(K::Policy),
        "rules" => many(K::Rule),
        "functions" => many(K::Function),
        "types" | "domains" | "enums" => many(K::Type),
        "opclasses" => many(K::Opclass),
        "schemas" => many(K::Schema),
        "extensions" => many(K::Extension),
        "languages" => many(K::Language),
        "tablespaces" => many(K::Tablespace),
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
/// `roles[i]` is the role of `args[i]`. `kind` is the kind the function asserts about
/// (the catalog's or the helper's); `set` is true for set assertions (`tables_are`...).
pub fn target(
    kind: Option<ObjectKind>,
    set: bool,
    roles: &[&str],
    args: &[Arg],
    search_path: &[String],
) -> Target {
    let default_schema = search_path.first().map_or("public", String::as_str);
    let role_value = |r: &str| -> Option<&Value> {
        roles
            .iter()
            .position(|x| *x == r)
            .and_then(|i| args.get(i))
            .map(|a| &a.value)
    };

    let mut t = Target {
        kind,
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
    let mut entities: Vec<(ObjectKind, bool, Option<Vec<String>>)> = Vec::new();
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
            Some(prole) => match role_value(prole).map(name_of) {
                Some(Name::Known(p)) => Some(p),
                Some(Name::Dynamic) => {
                    entities.push((sp.kind, sp.list, None));
                    continue;
                }
                None => None,
            },
            None => None,
        };
        let fargs = if sp.kind == ObjectKind::Function && !sp.list {
            role_value("args").and_then(Value::as_list)
        } else {
            None
        };
        let key_of = |n: &str| {
            if sp.kind == ObjectKind::Function {
                ObjectKey::function(schema.unwrap_or(default_schema), n, fargs.as_deref())
            } else {
                let mut parts: [&str; 3] = [""; 3];
                let mut len = 0;
                for part in [schema, parent, Some(n)].into_iter().flatten() {
                    parts[len] = part;
                    len += 1;
                }
                sp.kind.key(&parts[..len])
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
        .position(|(k, list, _)| Some(*k) == kind && (*list || !set));
    let primary = primary.or_else(|| entities.iter().position(|(k, _, _)| Some(*k) == kind));
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
            Some(Name::Known(tb)) => Some(ObjectKind::Table.key(&[&schema, tb])),
            _ => {
                *dynamic = true;
                None
            }
        };
    }
    Some(ObjectKind::Schema.key(&[&schema]))
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
            Some(ObjectKind::Table),
            false,
            &["schema", "table", "description"],
            &[s("app"), s("users"), s("d")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("table:app.users"));
        assert_eq!(t.description.as_deref(), Some("d"));
        let t = target(
            Some(ObjectKind::Table),
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
            Some(ObjectKind::Column),
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
            Some(ObjectKind::Function),
            false,
            &["schema", "function", "args"],
            &[s("app"), s("add"), arr(&["int", "int"])],
            &sp(),
        );
        assert_eq!(
            t.object.as_deref(),
            Some("function:app.add(integer,integer)")
        );
        let t = target(
            Some(ObjectKind::Function),
            false,
            &["function"],
            &[s("add")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("function:public.add"));
    }

    #[test]
    fn set_assertion_lists_members_under_a_container() {
        let t = target(
            Some(ObjectKind::Table),
            true,
            &["schema", "tables"],
            &[s("app"), arr(&["a", "b"])],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("schema:app"));
        assert_eq!(t.members, vec!["table:app.a", "table:app.b"]);
        let t = target(
            Some(ObjectKind::Column),
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
            Some(ObjectKind::Table),
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
            Some(ObjectKind::Table),
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
            Some(ObjectKind::Column),
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
            Some(ObjectKind::Trigger),
            false,
            &["schema", "table", "trigger", "func_schema", "function"],
            &[s("app"), s("t"), s("trg"), s("util"), s("touch")],
            &sp(),
        );
        assert_eq!(t.object.as_deref(), Some("trigger:app.t.trg"));
        assert_eq!(t.references, vec!["table:app.t", "function:util.touch"]);
    }

    /// Argument roles of the catalog that name no object of their own, and why. Every role of
    /// the catalog is either read by `spec` or listed here (the test below checks both ways),
    /// so a role a new catalog brings is a decision, not a silent gap.
    const NOT_OBJECTS: &[(&str, &str)] = &[
        // Qualifiers: part of another role's name.
        (
            "schema",
            "the schema of the object another role names (an object only for schema functions)",
        ),
        ("ancestor_schema", "qualifies ancestor_table"),
        ("child_schema", "qualifies child"),
        ("descendent_schema", "qualifies descendent_table"),
        ("fk_schema", "qualifies fk_table and fk_column"),
        ("pk_schema", "qualifies pk_table and pk_column"),
        ("func_schema", "qualifies function"),
        ("parent_schema", "qualifies parent_table"),
        ("type_schema", "qualifies type"),
        ("args", "the argument types of function, part of its key"),
        // Names of things keys do not describe.
        (
            "type",
            "a data type (col_type_is, function_returns, ...); a type object only for type functions",
        ),
        (
            "name",
            "an operator or control name; an opclass only for opclass functions",
        ),
        ("casts", "cast signatures (casts_are): casts have no keys"),
        (
            "operators",
            "operator signatures (operators_are): operators have no keys",
        ),
        ("source_type", "a cast's source data type"),
        ("target_type", "a cast's target data type"),
        ("left_type", "an operator's left operand type"),
        ("right_type", "an operator's right operand type"),
        ("return_type", "an operator's result type"),
        ("regtype", "a data type compared by value"),
        ("location", "a tablespace's directory"),
        ("opername", "an operator name given to a utility"),
        ("operoid", "an operator oid given to a utility"),
        // Values, expectations and options.
        ("description", "the test's description"),
        ("privileges", "privilege names"),
        ("command", "a policy's command"),
        ("event", "a rule's event"),
        ("context", "a cast's context"),
        ("volatility", "a function's volatility"),
        ("labels", "enum labels"),
        ("default", "a column default value"),
        ("depth", "an inheritance depth"),
        ("have", "a value under test"),
        ("want", "an expected value"),
        ("this", "a value under test"),
        ("like", "a pattern"),
        ("regex", "a pattern"),
        ("pattern", "a pattern"),
        ("exclude_pattern", "a pattern"),
        ("array", "a value under test"),
        ("boolean", "a value under test"),
        ("record", "a value under test"),
        ("op", "an operator applied to values"),
        ("within", "a tolerance"),
        ("sql", "SQL text to run"),
        ("cursor", "a cursor to read"),
        ("errcode", "an expected SQLSTATE"),
        ("errmsg", "an expected error message"),
        ("ermsg", "an expected error message"),
        ("milliseconds", "a time limit"),
        ("average_milliseconds", "a time limit"),
        ("iterations", "a repeat count"),
        // Control and utility arguments.
        ("count", "a plan count"),
        ("how_many", "a skip count"),
        ("why", "a skip or todo reason"),
        ("reason", "a skip or todo reason"),
        ("lines", "diagnostic lines"),
        ("lines...", "diagnostic lines"),
        ("text", "diagnostic text"),
        ("ok", "a result"),
        ("aok", "a result"),
        ("is_ok", "an expected result"),
        ("test_name", "a test's name"),
        ("test_output", "a test's output"),
        ("want_description", "an expected description"),
        ("want_diag", "expected diagnostics"),
        ("match_diag", "whether diagnostics are a pattern"),
        ("exception_on_failure", "an option"),
    ];

    /// Every argument role of the catalog (overloads, documented call shapes and run-time
    /// readings) either names an object, read by `spec`, or is listed in `NOT_OBJECTS`;
    /// and every listed role is one some catalog function uses without naming an object.
    #[test]
    fn every_catalog_role_is_mapped_to_an_object_or_listed_as_naming_none() {
        let mut unmapped_uses: Vec<&str> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for f in crate::catalog::FUNCTIONS {
            let shapes = f
                .overloads
                .iter()
                .map(|o| o.arg_names)
                .chain(
                    f.overloads
                        .iter()
                        .flat_map(|o| o.alternative_arg_names.iter().copied()),
                )
                .chain(f.signatures.iter().copied())
                .chain(f.undocumented_signatures.iter().copied());
            for role in shapes.flatten() {
                if spec(role, f.object_kind).is_some() {
                    continue;
                }
                unmapped_uses.push(role);
                if !NOT_OBJECTS.iter().any(|(r, _)| r == role) {
                    missing.push(format!("{}({role})", f.name));
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "argument roles neither mapped to an object by `spec` nor listed in NOT_OBJECTS: \
             {missing:?}"
        );
        for (role, why) in NOT_OBJECTS {
            assert!(
                unmapped_uses.contains(role),
                "NOT_OBJECTS lists {role:?} ({why}), but no catalog function uses it \
                 without naming an object"
            );
        }
    }
}
