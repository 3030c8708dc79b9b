//! Calls and type names: a function reference unless pgTAP's or built in, role helpers,
//! `set_config('role', ..)`, sequences, SQL text given to pgTAP.

use std::borrow::Cow;

use crate::lexer::{StringFlavor, TokenKind};
use crate::model::RefKind;

use super::*;

impl<'a> Scanner<'a> {
    /// After `::` or `CAST(x AS`: a type name; a reference when it is not built in.
    pub(super) fn type_name(
        &self,
        i: usize,
        to: usize,
        ev: &mut Vec<Event>,
        pending: &mut Option<Kind>,
    ) -> usize {
        if i >= to || !self.is_name(i) {
            return i;
        }
        // The common case, `::text`: a built-in type by the word table, no string made.
        if self.kind(i + 1) != Some(TokenKind::Dot)
            && self
                .lower(i)
                .is_some_and(|w| word_flags(&w) & BUILTIN_TYPE != 0)
        {
            if self.kind(i + 1) == Some(TokenKind::LParen) {
                *pending = Some(Kind::Ignore);
            }
            return i + 1;
        }
        let (parts, j, _) = self.read_name(i);
        let name = self.last(parts);
        let schema = self.schema_of(parts);
        let builtin = match &schema {
            None => is_builtin_type(&name) || self.is_multiword_type(i, &name),
            Some(s) => s == "pg_catalog",
        };
        if !builtin {
            ev.push(Event::Ref(
                RawRef {
                    kind: RefKind::Type,
                    schema: schema.filter(|_| !self.counting).map(Cow::into_owned),
                    name: self.kept(|| name.into_owned()),
                    relation: None,
                    command: None,
                    arity: None,
                },
                i,
            ));
        }
        if self.kind(j) == Some(TokenKind::LParen) {
            *pending = Some(Kind::Ignore);
        }
        j
    }

    pub(super) fn is_multiword_type(&self, _i: usize, name: &str) -> bool {
        matches!(name, "double" | "character" | "national" | "bit")
    }

