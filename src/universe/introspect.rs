//! The universe read from a live database's `pg_catalog` instead of migration files.
//!
//! Owns: the catalog queries, and turning their rows into the same [`SchemaObject`]s,
//! keys and [`Details`] the migration reader builds. Connecting (the connection string
//! and its `PG*` completion, TLS, what password may be sent where) is
//! `connect.rs`'s.
//!
//! Keys are built with [`crate::object`] from the catalog's own spellings: argument and
//! column types come from `format_type` (function keys from `pg_proc.proargtypes`, the
//! identity arguments without names or modes), printed under the session `search_path`
//! given in [`DatabaseOptions::search_path`] (`public` by default), which is how the
//! migration reader writes them too: `citext` for a type in `public`, `app.mood` for one
//! outside the path.
//!
//! What is left out, as the migration reader leaves it out:
//! - system schemas (`pg_catalog`, `information_schema`, `pg_toast`, `pg_temp_*`, every
//!   `pg_*` name) and everything in them;
//! - objects that belong to an extension (`pg_depend.deptype = 'e'`), and the columns,
//!   indexes, triggers and policies of an extension's tables;
//! - internal triggers (foreign-key enforcement), array types, multirange types, the row
//!   types of tables and views (only stand-alone composite types are types);
//! - roles whose names start with `pg_` (predefined roles) and the bootstrap superuser
//!   (oid 10, usually `postgres`): neither is created by a project. Roles are cluster-wide,
//!   so every other role of the cluster is listed, whichever database created it.
//!
//! Kept although no migration creates them: `schema:public` and `extension:plpgsql`
//! (present in every database), and extensions a test harness installed (`pgtap`).
//!
//! `defined_at` of every object is the database, not a file: `file` is the connection
//! target as a URL without the password (`postgres://user@host:port/dbname`), `line` 0.
//!
//! Time: connecting gives up after [`DatabaseOptions::connect_timeout`] per host (10 s
//! unless the URL or `PGCONNECT_TIMEOUT` says otherwise), a bound that covers TLS and
//! the start-up exchange too; every query after that gives up after
//! [`DatabaseOptions::query_timeout`] (60 s), on the client, so a server that completes
//! start-up and then stalls cannot hang the run. The same bound is set as the session's
//! `statement_timeout`. Needs PostgreSQL 12 or newer (`prokind`, `attgenerated`).

use std::collections::HashMap;
use std::time::Duration;

use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;

use super::connect::{self, pg_message, IntrospectError, Session, UrlSource};
use super::{Details, Location, SchemaObject, Universe};
use crate::object::{self, ObjectKind};

/// Where and what to introspect.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// A `postgres://` URL or a libpq `key=value` string; `None` (or empty) means the
    /// `PG*` environment variables alone. Unset parts are taken from them either way.
    pub url: Option<String>,
    /// Schemas to read; empty means every non-system schema.
    pub schemas: Vec<String>,
    /// The session `search_path` under which `format_type` prints type names (keys
    /// must be spelled as the migration reader and the scanner spell them).
    pub search_path: Vec<String>,
    /// Used when neither the URL nor `PGCONNECT_TIMEOUT` sets one.
    pub connect_timeout: Duration,
    /// How long any one query may take, measured on the client (and set as the
    /// session's `statement_timeout`).
    pub query_timeout: Duration,
    /// Who gave [`DatabaseOptions::url`]: a password from `PGPASSWORD` is not sent to a
    /// host only a config file named unless [`DatabaseOptions::trust_config_url`].
    pub url_source: UrlSource,
    /// The user opted in (from outside the repository) to sending `PGPASSWORD` to the
    /// host a config file names.
    pub trust_config_url: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            url: None,
            schemas: Vec::new(),
            search_path: vec!["public".to_string()],
            connect_timeout: Duration::from_secs(10),
            query_timeout: Duration::from_secs(60),
            url_source: UrlSource::Flag,
            trust_config_url: false,
        }
    }
}

