//! Name resolution: where a new object goes and which existing object a name means,
//! through the current search path (`SET search_path` changes it).

use super::{show, Reader};
use crate::lexer::Token;
use crate::object;
use crate::universe::split::QName;

impl Reader<'_, '_> {
    /// The schema new objects go to: the first of the search path.
    fn creation_schema(&self) -> String {
        self.path
            .iter()
            .find(|s| s.as_str() != "$user" && s.as_str() != "pg_temp")
            .cloned()
            .unwrap_or_else(|| "public".to_string())
    }

    pub(super) fn schema_for(&self, q: &QName) -> String {
        q.schema.clone().unwrap_or_else(|| self.creation_schema())
    }

    fn lookup_schemas(&self, q: &QName) -> Vec<String> {
        match &q.schema {
            Some(s) => vec![s.clone()],
            None => {
                let mut v: Vec<String> = self
                    .path
                    .iter()
                    .filter(|s| s.as_str() != "$user")
                    .cloned()
                    .collect();
                if v.is_empty() {
                    v.push("public".into());
                }
                v
            }
        }
    }

    /// An existing schema-level object of one of `kinds`, through the search path.
    pub(super) fn find(&self, q: &QName, kinds: &[&str]) -> Option<String> {
        for s in self.lookup_schemas(q) {
            for k in kinds {
                let key = object::key(k, &[&s, &q.name]);
                if self.u.contains(&key) {
                    return Some(key);
                }
            }
        }
        None
    }

    /// A relation of `kinds` with its schema and name; or, when its schema is one the
    /// migrations never create (a platform's `auth.users`, `storage.objects`), that table
    /// recorded as external, so a trigger or policy on it is kept instead of dropped.
    pub(super) fn find_rel_or_external(
        &mut self,
        q: &QName,
        kinds: &[&str],
    ) -> Result<(String, String, String), String> {
        if let Some(key) = self.find(q, kinds) {
            let (schema, name) = self.parent_names(&key);
            return Ok((key, schema, name));
        }
        match &q.schema {
            // Schemas every database has, and those on the search path, are not a
            // platform's: `public.typo` is still an unknown relation.
            Some(s)
                if !self.u.contains(&object::key("schema", &[s]))
                    && !matches!(s.as_str(), "public" | "pg_catalog" | "information_schema")
                    && !self.path.iter().any(|p| p == s) =>
            {
                let key = object::key("table", &[s, &q.name]);
                self.u.add_external(key.clone());
                Ok((key, s.clone(), q.name.clone()))
            }
            _ => Err(format!("unknown relation {}", show(q))),
        }
    }

    pub(super) fn find_rel(&self, q: &QName, kinds: &[&str]) -> Result<String, String> {
        self.find(q, kinds)
            .ok_or_else(|| format!("unknown relation {}", show(q)))
    }

    pub(super) fn find_index(&self, q: &QName) -> Option<String> {
        self.lookup_schemas(q)
            .iter()
            .find_map(|s| self.u.find_index(s, &q.name))
    }

    fn functions_named(&self, q: &QName) -> Vec<String> {
        for s in self.lookup_schemas(q) {
            let prefix = format!("{}(", object::key("function", &[&s, &q.name]));
            let found: Vec<String> = self
                .u
                .with_prefix(&prefix)
                .filter(|o| o.name == q.name && o.schema.as_deref() == Some(&s))
                .map(|o| o.key.clone())
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// A function by name and (optional) signature.
    pub(super) fn find_functions(&self, q: &QName, args: Option<&[Token]>) -> Vec<String> {
        match args {
            None => self.functions_named(q),
            Some(a) => {
                let types = self.signature_types(a);
                for s in self.lookup_schemas(q) {
                    let key = object::ObjectKey::function(&s, &q.name, Some(&types));
                    if self.u.contains(&key) {
                        return vec![key];
                    }
                }
                Vec::new()
            }
        }
    }

    pub(super) fn parent_names(&self, table_key: &str) -> (String, String) {
        self.u
            .get(table_key)
            .map(|o| (o.schema.clone().unwrap_or_default(), o.name.clone()))
            .unwrap_or_default()
    }
}
