//! Reading object keys back into their parts, and writing them from parts.

use std::fmt::{self, Write as _};

use super::{normalize_type, quote_part, ObjectKind};

/// An object key taken apart: `column:app.users."Email"` is kind `column`, schema `app`,
/// table `users`, name `Email`.
///
/// Keys travel as text (one format everywhere: reports, the coverage database, the
/// universe, gates); this is how code reads one ([`ObjectKey::parse`]) and writes one
/// (`Display`, or the allocation-lean [`ObjectKind::key`] and [`ObjectKey::function`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    /// The kind, from the `kind:` prefix.
    pub kind: ObjectKind,
    /// The first of two or three parts: `None` for one-part keys (`role:anon`,
    /// `schema:app`, `function:f`).
    pub schema: Option<String>,
    /// The middle of three parts: the table (or view) the object belongs to.
    pub table: Option<String>,
    /// The last part, unquoted.
    pub name: String,
    /// A function's argument list as the key writes it, without the parentheses
    /// (`integer,text`); `None` when the key has none (every overload).
    pub args: Option<String>,
}

/// Why a text is not an object key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text has no `kind:` prefix.
    #[error("{0:?} is not an object key: no `kind:` prefix")]
    NoKind(String),
    /// The prefix is not a kind's name.
    #[error(transparent)]
    UnknownKind(#[from] super::UnknownKind),
    /// More than three dot-separated name parts.
    #[error("{0:?} is not an object key: more than three name parts")]
    TooManyParts(String),
}

impl ObjectKey {
    /// Builds `function:schema.name(type,type)`, each type spelt as `format_type` would
    /// ([`normalize_type`]); `args: None` means "every overload".
    pub fn function(schema: &str, name: &str, args: Option<&[String]>) -> String {
        let mut out = ObjectKind::Function.key(&[schema, name]);
        if let Some(args) = args {
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", normalize_type(a));
            }
            out.push(')');
        }
        out
    }

    /// Takes a key apart, following the key grammar of [`crate::object`]: dot-separated
    /// parts, each bare or double-quoted (`""` is one `"`); a function's argument list
    /// (from the first `(` outside quotes) is kept as written.
    pub fn parse(key: &str) -> Result<ObjectKey, KeyError> {
        let (kind, rest) = key
            .split_once(':')
            .ok_or_else(|| KeyError::NoKind(key.to_string()))?;
        let kind: ObjectKind = kind.parse()?;
        let (path, args) = split_args(rest);
        let args = args
            .strip_prefix('(')
            .map(|a| a.strip_suffix(')').unwrap_or(a).to_string());
        // Most keys have no quoted part: slice them without unquoting.
        let mut parts: Vec<String> = if path.contains('"') {
            split_dotted(path, false)
        } else {
            path.split('.').map(str::to_string).collect()
        };
        if parts.len() > 3 {
            return Err(KeyError::TooManyParts(key.to_string()));
        }
        let name = parts.pop().unwrap_or_default();
        let table = (parts.len() == 2).then(|| parts.pop()).flatten();
        let schema = parts.pop();
        Ok(ObjectKey {
            kind,
            schema,
            table,
            name,
            args,
        })
    }

    /// The kind of a key that [`ObjectKey::parse`] takes, without building its parts;
    /// `None` when it does not parse.
    pub fn kind_if_parses(key: &str) -> Option<ObjectKind> {
        let (kind, rest) = key.split_once(':')?;
        let kind: ObjectKind = kind.parse().ok()?;
        let (path, _) = split_args(rest);
        let parts = if path.contains('"') {
            split_dotted(path, false).len()
        } else {
            path.split('.').count()
        };
        (parts <= 3).then_some(kind)
    }

    /// The kind of a key (`table` for `table:public.users`), without reading the rest.
    pub fn kind_of(key: &str) -> Option<ObjectKind> {
        key.split_once(':')
            .and_then(|(kind, _)| ObjectKind::from_name(kind))
    }

    /// The key with the same name parts under another kind (`view:app.v` as
    /// `table:app.v`).
    pub fn with_kind(key: &str, kind: ObjectKind) -> String {
        let rest = key.split_once(':').map_or("", |(_, rest)| rest);
        let mut out = String::with_capacity(kind.name().len() + 1 + rest.len());
        out.push_str(kind.name());
        out.push(':');
        out.push_str(rest);
        out
    }

    /// The key of the table an object of a table belongs to (`table:app.users` for
    /// `column:app.users.email`). Always a `table:` key, whatever the relation's kind: the
    /// key alone does not tell a view's column from a table's.
    pub fn parent(&self) -> Option<String> {
        match (&self.schema, &self.table) {
            (Some(s), Some(t)) => Some(ObjectKind::Table.key(&[s, t])),
            _ => None,
        }
    }

    /// The name with a function's argument list (`add(integer,integer)`): the report's
    /// `name` of an object.
    pub fn name_with_args(&self) -> String {
        self.clone().into_name_with_args()
    }

    /// [`ObjectKey::name_with_args`], reusing the name's allocation when there are no
    /// arguments.
    pub fn into_name_with_args(self) -> String {
        match self.args {
            None => self.name,
            Some(a) => {
                let mut out = String::with_capacity(self.name.len() + a.len() + 2);
                out.push_str(&self.name);
                out.push('(');
                out.push_str(&a);
                out.push(')');
                out
            }
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.kind)?;
        for part in [&self.schema, &self.table].into_iter().flatten() {
            write!(f, "{}.", quote_part(part))?;
        }
        f.write_str(&quote_part(&self.name))?;
        if let Some(a) = &self.args {
            write!(f, "({a})")?;
        }
        Ok(())
    }
}

