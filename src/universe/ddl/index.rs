//! Indexes: `CREATE INDEX`, `ALTER INDEX`, and those PRIMARY KEY / UNIQUE / EXCLUDE
//! constraints ask for, named like PostgreSQL names them and repeated on partitions.

use super::clause::index_element_name;
use super::{show, PendingIndex, Reader, TableCtx, R};
use crate::object::ObjectKind;
use crate::universe::naming::{choose_relation_name, index_name_addition};
use crate::universe::split::{split_commas, Cursor};
use crate::universe::{Details, SchemaObject};

impl Reader<'_, '_> {
    /// Creates the indexes that PRIMARY KEY / UNIQUE / EXCLUDE constraints asked for, the
    /// primary key first, duplicates of it dropped (PostgreSQL's `transformIndexConstraints`).
    pub(super) fn create_pending_indexes(&mut self, t: &mut TableCtx) {
        let mut pending = std::mem::take(&mut t.pending);
        pending.sort_by_key(|p| !p.primary);
        let mut done: Vec<PendingIndex> = Vec::new();
        for p in pending {
            let dup = done.iter().any(|d| {
                d.cols == p.cols
                    && !p.exclusion
                    && !d.exclusion
                    && (p.name.is_none() || d.name.is_none() || p.name == d.name)
                    && (d.primary || !p.primary)
            });
            if dup {
                continue;
            }
            self.add_index(
                &t.key,
                p.name.clone(),
                p.cols.clone(),
                !p.exclusion,
                p.primary,
                true,
                p.exclusion,
                p.line,
            );
            done.push(p);
        }
        for plain in std::mem::take(&mut t.plain) {
            self.add_index(&t.key, None, plain.0, plain.1, false, false, false, plain.2);
        }
    }

    /// Adds an index on `table_key`, naming it like PostgreSQL when unnamed, and
    /// propagates it to the table's partitions. Returns its key.
    #[allow(clippy::too_many_arguments)]
    fn add_index(
        &mut self,
        table_key: &str,
        name: Option<String>,
        cols: Vec<String>,
        unique: bool,
        primary: bool,
        constraint: bool,
        exclusion: bool,
        line: u32,
    ) -> Option<String> {
        let table = self.u.get(table_key)?;
        let schema = table.schema.clone().unwrap_or_default();
        let tname = table.name.clone();
        let name = match name {
            Some(n) => n,
            None => {
                let u = &*self.u;
                let taken = |n: &str| u.relation_name_taken(&schema, n);
                if primary {
                    choose_relation_name(&tname, None, "pkey", taken)
                } else {
                    let add = index_name_addition(&cols);
                    let label = if exclusion {
                        "excl"
                    } else if constraint {
                        "key"
                    } else {
                        "idx"
                    };
                    choose_relation_name(&tname, Some(&add), label, taken)
                }
            }
        };
        let o = self.new_object(
            ObjectKind::Index,
            Some(schema),
            Some((table_key.to_string(), tname)),
            name,
            line,
            Details::Index {
                unique,
                primary,
                constraint,
                columns: cols.clone(),
            },
        );
        let key = o.key.clone();
        self.u.insert(o);
        // Indexes of a partitioned table are created on each partition too.
        if !self.u.any_partitions {
            return Some(key);
        }
        let parts: Vec<String> = self
            .u
            .tables()
            .filter(|o| {
                matches!(&o.details, Details::Table { partition_of: Some(p), .. } if p == table_key)
            })
            .map(|o| o.key.clone())
            .collect();
        for p in parts {
            self.add_index(
                &p,
                None,
                cols.clone(),
                unique,
                primary,
                constraint,
                exclusion,
                line,
            );
        }
        Some(key)
    }

    pub(super) fn inherit_partition_indexes(&mut self, parent: &str, child: &str) {
        let idx: Vec<SchemaObject> = self
            .u
            .children_of(parent, ObjectKind::Index)
            .filter(|o| o.parent.as_deref() == Some(parent))
            .cloned()
            .collect();
        for i in idx {
            if let Details::Index {
                unique,
                primary,
                constraint,
                columns,
            } = i.details
            {
                let line = self.u.get(child).map_or(0, |c| c.defined_at.line);
                let exclusion = constraint && !unique;
                self.add_index(
                    child, None, columns, unique, primary, constraint, exclusion, line,
                );
            }
        }
    }

    /// `ADD CONSTRAINT name UNIQUE/PRIMARY KEY USING INDEX idx`: the index is renamed.
    pub(super) fn adopt_index(
        &mut self,
        t: &TableCtx,
        idx: &str,
        name: Option<String>,
        primary: bool,
    ) -> R {
        let key = self
            .u
            .find_index(&t.schema, idx)
            .ok_or_else(|| format!("unknown index {idx}"))?;
        if let Some(o) = self.u.get_mut(&key) {
            if let Some(n) = name {
                o.name = n;
            }
            if let Details::Index {
                constraint,
                primary: p,
                ..
            } = &mut o.details
            {
                *constraint = true;
                *p |= primary;
            }
        }
        self.u.rekey(&[key]);
        Ok(())
    }

    pub(super) fn create_index(&mut self, c: &mut Cursor, unique: bool) -> R {
        c.eat("concurrently");
        let if_not_exists = c.eat_seq(&["if", "not", "exists"]);
        let name = if c.is("on") { None } else { c.ident() };
        if !c.eat("on") {
            return Err("CREATE INDEX without ON".into());
        }
        c.eat("only");
        let q = c.qname().ok_or("CREATE INDEX without a table")?;
        let table_key = self.find_rel(&q, &["table", "materialized_view", "foreign_table"])?;
        if c.eat("using") {
            c.ident();
        }
        let inner = c.parens().ok_or("CREATE INDEX without columns")?;
        let mut cols: Vec<String> = Vec::new();
        for el in split_commas(inner) {
            let base = index_element_name(self.src, el);
            // ChooseIndexColumnNames: duplicates get 1, 2, ...
            let mut n = base.clone();
            let mut k = 0;
            while cols.contains(&n) {
                k += 1;
                n = format!("{base}{k}");
            }
            cols.push(n);
        }
        if let Some(n) = &name {
            let schema = self
                .u
                .get(&table_key)
                .and_then(|o| o.schema.clone())
                .unwrap_or_default();
            if self.u.find_index(&schema, n).is_some() {
                if if_not_exists {
                    return Ok(());
                }
                let old = self.u.find_index(&schema, n).unwrap_or_default();
                self.u.remove_cascade(&old);
            }
        }
        self.add_index(
            &table_key,
            name,
            cols,
            unique,
            false,
            false,
            false,
            c.toks[0].line,
        );
        Ok(())
    }

    pub(super) fn alter_index(&mut self, c: &mut Cursor) -> R {
        if c.eat_seq(&["all", "in"]) {
            return Ok(());
        }
        let if_exists = c.eat_seq(&["if", "exists"]);
        let q = c.qname().ok_or("ALTER INDEX without a name")?;
        let Some(key) = self.find_index(&q) else {
            return if if_exists {
                Ok(())
            } else {
                Err(format!("ALTER of unknown index {}", show(&q)))
            };
        };
        if c.eat_seq(&["rename", "to"]) {
            let new = c.ident().ok_or("RENAME TO without a name")?;
            return self.rename_object(&key, new, c.toks[0].line);
        }
        Ok(())
    }
}
