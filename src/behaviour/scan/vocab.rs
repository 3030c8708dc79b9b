//! The reader's vocabulary: word lists (keywords that stop an alias, start an
//! expression, skip a statement, ...), their one lookup table, and pgTAP's functions.

use crate::catalog;

use super::super::words::{Table, Word};

/// Words that end a FROM item: never an alias.
pub(super) const ALIAS_STOP: &[&str] = &[
    "and",
    "cascade",
    "continue",
    "cross",
    "default",
    "do",
    "else",
    "end",
    "except",
    "fetch",
    "for",
    "from",
    "full",
    "group",
    "having",
    "in",
    "inner",
    "intersect",
    "into",
    "is",
    "join",
    "lateral",
    "left",
    "limit",
    "loop",
    "natural",
    "not",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "overriding",
    "restart",
    "restrict",
    "returning",
    "right",
    "select",
    "set",
    "tablesample",
    "then",
    "to",
    "union",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
];

/// Words of expressions: never a column, and `word (` is no function call.
pub(super) const EXPR_WORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "asc",
    "at",
    "between",
    "both",
    "by",
    "case",
    "cast",
    "century",
    "coalesce",
    "collate",
    "cube",
    "current",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "day",
    "decade",
    "default",
    "desc",
    "distinct",
    "dow",
    "doy",
    "else",
    "end",
    "epoch",
    "escape",
    "exists",
    "extract",
    "false",
    "filter",
    "first",
    "following",
    "greatest",
    "grouping",
    "hour",
    "ilike",
    "in",
    "interval",
    "is",
    "isnull",
    "isodow",
    "isoyear",
    "julian",
    "last",
    "leading",
    "least",
    "like",
    "localtime",
    "localtimestamp",
    "matched",
    "microseconds",
    "millennium",
    "milliseconds",
    "minute",
    "month",
    "new",
    "next",
    "not",
    "notnull",
    "null",
    "nullif",
    "nulls",
    "of",
    "old",
    "or",
    "over",
    "overlay",
    "partition",
    "position",
    "preceding",
    "quarter",
    "query",
    "range",
    "return",
    "rollup",
    "row",
    "rows",
    "second",
    "session_user",
    "sets",
    "similar",
    "some",
    "strict",
    "substring",
    "symmetric",
    "then",
    "ties",
    "time",
    "timezone_hour",
    "timezone_minute",
    "trailing",
    "treat",
    "trim",
    "true",
    "unbounded",
    "unknown",
    "user",
    "week",
    "when",
    "within",
    "xmlelement",
    "xmlforest",
    "year",
    "zone",
];

/// Statement heads read no further (definitions are not exercised when written).
pub(super) const SKIP_HEADS: &[&str] = &[
    "alter",
    "analyze",
    "assert",
    "checkpoint",
    "cluster",
    "comment",
    "create",
    "deallocate",
    "discard",
    "do",
    "drop",
    "grant",
    "listen",
    "load",
    "lock",
    "notify",
    "raise",
    "reindex",
    "release",
    "revoke",
    "savepoint",
    "security",
    "show",
    "unlisten",
    "vacuum",
];

/// The words `keyword` has an arm for: any other word goes straight to the name path.
pub(super) const KEYWORD_ARMS: &[&str] = &[
    "as",
    "begin",
    "call",
    "conflict",
    "constraint",
    "copy",
    "cross",
    "declare",
    "delete",
    "do",
    "elsif",
    "except",
    "exception",
    "execute",
    "fetch",
    "for",
    "from",
    "full",
    "group",
    "having",
    "if",
    "inner",
    "insert",
    "intersect",
    "into",
    "join",
    "lateral",
    "left",
    "limit",
    "loop",
    "matched",
    "merge",
    "natural",
    "nothing",
    "offset",
    "on",
    "only",
    "order",
    "others",
    "outer",
    "perform",
    "returning",
    "right",
    "select",
    "set",
    "table",
    "truncate",
    "union",
    "update",
    "using",
    "values",
    "where",
    "window",
    "with",
];