/// Connects with [`DatabaseOptions`] and reads every object into a [`Universe`].
pub fn load_database(opts: &DatabaseOptions) -> Result<Universe, IntrospectError> {
    let target = connect::target(
        opts.url.as_deref(),
        opts.url_source.clone(),
        opts.trust_config_url,
        opts.connect_timeout,
        |k| std::env::var(k).ok(),
    )?;
    let per_host = target
        .config
        .get_connect_timeout()
        .copied()
        .unwrap_or(opts.connect_timeout);
    let session = connect::connect(&target, per_host)?;
    let mut reader = Reader {
        session: &session,
        target: &target.display,
        schemas: opts.schemas.clone(),
        timeout: opts.query_timeout.max(Duration::from_millis(1)),
        u: Universe::new(),
    };
    reader.prepare_session(&opts.search_path)?;
    reader.read_all()?;
    Ok(reader.u)
}

/// Rows of one table kind, with what the key needs.
struct Relation {
    schema: String,
    name: String,
    key: String,
}

struct Reader<'a> {
    session: &'a Session,
    target: &'a str,
    timeout: Duration,
    schemas: Vec<String>,
    u: Universe,
}

/// `relkind` to our kinds.
fn relation_kind(relkind: &str) -> Option<ObjectKind> {
    Some(match relkind {
        "r" | "p" => ObjectKind::Table,
        "f" => ObjectKind::ForeignTable,
        "v" => ObjectKind::View,
        "m" => ObjectKind::MaterializedView,
        "S" => ObjectKind::Sequence,
        "i" | "I" => ObjectKind::Index,
        _ => return None,
    })
}

/// The namespace filter every query shares: no system schema, and only `$1` when given.
const NS_FILTER: &str = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' \
     AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1::text[]))";

/// Not a member of an extension (`$CLASS` and `$OID` replaced).
fn not_extension_member(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = \
         'pg_catalog.{class}'::regclass AND x.objid = {oid} AND x.deptype = 'e')"
    )
}

