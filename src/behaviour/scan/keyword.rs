//! Keywords: what each clause word does to the frame stack, and closing a frame (its
//! columns resolved against its relations).

use crate::lexer::TokenKind;
use crate::model::{Command, RefKind};

use super::*;

impl<'a> Scanner<'a> {
    /// Keywords: `Some(next index)` when `w` was one (and is consumed).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn keyword(
        &self,
        w: &Word,
        flags: u32,
        i: usize,
        from: usize,
        to: usize,
        stack: &mut [Frame],
        pending: &mut Option<Kind>,
        ctes: &mut Vec<usize>,
        ev: &mut Vec<Event>,
    ) -> Option<usize> {
        let flags = if flags & CALL_ONLY != 0 && self.kind(i + 1) != Some(TokenKind::LParen) {
            flags & !EXPR
        } else {
            flags
        };
        if flags & (EXPR | STOP | SKIP | ARM) == 0 {
            if let Some(f) = stack.last_mut() {
                if f.expect == Expect::Alias && f.cmd.is_none() {
                    f.expect = Expect::None;
                }
            }
            return None;
        }
        // The word before, looked up only by the arms that ask.
        let prev = || (i > from).then(|| self.lower(i - 1)).flatten();
        let prev_is = |p: &[u8]| prev().as_deref() == Some(p);
        let prev_kind = (i > from).then(|| self.toks[i - 1].kind);
        let next_paren = self.kind(i + 1) == Some(TokenKind::LParen) && i + 1 < to;
        let f = stack.last_mut()?;
        if f.expect == Expect::Alias && flags & STOP != 0 {
            f.expect = Expect::None;
        }
        let in_query = f.cmd.is_some();
        match &**w {
            b"select" | b"perform" => {
                if !matches!(f.cmd, Some(Command::Insert | Command::Merge)) {
                    f.cmd = Some(Command::Select);
                }
                f.clause = Clause::SelectList;
                f.expect = Expect::None;
                f.in_with = false;
            }
            b"union" | b"except" | b"intersect" => {
                let cols = std::mem::take(&mut f.cols);
                let rels = std::mem::take(&mut f.rels);
                let flushed = Frame {
                    cols,
                    rels,
                    cmd: f.cmd,
                    ..Frame::default()
                };
                f.clause = Clause::None;
                f.target = None;
                // Resolve the branch on its own relations.
                let (_, outer) = stack.split_at(stack.len() - 1);
                self.close(flushed, outer, ev);
            }
            b"from" => {
                // `a IS [NOT] DISTINCT FROM b` is no FROM clause.
                if !in_query || prev_is(b"distinct") {
                    return Some(i + 1);
                }
                match f.cmd {
                    Some(Command::Delete) if f.rels.is_empty() => {
                        f.expect = Expect::Rel(Command::Delete);
                    }
                    Some(Command::Copy) => f.clause = Clause::Other,
                    _ => {
                        f.clause = Clause::From;
                        f.expect = Expect::Rel(Command::Select);
                    }
                }
            }
            b"join" => {
                if in_query {
                    f.clause = Clause::From;
                    f.expect = Expect::Rel(Command::Select);
                }
            }
            b"lateral" | b"only" => {}
            b"natural" | b"left" | b"right" | b"full" | b"inner" | b"outer" | b"cross" => {}
            b"where" => {
                if in_query {
                    f.clause = Clause::Where;
                    f.expect = Expect::None;
                }
            }
            b"on" => {
                if in_query {
                    // `JOIN .. ON cond`, `MERGE .. USING s ON cond`: read like WHERE
                    // (not `ON CONFLICT`, `DISTINCT ON (..)`).
                    f.clause = if f.clause == Clause::From && !self.is_kw(i + 1, "conflict") {
                        Clause::Where
                    } else {
                        Clause::Other
                    };
                    f.expect = Expect::None;
                }
            }
            b"using" => {
                if matches!(f.cmd, Some(Command::Delete | Command::Merge)) && !next_paren {
                    f.clause = Clause::From;
                    f.expect = Expect::Rel(Command::Select);
                } else {
                    if next_paren {
                        // `JOIN u USING (a, b)`: columns; anything else (`USING (expr)`
                        // of other statements) is not read.
                        *pending = Some(if f.clause == Clause::From && in_query {
                            Kind::UsingCols
                        } else {
                            Kind::Ignore
                        });
                    }
                    f.clause = Clause::Other;
                }
            }
            b"having" => {
                if in_query {
                    f.clause = Clause::Where;
                    f.expect = Expect::None;
                }
            }
            b"group" if prev_is(b"within") => {
                // `WITHIN GROUP (ORDER BY ..)`: the parentheses hold an ordering.
            }
            b"order" if !in_query => {
                if matches!(f.kind, Kind::Call | Kind::Paren) {
                    f.order_by = true;
                }
            }
            b"group" | b"order" | b"window" | b"limit" | b"offset" | b"fetch" => {
                if in_query {
                    f.clause = Clause::Other;
                    f.expect = Expect::None;
                }
            }
            b"for" => {
                if in_query {
                    f.clause = Clause::Other;
                    f.expect = Expect::None;
                }
            }
            b"returning" => {
                if in_query {
                    f.clause = Clause::Returning;
                    f.expect = Expect::None;
                }
            }
            b"into" => match f.cmd {
                Some(Command::Insert) if f.rels.is_empty() => {
                    f.expect = Expect::Rel(Command::Insert);
                }
                Some(Command::Merge) if f.rels.is_empty() => {
                    f.expect = Expect::Rel(Command::Merge);
                }
                Some(_) => {
                    // SELECT .. INTO variables (PL/pgSQL): not columns.
                    f.clause = Clause::Other;
                    f.expect = Expect::None;
                }
                None => {}
            },
            b"insert" => {
                if prev_is(b"then") {
                    f.merge_insert = true;
                    f.clause = Clause::Other;
                    if next_paren {
                        *pending = Some(Kind::InsertCols);
                    }
                } else {
                    f.cmd = Some(Command::Insert);
                    f.clause = Clause::None;
                    f.in_with = false;
                }
            }
            b"update" => match prev().as_deref() {
                Some(b"for" | b"key" | b"no" | b"share") => {}
                Some(b"do" | b"then") => {
                    f.clause = Clause::Set;
                }
                _ => {
                    if prev_is(b"before") || prev_is(b"after") {
                        return Some(i + 1);
                    }
                    f.cmd = Some(Command::Update);
                    f.clause = Clause::None;
                    f.expect = Expect::Rel(Command::Update);
                    f.in_with = false;
                }
            },
            b"delete" => {
                if !prev_is(b"then") {
                    f.cmd = Some(Command::Delete);
                    f.clause = Clause::None;
                    f.in_with = false;
                }
            }
            b"merge" => {
                f.cmd = Some(Command::Merge);
                f.clause = Clause::None;
                f.in_with = false;
            }
            b"set" => {
                if matches!(
                    f.cmd,
                    Some(Command::Update | Command::Insert | Command::Merge)
                ) {
                    f.clause = Clause::Set;
                    f.set_lhs = true;
                    f.expect = Expect::None;
                }
            }
            b"values" => {
                if f.cmd.is_none() {
                    f.cmd = Some(Command::Select);
                }
                f.clause = Clause::Other;
                f.expect = Expect::None;
            }
            b"table" => {
                let starts = i == from
                    || prev_kind == Some(TokenKind::LParen)
                    || matches!(
                        prev().as_deref(),
                        Some(b"union" | b"except" | b"intersect" | b"all" | b"distinct")
                    );
                if starts {
                    f.cmd = Some(Command::Select);
                    f.clause = Clause::From;
                    f.expect = Expect::Rel(Command::Select);
                }
            }
            b"truncate" => {
                f.cmd = Some(Command::Truncate);
                f.clause = Clause::Other;
                f.expect = Expect::Rel(Command::Truncate);
            }
            b"copy" => {
                if !next_paren {
                    f.cmd = Some(Command::Copy);
                    f.clause = Clause::Other;
                    f.expect = Expect::Rel(Command::Copy);
                }
            }
            b"with" => {
                let cte = self.is_kw(i + 1, "recursive")
                    || (self.is_name(i + 1)
                        && !self.is_kw(i + 1, "ordinality")
                        && !self.is_kw(i + 1, "time")
                        && !self.is_kw(i + 1, "check")
                        && !self.is_kw(i + 1, "local")
                        && !self.is_kw(i + 1, "cascaded")
                        && !self.is_kw(i + 1, "no")
                        && !self.is_kw(i + 1, "hold"));
                if cte {
                    if let Some(open) = self.cte_header(i + 1, to, ctes) {
                        f.in_with = true;
                        f.clause = Clause::None;
                        *pending = Some(Kind::Paren);
                        return Some(open);
                    }
                }
            }
            b"as" => {
                if f.expect == Expect::Alias {
                    return Some(i + 1);
                }
                if f.kind == Kind::Call || (f.kind == Kind::Paren && !in_query) {
                    // CAST(x AS type)
                    return Some(self.type_name(i + 1, to, ev, pending));
                }
                // A select-list alias: skip it.
                if self.is_name(i + 1) {
                    return Some(i + 2);
                }
            }
            b"execute" => {
                if i == from && !self.body && self.is_name(i + 1) {
                    ev.push(Event::PreparedUse(self.name_at(i + 1), i + 1));
                    return Some(i + 2);
                }
            }
            b"call" | b"do" | b"conflict" | b"constraint" | b"matched" | b"nothing" | b"begin"
            | b"declare" | b"loop" | b"if" | b"elsif" | b"exception" | b"others" => {
                if &**w == b"constraint" && self.is_name(i + 1) {
                    return Some(i + 2);
                }
                if &**w == b"conflict" && next_paren {
                    *pending = Some(Kind::Ignore);
                }
            }
            _ if flags & EXPR != 0 => {
                if next_paren {
                    *pending = Some(Kind::Paren);
                }
            }
            _ => {
                if f.expect == Expect::Alias && !in_query {
                    f.expect = Expect::None;
                }
                return None;
            }
        }
        Some(i + 1)
    }

    /// A frame ends: its columns resolve against its relations (or an enclosing frame's
    /// for a qualifier).
    pub(super) fn close(&self, f: Frame, outer: &[Frame], ev: &mut Vec<Event>) {
        for c in f.cols {
            let rel = match c.qual {
                Some(q) => f
                    .rels
                    .iter()
                    .chain(outer.iter().rev().flat_map(|o| o.rels.iter()))
                    .find(|r| match (r.alias, r.name) {
                        (Some(a), _) => self.same_name(a, q),
                        (None, Some(n)) => self.same_name(n, q),
                        (None, None) => self.name_cow(q).is_empty(),
                    })
                    .map(|r| r.written),
                None => match f.rels.as_slice() {
                    [one] => Some(one.written),
                    [] => None,
                    many if many.iter().all(|r| r.written.is_some()) && !self.body => Some(None),
                    _ => None,
                },
            };
            // `Some(None)`: a column of one of several relations; `Some(Some(r))`: of r.
            let Some(relation) = rel else { continue };
            if c.qual.is_some() && relation.is_none() {
                continue; // of a CTE or a sub-query
            }
            if c.qual.is_none() && f.rels.len() == 1 && relation.is_none() {
                continue;
            }
            let relation = relation.map(|r| self.kept(|| self.written(r)));
            ev.push(Event::Ref(
                RawRef {
                    kind: RefKind::Column,
                    schema: None,
                    name: self.kept(|| self.name_at(c.name)),
                    relation,
                    command: Some(c.command),
                    arity: None,
                },
                c.at,
            ));
        }
    }
}
