//! The names a PL/pgSQL body declares (variables, loop targets, implicit variables):
//! never columns.

use crate::lexer::{ident_value, Token, TokenKind};

/// Variables PL/pgSQL declares itself: `FOUND`, the exception handler's and the trigger
/// function's.
pub(super) const IMPLICIT_VARIABLES: &[&str] = &[
    "found",
    "sqlerrm",
    "sqlstate",
    "tg_argv",
    "tg_event",
    "tg_level",
    "tg_name",
    "tg_nargs",
    "tg_op",
    "tg_relid",
    "tg_relname",
    "tg_table_name",
    "tg_table_schema",
    "tg_tag",
    "tg_when",
];

/// The names a body declares itself, added to `out`: its `DECLARE` sections, `FOR` and
/// `FOREACH` loop variables, `INTO` targets (a variable, or the body would not run) and
/// PL/pgSQL's implicit variables. (The routine's parameters come from its header:
/// [`Event::Routine`].)
pub fn declared_names(src: &[u8], toks: &[Token], out: &mut Vec<String>) {
    let kw = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_keyword(src, w));
    let name = |k: usize| {
        toks.get(k)
            .filter(|t| matches!(t.kind, TokenKind::Ident | TokenKind::QuotedIdent))
            .map(|t| String::from_utf8_lossy(&ident_value(src, t)).into_owned())
    };
    out.extend(IMPLICIT_VARIABLES.iter().map(|s| s.to_string()));
    // In a DECLARE section, at the start of a declaration.
    let mut decl = false;
    let mut decl_start = false;
    for (k, t) in toks.iter().enumerate() {
        if decl_start {
            decl_start = false;
            if kw(k, "begin") {
                decl = false;
            } else if let Some(n) = name(k) {
                out.push(n);
                continue;
            }
        }
        match t.kind {
            TokenKind::Semicolon => decl_start = decl,
            TokenKind::Ident => {
                let w = t.text(src);
                if w.eq_ignore_ascii_case(b"declare") {
                    decl = true;
                    decl_start = true;
                } else if w.eq_ignore_ascii_case(b"for") || w.eq_ignore_ascii_case(b"foreach") {
                    // `FOR a, b IN`, `FOREACH x [SLICE n] IN ARRAY`.
                    let mut j = k + 1;
                    let mut names = Vec::new();
                    while let Some(n) = name(j) {
                        names.push(n);
                        if toks.get(j + 1).map(|t| t.kind) == Some(TokenKind::Comma) {
                            j += 2;
                        } else {
                            j += 1;
                            break;
                        }
                    }
                    if !names.is_empty() && (kw(j, "in") || kw(j, "slice")) {
                        out.extend(names);
                    }
                } else if w.eq_ignore_ascii_case(b"into")
                    && !(k > 0 && (kw(k - 1, "insert") || kw(k - 1, "merge")))
                {
                    // `SELECT .. INTO [STRICT] a, b`, `RETURNING id INTO v`, `FETCH c
                    // INTO r`: the first part of each target (`r.f` is a field of `r`).
                    let mut j = k + 1;
                    if kw(j, "strict") {
                        j += 1;
                    }
                    while let Some(n) = name(j) {
                        out.push(n);
                        j += 1;
                        while toks.get(j).map(|t| t.kind) == Some(TokenKind::Dot) {
                            j += 2;
                        }
                        if toks.get(j).map(|t| t.kind) != Some(TokenKind::Comma) {
                            break;
                        }
                        j += 1;
                    }
                }
            }
            _ => {}
        }
    }
}

/// pgTAP's own functions outside its public API (the catalog): created by its install
/// scripts with a leading `_` (`_set`, `_get`, `_todo`, ...), called by pgTAP's own test
/// suite. Never a project's function when unqualified or qualified with a schema pgTAP
/// may be installed in. From `pgtap--*.sql` of pgTAP 0.91 to 1.2 (kept with a test).
pub const PGTAP_INTERNAL: &[&str] = &[
    "_add",
    "_agg",
    "_alike",
    "_ancestor_of",
    "_are",
    "_areni",
    "_array_to_sorted_string",
    "_assets_are",
    "_cast_exists",
    "_cdi",
    "_cexists",
    "_ckeys",
    "_cleanup",
    "_cmp_types",
    "_col_is_null",
    "_constraint",
    "_contract_on",
    "_currtest",
    "_db_privs",
    "_def_is",
    "_definer",
    "_dexists",
    "_do_ne",
    "_docomp",
    "_error_diag",
    "_expand_context",
    "_expand_on",
    "_expand_vol",
    "_ext_exists",
    "_extensions",
    "_extras",
    "_finish",
    "_fix_enum_has_labels",
    "_fkexists",
    "_fprivs_are",
    "_func_compare",
    "_funkargs",
    "_get",
    "_get_ac_privs",
    "_get_col_ns_type",
    "_get_col_privs",
    "_get_col_type",
    "_get_context",
    "_get_db_owner",
    "_get_db_privs",
    "_get_dtype",
    "_get_fdw_privs",
    "_get_func_owner",
    "_get_func_privs",
    "_get_index_owner",
    "_get_lang_privs",
    "_get_language_owner",
    "_get_latest",
    "_get_note",
    "_get_opclass_owner",
    "_get_rel_owner",
    "_get_schema_owner",
    "_get_schema_privs",
    "_get_sequence_privs",
    "_get_server_privs",
    "_get_table_privs",
    "_get_tablespace_owner",
    "_get_tablespaceprivs",
    "_get_type_owner",
    "_got_func",
    "_grolist",
    "_has_def",
    "_has_group",
    "_has_role",
    "_has_type",
    "_has_user",
    "_hasc",
    "_have_index",
    "_ident_array_to_sorted_string",
    "_ident_array_to_string",
    "_ikeys",
    "_inherited",
    "_is_indexed",
    "_is_instead",
    "_is_schema",
    "_is_super",
    "_is_trusted",
    "_is_verbose",
    "_keys",
    "_lang",
    "_missing",
    "_nosuch",
    "_op_exists",
    "_opc_exists",
    "_partof",
    "_parts",
    "_pg_sv_column_array",
    "_pg_sv_table_accessible",
    "_pg_sv_type_array",
    "_prokind",
    "_query",
    "_quote_ident_like",
    "_refine_vol",
    "_relcomp",
    "_relexists",
    "_relne",
    "_returns",
    "_rexists",
    "_rule_on",
    "_runem",
    "_runner",
    "_set",
    "_strict",
    "_table_privs",
    "_temptable",
    "_temptypes",
    "_time_trials",
    "_tlike",
    "_todo",
    "_trig",
    "_type_func",
    "_types_are",
    "_unalike",
    "_vol",
];