impl Reader<'_> {
    fn query(&mut self, what: &'static str, sql: &str) -> Result<Vec<Row>, IntrospectError> {
        let schemas = self.schemas.clone();
        self.run(what, sql, &[&schemas])
    }

    /// One query under the client-side timeout.
    fn run(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, IntrospectError> {
        let client = &self.session.client;
        match self.session.run(self.timeout, client.query(sql, params)) {
            Some(Ok(rows)) => Ok(rows),
            Some(Err(e)) => Err(IntrospectError::Query {
                target: self.target.to_string(),
                what,
                message: pg_message(&e),
            }),
            None => Err(IntrospectError::QueryTimeout {
                target: self.target.to_string(),
                what,
                // Whole seconds, rounded up.
                seconds: self.timeout.as_secs() + u64::from(self.timeout.subsec_nanos() > 0),
            }),
        }
    }

    fn get<'r, T: FromSql<'r>>(
        &self,
        row: &'r Row,
        idx: usize,
        what: &'static str,
    ) -> Result<T, IntrospectError> {
        row.try_get(idx).map_err(|e| IntrospectError::Query {
            target: self.target.to_string(),
            what,
            message: pg_message(&e),
        })
    }

    fn prepare_session(&mut self, search_path: &[String]) -> Result<(), IntrospectError> {
        let path: Vec<String> = if search_path.is_empty() {
            vec!["public".to_string()]
        } else {
            search_path.to_vec()
        };
        const W: &str = "session settings";
        let ms = i64::try_from(self.timeout.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
            .to_string();
        self.run(
            W,
            "SELECT pg_catalog.set_config('statement_timeout', $1, false), \
                    pg_catalog.set_config('lock_timeout', '10s', false)",
            &[&ms],
        )?;
        self.run(
            W,
            "SELECT pg_catalog.set_config('search_path', \
             pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.quote_ident(p) \
             FROM pg_catalog.unnest($1::text[]) AS p), ','), false)",
            &[&path],
        )?;
        Ok(())
    }

    fn loc(&self) -> Location {
        Location {
            file: self.target.to_string(),
            line: 0,
        }
    }

    fn add(
        &mut self,
        kind: ObjectKind,
        schema: Option<String>,
        table: Option<(String, String)>,
        name: String,
        details: Details,
    ) -> String {
        let (parent, table) = match table {
            Some((pkey, tname)) => (Some(pkey), Some(tname)),
            None => (None, None),
        };
        let mut o = SchemaObject {
            key: String::new(),
            kind,
            schema,
            table,
            name,
            parent,
            defined_at: self.loc(),
            details,
        };
        o.key = o.compute_key();
        let key = o.key.clone();
        self.u.insert(o);
        key
    }

    fn read_all(&mut self) -> Result<(), IntrospectError> {
        self.schemas_()?;
        let rels = self.relations()?;
        self.columns(&rels)?;
        self.indexes(&rels)?;
        self.sequences(&rels)?;
        self.functions()?;
        self.triggers(&rels)?;
        self.policies(&rels)?;
        self.types()?;
        self.extensions()?;
        self.roles()?;
        Ok(())
    }

    fn schemas_(&mut self) -> Result<(), IntrospectError> {
        let sql = format!(
            "SELECT n.nspname::text FROM pg_catalog.pg_namespace n WHERE {NS_FILTER} AND {}",
            not_extension_member("pg_namespace", "n.oid")
        );
        for row in self.query("schemas", &sql)? {
            let name: String = self.get(&row, 0, "schemas")?;
            self.add(ObjectKind::Schema, None, None, name, Details::None);
        }
        Ok(())
    }

    /// Tables, views, materialized views, foreign tables, sequences (not indexes), by oid.
    fn relations(&mut self) -> Result<HashMap<u32, Relation>, IntrospectError> {
        let sql = format!(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, \
                    c.relrowsecurity, c.relforcerowsecurity, c.relispartition, \
                    pg_catalog.pg_get_userbyid(c.relowner)::text \
               FROM pg_catalog.pg_class c \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND {NS_FILTER} AND {}",
            not_extension_member("pg_class", "c.oid")
        );
        let rows = self.query("relations", &sql)?;
        let mut rels = HashMap::new();
        const W: &str = "relations";
        for row in &rows {
            let oid: u32 = self.get(row, 0, W)?;
            let schema: String = self.get(row, 1, W)?;
            let name: String = self.get(row, 2, W)?;
            let relkind: String = self.get(row, 3, W)?;
            let rls: bool = self.get(row, 4, W)?;
            let forced: bool = self.get(row, 5, W)?;
            let is_partition: bool = self.get(row, 6, W)?;
            let owner: Option<String> = self.get(row, 7, W)?;
            let Some(kind) = relation_kind(&relkind) else {
                continue;
            };
            let details = match kind {
                ObjectKind::Table | ObjectKind::ForeignTable => Details::Table {
                    rls_enabled: rls,
                    rls_forced: forced,
                    partition_of: None,
                    inherits: Vec::new(),
                    owner,
                },
                ObjectKind::View | ObjectKind::MaterializedView => Details::View {
                    columns_known: true,
                    owner,
                },
                // Ownership is filled in by `sequences`.
                _ => Details::Sequence { owned_by: None },
            };
            let key = self.add(kind, Some(schema.clone()), None, name.clone(), details);
            if is_partition {
                self.u.any_partitions = true;
            }
            rels.insert(oid, Relation { schema, name, key });
        }
        // Partition parents and inheritance, in inhseqno order.
        let sql = "SELECT i.inhrelid, i.inhparent, c.relispartition \
                     FROM pg_catalog.pg_inherits i \
                     JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid \
                    WHERE c.relkind IN ('r', 'p', 'f') AND cardinality($1::text[]) >= 0 \
                    ORDER BY i.inhrelid, i.inhseqno";
        for row in self.query("inheritance", sql)? {
            const W: &str = "inheritance";
            let child: u32 = self.get(&row, 0, W)?;
            let parent: u32 = self.get(&row, 1, W)?;
            let is_partition: bool = self.get(&row, 2, W)?;
            let (Some(c), Some(p)) = (rels.get(&child), rels.get(&parent)) else {
                continue;
            };
            let pkey = p.key.clone();
            if let Some(Details::Table {
                partition_of,
                inherits,
                ..
            }) = self.u.get_mut(&c.key).map(|o| &mut o.details)
            {
                if is_partition {
                    *partition_of = Some(pkey);
                } else {
                    inherits.push(pkey);
                }
            }
        }
        Ok(rels)
    }

    fn columns(&mut self, rels: &HashMap<u32, Relation>) -> Result<(), IntrospectError> {
        // `$1` is only there so every query takes the same parameter.
        let sql = "SELECT a.attrelid, a.attname::text, a.attnum::int4, \
                          pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                          pg_catalog.pg_get_expr(d.adbin, d.adrelid), \
                          a.attgenerated::text, a.attidentity::text, c.relkind::text \
                     FROM pg_catalog.pg_attribute a \
                     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
                     LEFT JOIN pg_catalog.pg_attrdef d \
                            ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                    WHERE a.attnum > 0 AND NOT a.attisdropped \
                      AND c.relkind IN ('r', 'p', 'f', 'v', 'm') \
                      AND cardinality($1::text[]) >= 0 \
                    ORDER BY a.attrelid, a.attnum";
        const W: &str = "columns";
        for row in self.query(W, sql)? {
            let rel: u32 = self.get(&row, 0, W)?;
            let Some(r) = rels.get(&rel) else { continue };
            let name: String = self.get(&row, 1, W)?;
            let position: i32 = self.get(&row, 2, W)?;
            let data_type: Option<String> = self.get(&row, 3, W)?;
            let not_null: bool = self.get(&row, 4, W)?;
            let expr: Option<String> = self.get(&row, 5, W)?;
            let generated: String = self.get(&row, 6, W)?;
            let identity: String = self.get(&row, 7, W)?;
            let generated = !generated.is_empty();
            let details = Details::Column {
                position: u32::try_from(position).unwrap_or(0),
                data_type: data_type.map(|t| object::normalize_type(&t)),
                not_null,
                default: if generated { None } else { expr },
                generated,
                identity: !identity.is_empty(),
            };
            let table = Some((r.key.clone(), r.name.clone()));
            self.add(
                ObjectKind::Column,
                Some(r.schema.clone()),
                table,
                name,
                details,
            );
        }
        Ok(())
    }

    fn indexes(&mut self, rels: &HashMap<u32, Relation>) -> Result<(), IntrospectError> {
        let sql = "SELECT i.indrelid, ic.relname::text, i.indisunique, i.indisprimary, \
                          EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co \
                                   WHERE co.conindid = ic.oid AND co.conrelid = i.indrelid \
                                     AND co.contype IN ('p', 'u', 'x')), \
                          ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                                 WHERE a.attrelid = ic.oid AND a.attnum > 0 \
                                 ORDER BY a.attnum) \
                     FROM pg_catalog.pg_index i \
                     JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
                    WHERE cardinality($1::text[]) >= 0 \
                    ORDER BY i.indrelid, ic.relname";
        const W: &str = "indexes";
        for row in self.query(W, sql)? {
            let rel: u32 = self.get(&row, 0, W)?;
            let Some(r) = rels.get(&rel) else { continue };
            let name: String = self.get(&row, 1, W)?;
            let details = Details::Index {
                unique: self.get(&row, 2, W)?,
                primary: self.get(&row, 3, W)?,
                constraint: self.get(&row, 4, W)?,
                columns: self.get(&row, 5, W)?,
            };
            let table = Some((r.key.clone(), r.name.clone()));
            self.add(
                ObjectKind::Index,
                Some(r.schema.clone()),
                table,
                name,
                details,
            );
        }
        Ok(())
    }

    /// `OWNED BY` of sequences (serial and identity columns, `ALTER SEQUENCE .. OWNED BY`).
    fn sequences(&mut self, rels: &HashMap<u32, Relation>) -> Result<(), IntrospectError> {
        let sql = "SELECT d.objid, d.refobjid, a.attname::text \
                     FROM pg_catalog.pg_depend d \
                     JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' \
                     JOIN pg_catalog.pg_attribute a \
                          ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass \
                      AND d.refclassid = 'pg_catalog.pg_class'::regclass \
                      AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0 \
                      AND cardinality($1::text[]) >= 0";
        const W: &str = "sequence ownership";
        for row in self.query(W, sql)? {
            let seq: u32 = self.get(&row, 0, W)?;
            let table: u32 = self.get(&row, 1, W)?;
            let column: String = self.get(&row, 2, W)?;
            let (Some(s), Some(t)) = (rels.get(&seq), rels.get(&table)) else {
                continue;
            };
            let col_key = ObjectKind::Column.key(&[&t.schema, &t.name, &column]);
            if let Some(Details::Sequence { owned_by }) =
                self.u.get_mut(&s.key).map(|o| &mut o.details)
            {
                *owned_by = Some(col_key);
            }
        }
        Ok(())
    }

    fn functions(&mut self) -> Result<(), IntrospectError> {
        let sql = format!(
            "SELECT n.nspname::text, p.proname::text, p.prokind::text, \
                    ARRAY(SELECT pg_catalog.format_type(t.oid, NULL) \
                            FROM pg_catalog.unnest(p.proargtypes::oid[]) \
                                 WITH ORDINALITY AS t(oid, i) ORDER BY t.i), \
                    pg_catalog.lower(pg_catalog.pg_get_function_result(p.oid)), \
                    l.lanname::text, \
                    CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN p.prosrc END \
               FROM pg_catalog.pg_proc p \
               JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
               LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
              WHERE p.prokind IN ('f', 'p', 'w') AND {NS_FILTER} AND {}",
            not_extension_member("pg_proc", "p.oid")
        );
        const W: &str = "functions";
        for row in self.query(W, &sql)? {
            let schema: String = self.get(&row, 0, W)?;
            let name: String = self.get(&row, 1, W)?;
            let prokind: String = self.get(&row, 2, W)?;
            let args: Vec<String> = self.get(&row, 3, W)?;
            let returns: Option<String> = self.get(&row, 4, W)?;
            let language: Option<String> = self.get(&row, 5, W)?;
            // The body, for the call graph and role helpers: what the migrations'
            // `AS $$..$$` gives a universe read from files.
            let body: Option<String> = self.get(&row, 6, W)?;
            let procedure = prokind == "p";
            let details = Details::Function {
                args: args.iter().map(|a| object::normalize_type(a)).collect(),
                returns: if procedure { None } else { returns },
                language,
                procedure,
            };
            let key = self.add(ObjectKind::Function, Some(schema), None, name, details);
            self.u.set_body(key, body.map(String::into_bytes));
        }
        Ok(())
    }

    fn triggers(&mut self, rels: &HashMap<u32, Relation>) -> Result<(), IntrospectError> {
        let sql = "SELECT t.tgrelid, t.tgname::text, fn.nspname::text, p.proname::text, \
                          t.tgtype::int \
                     FROM pg_catalog.pg_trigger t \
                     JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid \
                     JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace \
                    WHERE NOT t.tgisinternal AND cardinality($1::text[]) >= 0";
        const W: &str = "triggers";
        for row in self.query(W, sql)? {
            let rel: u32 = self.get(&row, 0, W)?;
            let Some(r) = rels.get(&rel) else { continue };
            let name: String = self.get(&row, 1, W)?;
            let fschema: String = self.get(&row, 2, W)?;
            let fname: String = self.get(&row, 3, W)?;
            let function = format!(
                "{}.{}",
                object::quote_part(&fschema),
                object::quote_part(&fname)
            );
            let tgtype: i32 = self.get(&row, 4, W)?;
            let details = Details::Trigger {
                function: Some(function),
            };
            let table = Some((r.key.clone(), r.name.clone()));
            let key = self.add(
                ObjectKind::Trigger,
                Some(r.schema.clone()),
                table,
                name,
                details,
            );
            // pg_trigger.tgtype's event bits (TRIGGER_TYPE_INSERT, _DELETE, _UPDATE,
            // _TRUNCATE in PostgreSQL's pg_trigger.h), in the migrations' order.
            let events: Vec<String> = [
                (4, "insert"),
                (16, "update"),
                (8, "delete"),
                (32, "truncate"),
            ]
            .into_iter()
            .filter(|(bit, _)| tgtype & bit != 0)
            .map(|(_, e)| e.to_string())
            .collect();
            self.u.set_trigger_events(key, events);
        }
        Ok(())
    }

    fn policies(&mut self, rels: &HashMap<u32, Relation>) -> Result<(), IntrospectError> {
        let sql = "SELECT p.polrelid, p.polname::text, p.polcmd::text, \
                          ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' \
                                            ELSE pg_catalog.pg_get_userbyid(r.oid)::text END \
                                  FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY AS r(oid, i) \
                                 ORDER BY r.i) \
                     FROM pg_catalog.pg_policy p WHERE cardinality($1::text[]) >= 0";
        const W: &str = "policies";
        for row in self.query(W, sql)? {
            let rel: u32 = self.get(&row, 0, W)?;
            let Some(r) = rels.get(&rel) else { continue };
            let name: String = self.get(&row, 1, W)?;
            let cmd: String = self.get(&row, 2, W)?;
            let roles: Vec<String> = self.get(&row, 3, W)?;
            let command = match cmd.as_str() {
                "r" => "select",
                "a" => "insert",
                "w" => "update",
                "d" => "delete",
                _ => "all",
            }
            .to_string();
            let table = Some((r.key.clone(), r.name.clone()));
            let details = Details::Policy { command, roles };
            self.add(
                ObjectKind::Policy,
                Some(r.schema.clone()),
                table,
                name,
                details,
            );
        }
        Ok(())
    }

    fn types(&mut self) -> Result<(), IntrospectError> {
        let sql = format!(
            "SELECT n.nspname::text, t.typname::text, t.typtype::text, \
                    ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e \
                           WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), \
                    CASE t.typtype \
                      WHEN 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) \
                      WHEN 'r' THEN (SELECT pg_catalog.format_type(r.rngsubtype, NULL) \
                                       FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid) \
                      WHEN 'c' THEN (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) \
                                       || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), \
                                       ', ' ORDER BY a.attnum) \
                                       FROM pg_catalog.pg_attribute a \
                                      WHERE a.attrelid = t.typrelid AND a.attnum > 0 \
                                        AND NOT a.attisdropped) \
                    END, \
                    t.typisdefined \
               FROM pg_catalog.pg_type t \
               JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
              WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r', 'p') \
                AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c \
                                                   WHERE c.oid = t.typrelid AND c.relkind = 'c')) \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type a WHERE a.typarray = t.oid) \
                AND {NS_FILTER} AND {}",
            not_extension_member("pg_type", "t.oid")
        );
        const W: &str = "types";
        for row in self.query(W, &sql)? {
            let schema: String = self.get(&row, 0, W)?;
            let name: String = self.get(&row, 1, W)?;
            let typtype: String = self.get(&row, 2, W)?;
            let labels: Vec<String> = self.get(&row, 3, W)?;
            let base: Option<String> = self.get(&row, 4, W)?;
            let defined: bool = self.get(&row, 5, W)?;
            let variant = match typtype.as_str() {
                "e" => "enum",
                "c" => "composite",
                "d" => "domain",
                "r" => "range",
                _ if !defined => "shell",
                _ => "base",
            }
            .to_string();
            let details = Details::Type {
                variant,
                labels,
                base,
            };
            self.add(ObjectKind::Type, Some(schema), None, name, details);
        }
        Ok(())
    }

    /// Every extension of the database (extensions have no schema in their key, so the
    /// schema filter does not apply).
    fn extensions(&mut self) -> Result<(), IntrospectError> {
        let sql = "SELECT e.extname::text FROM pg_catalog.pg_extension e \
                    WHERE cardinality($1::text[]) >= 0";
        for row in self.query("extensions", sql)? {
            let name: String = self.get(&row, 0, "extensions")?;
            self.add(ObjectKind::Extension, None, None, name, Details::None);
        }
        Ok(())
    }

    /// Roles but the predefined `pg_*` ones and the bootstrap superuser.
    fn roles(&mut self) -> Result<(), IntrospectError> {
        let sql = "SELECT r.rolname::text FROM pg_catalog.pg_roles r \
                    WHERE r.rolname !~ '^pg_' AND r.oid <> 10 \
                      AND cardinality($1::text[]) >= 0";
        for row in self.query("roles", sql)? {
            let name: String = self.get(&row, 0, "roles")?;
            self.add(ObjectKind::Role, None, None, name, Details::None);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connecting_to_a_closed_port_fails_fast_with_one_line() {
        // Bind then drop a listener: the port is (almost certainly) closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let opts = DatabaseOptions {
            url: Some(format!("postgres://nobody@127.0.0.1:{port}/nothing")),
            connect_timeout: Duration::from_secs(2),
            ..DatabaseOptions::default()
        };
        let started = std::time::Instant::now();
        let err = load_database(&opts).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        let msg = err.to_string();
        assert!(
            msg.starts_with("cannot connect to postgres://nobody@127.0.0.1:"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn a_server_that_never_answers_times_out() {
        // Accepts the TCP connection, then says nothing: the start-up exchange hangs.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = std::thread::spawn(move || {
            let conn = listener.accept();
            std::thread::sleep(Duration::from_secs(3));
            drop(conn);
        });
        let opts = DatabaseOptions {
            url: Some(format!("postgres://nobody@127.0.0.1:{port}/nothing")),
            connect_timeout: Duration::from_secs(1),
            ..DatabaseOptions::default()
        };
        let started = std::time::Instant::now();
        let err = load_database(&opts).unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(2900), "{err}");
        assert!(matches!(err, IntrospectError::Timeout { .. }), "{err}");
        assert!(err.to_string().ends_with("no answer within 1 s"), "{err}");
        let _ = holder.join();
    }
}
