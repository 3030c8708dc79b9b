//! The universe read from a live database's `pg_catalog` instead of migration files.
//!
//! Owns: connecting (a URL or key=value string, completed from the libpq variables
//! `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGCONNECT_TIMEOUT` for
//! whatever it leaves unset, as libpq does), the catalog queries, and turning their rows
//! into the same [`SchemaObject`]s, keys and [`Details`] the migration reader builds.
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
//! No TLS: the connection is plain (`sslmode=require` is refused with a clear message).
//! Connecting gives up after [`DatabaseOptions::connect_timeout`] (10 s unless the URL
//! or `PGCONNECT_TIMEOUT` says otherwise), and that bound covers the start-up exchange
//! too, so a server that accepts the connection and never answers cannot hang the run.
//! Catalog queries run under a 60 s `statement_timeout`. Needs PostgreSQL 12 or newer
//! (`prokind`, `attgenerated`).

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::types::FromSql;
use postgres::{Client, NoTls, Row};

use super::{Details, Location, SchemaObject, Universe};
use crate::object;

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
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            url: None,
            schemas: Vec::new(),
            search_path: vec!["public".to_string()],
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a database could not be read. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    #[error("invalid database connection string: {0}")]
    Config(String),
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error("cannot connect to {target}: no answer within {seconds} s")]
    Timeout { target: String, seconds: u64 },
    #[error("reading {what} from {target} failed: {message}")]
    Query {
        target: String,
        what: &'static str,
        message: String,
    },
}

/// Connects with [`DatabaseOptions`] and reads every object into a [`Universe`].
pub fn load_database(opts: &DatabaseOptions) -> Result<Universe, IntrospectError> {
    let (config, target) = connection_config(opts.url.as_deref(), opts.connect_timeout, |k| {
        std::env::var(k).ok()
    })?;
    let mut client = connect(&config, &target)?;
    let mut reader = Reader {
        client: &mut client,
        target: &target,
        schemas: opts.schemas.clone(),
        u: Universe::new(),
    };
    reader.prepare_session(&opts.search_path)?;
    reader.read_all()?;
    Ok(reader.u)
}

/// The connection target as shown in messages and `defined_at` (never the password).
pub fn display_target(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    format!("postgres://{user}{host}:{port}/{db}")
}

/// Parses `url` and completes it from the environment (`env` looks a variable up), as
/// libpq completes a connection string.
fn connection_config(
    url: Option<&str>,
    default_timeout: Duration,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(postgres::Config, String), IntrospectError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    let mut config = match url {
        Some(u) => u
            .parse::<postgres::Config>()
            .map_err(|e| IntrospectError::Config(one_line(&e.to_string())))?,
        None => postgres::Config::new(),
    };
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        let hosts = var("PGHOST").unwrap_or_else(|| "localhost".to_string());
        for h in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            config.host(h);
        }
    }
    if config.get_ports().is_empty() {
        if let Some(p) = var("PGPORT") {
            let port = p
                .trim()
                .parse::<u16>()
                .map_err(|_| IntrospectError::Config(format!("PGPORT is not a port: {p}")))?;
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        if let Some(u) = var("PGUSER") {
            config.user(&u);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(d) = var("PGDATABASE") {
            config.dbname(&d);
        }
    }
    if config.get_password().is_none() {
        if let Some(p) = var("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_connect_timeout().is_none() {
        let secs = var("PGCONNECT_TIMEOUT").and_then(|s| s.trim().parse::<u64>().ok());
        // libpq treats 0 as "wait forever"; we never do.
        let timeout = match secs {
            Some(s) if s > 0 => Duration::from_secs(s),
            _ => default_timeout,
        };
        config.connect_timeout(timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("pgtap-scan");
    }
    let target = display_target(&config);
    if config.get_ssl_mode() == SslMode::Require {
        return Err(IntrospectError::Connect {
            target,
            message: "TLS is not supported (sslmode=require); connect without TLS".to_string(),
        });
    }
    Ok((config, target))
}

/// Connects on a helper thread and waits at most the connect timeout (per host) plus a
/// second: the driver's own timeout covers the TCP connect but not the start-up exchange.
fn connect(config: &postgres::Config, target: &str) -> Result<Client, IntrospectError> {
    let per_host = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(Duration::from_secs(10));
    let hosts = u32::try_from(config.get_hosts().len().max(1)).unwrap_or(u32::MAX);
    let limit = per_host
        .saturating_mul(hosts)
        .saturating_add(Duration::from_secs(1));
    let (tx, rx) = mpsc::channel();
    let cfg = config.clone();
    let spawned = std::thread::Builder::new()
        .name("pgtap-scan-connect".to_string())
        .spawn(move || {
            // The receiver may be gone after a timeout; nothing to do then.
            let _ = tx.send(cfg.connect(NoTls));
        });
    if let Err(e) = spawned {
        return Err(IntrospectError::Connect {
            target: target.to_string(),
            message: format!("cannot start a thread: {e}"),
        });
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(IntrospectError::Connect {
            target: target.to_string(),
            message: pg_message(&e),
        }),
        Err(_) => Err(IntrospectError::Timeout {
            target: target.to_string(),
            seconds: limit.as_secs(),
        }),
    }
}

/// A driver error as one line: the server's message when there is one (with its
/// SQLSTATE), else the error and its causes.
fn pg_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return one_line(&format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        ));
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let s_text = s.to_string();
        if !msg.contains(&s_text) {
            msg.push_str(": ");
            msg.push_str(&s_text);
        }
        src = s.source();
    }
    one_line(&msg)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rows of one table kind, with what the key needs.
struct Relation {
    schema: String,
    name: String,
    key: String,
}

struct Reader<'a> {
    client: &'a mut Client,
    target: &'a str,
    schemas: Vec<String>,
    u: Universe,
}