/// Splits `s.f(args)` at the first `(` outside double quotes: (`s.f`, `(args)`).
pub(crate) fn split_args(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

/// Splits a dotted name at dots outside double quotes, unquoting (`""` is one `"`).
/// `fold`: lower-case unquoted parts, as PostgreSQL reads a name in SQL or a regclass
/// string; keys are already folded, so they are split without it.
pub(crate) fn split_dotted(s: &str, fold: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c if fold && !quoted => cur.push(c.to_ascii_lowercase()),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(key: &str) -> (ObjectKind, Option<String>, String, Option<String>) {
        let k = ObjectKey::parse(key).unwrap();
        (k.kind, k.schema.clone(), k.name_with_args(), k.parent())
    }

    #[test]
    fn keys_split_into_schema_name_and_parent() {
        assert_eq!(
            parts("column:app.users.email"),
            (
                ObjectKind::Column,
                Some("app".into()),
                "email".into(),
                Some("table:app.users".into())
            )
        );
        assert_eq!(
            parts("function:app.add(integer,app.\"My Type\")"),
            (
                ObjectKind::Function,
                Some("app".into()),
                "add(integer,app.\"My Type\")".into(),
                None
            )
        );
        assert_eq!(
            parts("table:\"We.ird\".\"T\"\"x\""),
            (
                ObjectKind::Table,
                Some("We.ird".into()),
                "T\"x".into(),
                None
            )
        );
        assert_eq!(
            parts("role:anon"),
            (ObjectKind::Role, None, "anon".into(), None)
        );
        assert_eq!(
            parts("trigger:a.b.c"),
            (
                ObjectKind::Trigger,
                Some("a".into()),
                "c".into(),
                Some("table:a.b".into())
            )
        );
        assert_eq!(
            parts("column:\"A\".\"b.c\".d"),
            (
                ObjectKind::Column,
                Some("A".into()),
                "d".into(),
                Some("table:\"A\".\"b.c\"".into())
            )
        );
        assert_eq!(
            parts("schema:app"),
            (ObjectKind::Schema, None, "app".into(), None)
        );
        assert_eq!(
            parts("table:a."),
            (ObjectKind::Table, Some("a".into()), "".into(), None)
        );
        assert_eq!(
            parts("function:app.f()"),
            (ObjectKind::Function, Some("app".into()), "f()".into(), None)
        );
    }

    #[test]
    fn what_is_not_a_key() {
        assert!(matches!(ObjectKey::parse("x"), Err(KeyError::NoKind(_))));
        assert!(matches!(ObjectKey::parse(""), Err(KeyError::NoKind(_))));
        assert!(matches!(
            ObjectKey::parse("constraint:a.b.c"),
            Err(KeyError::UnknownKind(_))
        ));
        assert!(matches!(
            ObjectKey::parse("column:a.b.c.d"),
            Err(KeyError::TooManyParts(_))
        ));
        assert_eq!(
            ObjectKey::kind_of("table:public.users"),
            Some(ObjectKind::Table)
        );
        assert_eq!(ObjectKey::kind_of("nonsense"), None);
        assert_eq!(ObjectKey::kind_of("tables:x"), None);
        assert_eq!(
            ObjectKey::with_kind("view:app.\"V\"", ObjectKind::Table),
            "table:app.\"V\""
        );
    }

    #[test]
    fn keys_read_back_as_they_were_written() {
        let args = vec!["int".to_string(), "app.My Type".to_string()];
        for key in [
            ObjectKind::Column.key(&["app", "users", "email"]),
            ObjectKind::Table.key(&["We.ird", "T\"x"]),
            ObjectKind::Role.key(&["we\"ird"]),
            ObjectKind::Schema.key(&["1x"]),
            ObjectKind::Index.key(&["app", "users_email_key"]),
            ObjectKey::function("app", "add", Some(&args)),
            ObjectKey::function("app", "f", Some(&[])),
            ObjectKey::function("app", "f", None),
        ] {
            let k = ObjectKey::parse(&key).unwrap();
            assert_eq!(k.to_string(), key);
            assert_eq!(ObjectKey::parse(&k.to_string()).unwrap(), k);
        }
    }
}
