//! Clause readers that several statement families share: where a column's type ends,
//! whether a table element starts a constraint (CREATE and ALTER TABLE), an index
//! element's default name (CREATE INDEX, EXCLUDE) and an identity column's `SEQUENCE
//! NAME`. Free functions over a [`Cursor`] or tokens: no `Reader` state.

use crate::lexer::{Token, TokenKind};
use crate::universe::naming::figure_colname;
use crate::universe::split::{lossy, matching, Cursor, QName};

/// Whether a table element / ADD starts a table constraint.
pub(super) fn is_constraint_start(c: &Cursor) -> bool {
    [
        "constraint",
        "primary",
        "unique",
        "check",
        "foreign",
        "exclude",
    ]
    .iter()
    .any(|k| c.is(k))
}

/// Keywords that end a column's type (or a DEFAULT expression).
pub(super) fn is_column_constraint_kw(c: &Cursor) -> bool {
    const KW: &[&str] = &[
        "constraint",
        "null",
        "default",
        "primary",
        "unique",
        "references",
        "check",
        "generated",
        "collate",
        "compression",
        "storage",
        "deferrable",
        "initially",
    ];
    if c.is("not") {
        return c.is_at(1, "null") || c.is_at(1, "deferrable");
    }
    // `WITH OPTIONS` of typed tables and partitions (a type never contains WITH but
    // `timestamp with time zone` does: only `with options` counts).
    if c.is("with") {
        return c.is_at(1, "options");
    }
    KW.iter().any(|k| c.is(k))
}

/// The column name an index element contributes to the index's default name.
pub(super) fn index_element_name(src: &[u8], el: &[Token]) -> String {
    let Some(first) = el.first() else {
        return "expr".into();
    };
    if first.kind == TokenKind::LParen {
        let close = matching(el, 0).unwrap_or(el.len());
        let inner = el.get(1..close).unwrap_or_default();
        return figure_colname(src, inner).unwrap_or_else(|| "expr".into());
    }
    // A function call: `lower(name)`, `schema.f(x)`.
    let mut j = 0;
    while j + 2 < el.len()
        && matches!(el[j].kind, TokenKind::Ident | TokenKind::QuotedIdent)
        && el[j + 1].kind == TokenKind::Dot
    {
        j += 2;
    }
    if el.get(j + 1).is_some_and(|t| t.kind == TokenKind::LParen) {
        if let Some(close) = matching(el, j + 1) {
            return figure_colname(src, &el[..=close]).unwrap_or_else(|| "expr".into());
        }
    }
    lossy(&crate::lexer::ident_value(src, first))
}

/// `SEQUENCE NAME x` inside identity options.
pub(super) fn sequence_name_option(src: &[u8], opts: &[Token]) -> Option<QName> {
    let mut c = Cursor::new(src, opts);
    while !c.at_end() {
        if c.eat_seq(&["sequence", "name"]) {
            return c.qname();
        }
        c.skip_one();
    }
    None
}