pub(super) const EXPR: u32 = 1;
pub(super) const STOP: u32 = 2;
pub(super) const SKIP: u32 = 4;
pub(super) const ARM: u32 = 8;
/// [`VALUE_WORDS`].
pub(super) const VALUE: u32 = 16;
/// [`SPECIAL_BUILTINS`].
pub(super) const SPECIAL: u32 = 32;
/// A built-in function ([`is_builtin_function`]).
pub(super) const BUILTIN_FUNCTION: u32 = 64;
/// A built-in type ([`is_builtin_type`]).
pub(super) const BUILTIN_TYPE: u32 = 128;
/// A pgTAP function running no SQL text (`has_table`; not `results_eq`).
pub(super) const PGTAP_PLAIN: u32 = 256;
/// Words of expressions only as calls (`position(a in b)`, `trim(both from x)`): a column
/// named so (`select position from queue`) is a column.
pub(super) const CALL_ONLY: u32 = 512;
/// [`SPLIT_WORDS`].
pub(super) const SPLIT: u32 = 1024;
/// A pgTAP function running SQL text (`results_eq`): with [`PGTAP_PLAIN`], every name
/// [`pgtap_function`] finds.
pub(super) const PGTAP_SQL: u32 = 2048;

/// Words the statement splitter looks at: `BEGIN`, `THEN`, `ELSE` and `LOOP` may open a
/// PL/pgSQL statement; `CASE`, `END` and `MERGE` tell when they do not.
pub(super) const SPLIT_WORDS: &[&str] = &["begin", "case", "else", "end", "loop", "merge", "then"];

/// PostgreSQL's column-name keywords with a call syntax of their own, which a table may
/// also use as a column name.
pub(super) const CALL_ONLY_WORDS: &[&str] = &[
    "extract",
    "normalize",
    "overlay",
    "position",
    "substring",
    "treat",
    "trim",
];

/// Every word of the lists here, pgTAP's functions and PostgreSQL's built-in functions
/// and types, with their flags: one probe per identifier.
pub(super) fn words() -> &'static Table {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let lists = [
            (EXPR_WORDS, EXPR),
            (ALIAS_STOP, STOP),
            (SKIP_HEADS, SKIP),
            (KEYWORD_ARMS, ARM),
            (VALUE_WORDS, VALUE),
            (SPECIAL_BUILTINS, SPECIAL),
            (CALL_ONLY_WORDS, CALL_ONLY),
            (SPLIT_WORDS, SPLIT),
            (super::super::builtins::functions(), BUILTIN_FUNCTION),
            (super::super::builtins::types(), BUILTIN_TYPE),
        ];
        // As `pgtap_function` finds them (one function a name).
        let pgtap = catalog::FUNCTIONS.iter().filter_map(|f| {
            let found = pgtap_function(f.name)?;
            Some((
                f.name,
                if runs_sql(found) {
                    PGTAP_SQL
                } else {
                    PGTAP_PLAIN
                },
            ))
        });
        Table::new(
            lists
                .into_iter()
                .flat_map(|(list, flag)| list.iter().map(move |w| (*w, flag)))
                .chain(pgtap),
        )
    })
}

pub(super) fn word_flags(w: &Word) -> u32 {
    words().get(w)
}

/// Words that stand for a value in an expression and name nothing of the project's.
pub(super) const VALUE_WORDS: &[&str] = &[
    "array",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "false",
    "localtime",
    "localtimestamp",
    "null",
    "session_user",
    "true",
];

/// Built-in functions the reader takes something from (a sequence, a role switch): a
/// statement calling them is read in full.
pub(super) const SPECIAL_BUILTINS: &[&str] = &["currval", "nextval", "set_config", "setval"];

/// A pgTAP function with an argument that is SQL text it runs (`results_eq`,
/// `throws_ok`, ...). `check_test` embeds an assertion's output, not SQL text.
pub(super) fn runs_sql(f: &catalog::Function) -> bool {
    f.embeds_sql && f.name != "check_test"
}

/// pgTAP's functions by name, hashed (the catalog's binary search costs more per call).
pub(super) fn pgtap_function(name: &str) -> Option<&'static catalog::Function> {
    use std::sync::OnceLock;
    static MAP: OnceLock<ahash::AHashMap<&'static str, &'static catalog::Function>> =
        OnceLock::new();
    MAP.get_or_init(|| catalog::FUNCTIONS.iter().map(|f| (f.name, f)).collect())
        .get(name)
        .copied()
}