/// `relkind` to our kind names.
fn relation_kind(relkind: &str) -> Option<&'static str> {
    Some(match relkind {
        "r" | "p" => "table",
        "f" => "foreign_table",
        "v" => "view",
        "m" => "materialized_view",
        "S" => "sequence",
        "i" | "I" => "index",
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
        self.client
            .query(sql, &[&schemas])
            .map_err(|e| IntrospectError::Query {
                target: self.target.to_string(),
                what,
                message: pg_message(&e),
            })
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
        let target = self.target.to_string();
        let err = |e: postgres::Error| IntrospectError::Query {
            target: target.clone(),
            what: "session settings",
            message: pg_message(&e),
        };
        self.client
            .batch_execute("SET statement_timeout = '60s'; SET lock_timeout = '10s'")
            .map_err(err)?;
        self.client
            .query(
                "SELECT pg_catalog.set_config('search_path', \
                 pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.quote_ident(p) \
                 FROM pg_catalog.unnest($1::text[]) AS p), ','), false)",
                &[&path],
            )
            .map_err(err)?;
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
        kind: &str,
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
            kind: kind.to_string(),
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
            self.add("schema", None, None, name, Details::None);
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
                "table" | "foreign_table" => Details::Table {
                    rls_enabled: rls,
                    rls_forced: forced,
                    partition_of: None,
                    inherits: Vec::new(),
                    owner,
                },
                "view" | "materialized_view" => Details::View {
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
            self.add("column", Some(r.schema.clone()), table, name, details);
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
            self.add("index", Some(r.schema.clone()), table, name, details);
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
            let col_key = object::key("column", &[&t.schema, &t.name, &column]);
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
                    l.lanname::text \
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
            let procedure = prokind == "p";
            let details = Details::Function {
                args: args.iter().map(|a| object::normalize_type(a)).collect(),
                returns: if procedure { None } else { returns },
                language,
                procedure,
            };
            self.add("function", Some(schema), None, name, details);
        }
        Ok(())
    }

    fn triggers(&mut self, rels: &HashMap<u32, Relation>) -> Result<(), IntrospectError> {
        let sql = "SELECT t.tgrelid, t.tgname::text, fn.nspname::text, p.proname::text \
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
            let details = Details::Trigger {
                function: Some(function),
            };
            let table = Some((r.key.clone(), r.name.clone()));
            self.add("trigger", Some(r.schema.clone()), table, name, details);
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
            self.add("policy", Some(r.schema.clone()), table, name, details);
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
            self.add("type", Some(schema), None, name, details);
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
            self.add("extension", None, None, name, Details::None);
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
            self.add("role", None, None, name, Details::None);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn url_parts_win_over_the_environment() {
        let env = env_of(&[
            ("PGHOST", "elsewhere"),
            ("PGPORT", "1"),
            ("PGUSER", "bob"),
            ("PGDATABASE", "other"),
        ]);
        let (cfg, target) = connection_config(
            Some("postgres://alice:secret@db.example:6543/app"),
            Duration::from_secs(10),
            env,
        )
        .unwrap();
        assert_eq!(target, "postgres://alice@db.example:6543/app");
        assert_eq!(cfg.get_password(), Some(&b"secret"[..]));
        assert_eq!(cfg.get_connect_timeout(), Some(&Duration::from_secs(10)));
    }

    #[test]
    fn the_environment_completes_a_missing_url() {
        let env = env_of(&[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", "54329"),
            ("PGUSER", "postgres"),
            ("PGDATABASE", "sample"),
            ("PGPASSWORD", "pw"),
            ("PGCONNECT_TIMEOUT", "3"),
        ]);
        let (cfg, target) = connection_config(None, Duration::from_secs(10), env).unwrap();
        assert_eq!(target, "postgres://postgres@127.0.0.1:54329/sample");
        assert_eq!(cfg.get_password(), Some(&b"pw"[..]));
        assert_eq!(cfg.get_connect_timeout(), Some(&Duration::from_secs(3)));
        // Only unset parts come from the environment.
        let env = env_of(&[("PGPORT", "54329"), ("PGUSER", "postgres")]);
        let (_, target) =
            connection_config(Some("postgres:///db1"), Duration::from_secs(10), env).unwrap();
        assert_eq!(target, "postgres://postgres@localhost:54329/db1");
    }

    #[test]
    fn bad_strings_are_errors_not_panics() {
        let none = env_of(&[]);
        for bad in [
            "postgres://[::1",
            "host=",
            "port=notaport",
            "sslmode=maybe",
            "=x",
        ] {
            // Any outcome is fine but a panic; errors are one line.
            if let Err(e) = connection_config(Some(bad), Duration::from_secs(1), &none) {
                assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
        let env = env_of(&[("PGPORT", "99999")]);
        let err = connection_config(None, Duration::from_secs(1), env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid database connection string: PGPORT is not a port: 99999"
        );
        let err =
            connection_config(Some("sslmode=require"), Duration::from_secs(1), &none).unwrap_err();
        assert!(err.to_string().contains("TLS is not supported"), "{err}");
    }

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
        assert!(err.to_string().ends_with("no answer within 2 s"), "{err}");
        let _ = holder.join();
    }
}