    /// A call `parts(`: a function reference unless pgTAP's or built in; role helpers,
    /// `set_config('role', ..)`, sequences and SQL text given to pgTAP are events.
    pub(super) fn call(
        &self,
        parts: Name,
        open: usize,
        ev: &mut Vec<Event>,
        pending: &mut Option<Kind>,
    ) {
        *pending = Some(Kind::Call);
        // The name's word flags: `None` for a name the table cannot hold (quoted, long,
        // not ASCII), looked up by its string below.
        let word = self.lower(parts.last_at());
        let flags = word.as_ref().map(word_flags);
        // The common cases by the word table, no string made: an unqualified call of
        // pgTAP's running no SQL text, or of a built-in the reader takes nothing from
        // (no role helper is declared, and none of these is supabase-test-helpers').
        if let (Some(w), Some(f)) = (&word, flags) {
            if parts.parts == 1
                && self.opts.role_helpers.is_empty()
                && (f & PGTAP_PLAIN != 0
                    || (f & BUILTIN_FUNCTION != 0 && f & SPECIAL == 0 && !w.starts_with(b"_")))
            {
                return;
            }
        }
        let name = self.last(parts);
        let name = &*name;
        let schema = self.schema_of(parts);
        if let Some(role) = self.role_helper(schema.as_deref(), name, open) {
            ev.push(Event::Role {
                role,
                local: true,
                helper: true,
            });
            return;
        }
        // A word the table holds is pgTAP's only with one of its flags (no lookup).
        let pgtap = match flags {
            Some(f) if f & (PGTAP_PLAIN | PGTAP_SQL) == 0 => None,
            _ => pgtap_function(name),
        };
        if let Some(f) = pgtap {
            if runs_sql(f) {
                let args = self.args_of(open);
                let n_sql = if f.name.starts_with("results_")
                    || f.name.starts_with("set_")
                    || f.name.starts_with("bag_")
                {
                    2
                } else {
                    1
                };
                for &(a, b) in args.iter().take(n_sql) {
                    let lone = b == a + 1;
                    let t = self.toks[a];
                    let sql_string = matches!(t.kind, TokenKind::DollarString)
                        || (t.kind == TokenKind::String
                            && matches!(t.flavor, StringFlavor::Standard | StringFlavor::Escape));
                    if lone && sql_string {
                        ev.push(Event::SqlText(a));
                    }
                }
            }
            return;
        }
        if name.starts_with('_')
            && PGTAP_INTERNAL.binary_search(&name).is_ok()
            && schema.as_deref().is_none_or(|s| {
                self.opts
                    .pgtap_schemas
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(s))
            })
        {
            return;
        }
        let builtin = match (&schema, flags) {
            (None, Some(f)) => f & BUILTIN_FUNCTION != 0,
            (None, None) => is_builtin_function(name),
            (Some(s), _) => s == "pg_catalog",
        };
        if builtin {
            if schema.is_none() {
                self.builtin_call(name, open, ev);
            }
            return;
        }
        let arity = (!self.counting).then(|| self.args_of(open).len() as u32);
        ev.push(Event::Ref(
            RawRef {
                kind: RefKind::Function,
                schema: schema.filter(|_| !self.counting).map(Cow::into_owned),
                name: self.kept(|| name.to_string()),
                relation: None,
                command: None,
                arity,
            },
            open - 1,
        ));
    }

    /// `nextval('s')`, `set_config('role', 'r', true)`.
    pub(super) fn builtin_call(&self, name: &str, open: usize, ev: &mut Vec<Event>) {
        match name {
            "nextval" | "currval" | "setval" => {
                let args = self.args_of(open);
                let Some(seq) = args.first().and_then(|&a| self.literal(a)) else {
                    return;
                };
                let (schema, name) = split_qualified(&seq);
                if name.is_empty() {
                    return;
                }
                ev.push(Event::Ref(
                    RawRef {
                        kind: RefKind::Sequence,
                        schema,
                        name,
                        relation: None,
                        command: None,
                        arity: None,
                    },
                    open + 1,
                ));
            }
            "set_config" => {
                let args = self.args_of(open);
                if args.len() != 3 {
                    return;
                }
                if !self
                    .literal(args[0])
                    .is_some_and(|s| s.eq_ignore_ascii_case("role"))
                {
                    return;
                }
                let Some(role) = self.literal(args[1]) else {
                    return;
                };
                let local = args[2].1 == args[2].0 + 1
                    && (self.is_kw(args[2].0, "true")
                        || self
                            .literal(args[2])
                            .is_some_and(|s| s.starts_with(['t', 'T'])));
                let role = (!role.eq_ignore_ascii_case("none") && !role.is_empty()).then_some(role);
                ev.push(Event::Role {
                    role,
                    local,
                    helper: false,
                });
            }
            _ => {}
        }
    }

    /// A role helper call: supabase-test-helpers' or a declared one.
    /// `Some(role)`: it switches to `role` (`None`: back to the session's).
    #[allow(clippy::option_option)]
    pub(super) fn role_helper(
        &self,
        schema: Option<&str>,
        name: &str,
        open: usize,
    ) -> Option<Option<String>> {
        for h in &self.opts.role_helpers {
            if !h.bare_name().eq_ignore_ascii_case(name) {
                continue;
            }
            if let Some(s) = h.schema() {
                if !schema.is_some_and(|q| q.eq_ignore_ascii_case(s)) {
                    continue;
                }
            }
            if let Some(r) = &h.role {
                return Some(Some(r.clone()));
            }
            let n = h.arg.unwrap_or(1).max(1) as usize;
            let args = self.args_of(open);
            return Some(args.get(n - 1).and_then(|&a| self.literal(a)));
        }
        match name {
            "authenticate_as" => Some(Some("authenticated".into())),
            "authenticate_as_service_role" => Some(Some("service_role".into())),
            "clear_authentication" => Some(Some("anon".into())),
            _ => None,
        }
    }
}
