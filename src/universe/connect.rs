//! Connecting to a live database for [`super::introspect`]: the connection string, TLS,
//! and what may be sent where. Also the error of reading a database, [`IntrospectError`]
//! (the queries' failures too): it lives here, below introspect, so that introspect
//! imports connect and never the other way round.
//!
//! **The string.** A `postgres://` URL or a libpq `key=value` string, completed from
//! `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGCONNECT_TIMEOUT`,
//! `PGSSLMODE` and `PGSSLROOTCERT` for whatever it leaves unset, as libpq completes one.
//! `sslmode` and `sslrootcert` are taken out here (tokio-postgres knows neither
//! `verify-ca`/`verify-full` nor `sslrootcert`) and the rest goes to tokio-postgres.
//!
//! **TLS** (rustls, ring provider), with libpq's meaning of `sslmode`:
//! - `disable`: plain;
//! - `prefer` (the default): TLS when the server offers it, no certificate check;
//! - `require`: TLS or fail, no certificate check, but with an explicit `sslrootcert`
//!   the chain is checked as under `verify-ca` (libpq does the same);
//! - `verify-ca`: TLS, the certificate must chain to a trusted root; the name is not
//!   checked;
//! - `verify-full`: as `verify-ca`, and the certificate must name the host.
//!
//! Trusted roots are the system's (`rustls-native-certs`), or the PEM file
//! `sslrootcert=PATH` instead; `sslrootcert=system` means the system's and, as in libpq,
//! makes `verify-full` the default and a weaker mode an error. (libpq would read
//! `~/.postgresql/root.crt` for `verify-*` without `sslrootcert`; this reads the system
//! roots.) A Unix-domain socket never uses TLS. Client certificates are not supported.
//!
//! **Passwords** ([`password_plan`]):
//! - a password from the environment (`PGPASSWORD`) is not sent to a host that only a
//!   `.pgtap-scan.toml` named ([`UrlSource::ConfigFile`] with a host in its URL) unless
//!   the user opts in from outside the repository (`--trust-config-database-url` or
//!   `PGTAP_SCAN_TRUST_CONFIG_DATABASE=1`; the config file has no such key). The
//!   connection is tried without it; a server that asks for a password then gets a
//!   message saying why and how to opt in;
//! - no password travels in the clear or as md5 to a host that is not local (a Unix
//!   socket, `localhost`, `127.0.0.0/8`, `::1`): on a connection that is not encrypted,
//!   a server asking for a cleartext or md5 password is refused before the driver sees
//!   the request ([`Guard`] reads the server's messages up to `AuthenticationOk`).
//!   SCRAM, which never sends the password, is allowed; so is any method inside TLS.
//!   `sslmode=verify-full` is what makes sure the TLS peer is the host named.
//!
//! **Time.** Each host gets [`connect`]'s timeout for the TCP connect, TLS and the
//! whole start-up exchange (a server that accepts and never answers cannot hang the
//! run); hosts are tried in order, as libpq does.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode as PgSslMode, SslNegotiation};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why a database could not be read. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// The URL or `key=value` string (or an option in it) is not valid; says which part.
    #[error("invalid database connection string: {0}")]
    Config(String),
    /// The server could not be reached or refused the connection (every host was tried).
    #[error("cannot connect to {target}: {message}")]
    Connect {
        /// The host, port and database tried, without the password.
        target: String,
        /// The driver's or server's reason.
        message: String,
    },
    /// No connection within the timeout (`--database-timeout`).
    #[error("cannot connect to {target}: no answer within {seconds} s")]
    Timeout {
        /// The host, port and database tried, without the password.
        target: String,
        /// The timeout per host, in whole seconds (rounded up).
        seconds: u64,
    },
    /// A password was held back or a request for one refused (see the module's header).
    #[error("cannot connect to {target}: {message}")]
    Refused {
        /// The host, port and database tried, without the password.
        target: String,
        /// Why the password was not sent.
        message: String,
    },
    /// A catalog query got no answer within the timeout.
    #[error("reading {what} from {target}: no answer within {seconds} s (--database-timeout)")]
    QueryTimeout {
        /// The server, without the password.
        target: String,
        /// What was being read (`schemas`, `relations`, ...).
        what: &'static str,
        /// The timeout, in whole seconds (rounded up).
        seconds: u64,
    },
    /// A catalog query failed (permissions, an unsupported server version, ...).
    #[error("reading {what} from {target} failed: {message}")]
    Query {
        /// The server, without the password.
        target: String,
        /// What was being read (`schemas`, `relations`, ...).
        what: &'static str,
        /// The server's error message.
        message: String,
    },
}

pub use crate::config::UrlSource;

/// `sslmode` as libpq spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode, IntrospectError> {
        Ok(match s.trim() {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err(IntrospectError::Config(
                    "sslmode=allow is not supported: use prefer or disable".to_string(),
                ))
            }
            other => {
                return Err(IntrospectError::Config(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                )))
            }
        })
    }
}

/// Whose roots a certificate must chain to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    System,
    File(PathBuf),
}

/// Where the password the driver would send came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordFrom {
    /// No password would be sent.
    None,
    /// The URL or `key=value` string itself (whoever wrote it knows the password).
    ConnectionString,
    /// `PGPASSWORD`.
    Environment,
}

/// Who named the host connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFrom {
    /// `--database-url` (or a library caller).
    Flag,
    /// `PGHOST` or the default (`localhost`): the string named no host.
    Environment,
    /// Only a configuration file's `database-url`.
    ConfigFile,
}

/// Whether the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsUse {
    /// `sslmode=disable`, or a Unix socket.
    Disabled,
    /// `prefer`: encrypted if the server offers it.
    Possible,
    /// `require`, `verify-ca`, `verify-full`: encrypted or no connection.
    Required,
}

/// What to do with a password for one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPlan {
    /// Hand the password to the driver (it answers a server that asks for one).
    pub send: bool,
    /// `PGPASSWORD` is held back: only a config file named the host and the user did
    /// not opt in.
    pub withheld: bool,
    /// If the connection ends up unencrypted, refuse a server that asks for a cleartext
    /// or md5 password instead of answering it.
    pub refuse_plain_auth: bool,
}

/// The password rules, as one pure function (see the module header).
pub fn password_plan(
    from: PasswordFrom,
    host: HostFrom,
    trust_config: bool,
    local: bool,
    tls: TlsUse,
) -> PasswordPlan {
    let send = match from {
        PasswordFrom::None => false,
        PasswordFrom::ConnectionString => true,
        PasswordFrom::Environment => host != HostFrom::ConfigFile || trust_config,
    };
    PasswordPlan {
        send,
        withheld: from == PasswordFrom::Environment && !send,
        refuse_plain_auth: send && !local && tls != TlsUse::Required,
    }
}

/// A host counts as local when traffic to it does not leave the machine.
pub fn is_local_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| is_loopback(&ip))
}

fn is_loopback(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    }
}

/// A parsed, completed connection target.
#[derive(Debug, Clone)]
pub struct Target {
    /// For tokio-postgres: the password only when it may be sent.
    pub config: tokio_postgres::Config,
    pub ssl_mode: SslMode,
    pub root_cert: Option<RootCert>,
    pub password_from: PasswordFrom,
    pub host_from: HostFrom,
    /// The source of the string (for messages).
    pub source: UrlSource,
    pub trust_config: bool,
    /// As shown in messages and `defined_at`: a URL without the password.
    pub display: String,
}

impl Target {
    /// The password plan for a host (`local`) reached with `tls`.
    pub fn plan(&self, local: bool, tls: TlsUse) -> PasswordPlan {
        password_plan(
            self.password_from,
            self.host_from,
            self.trust_config,
            local,
            tls,
        )
    }
}

/// The connection target as shown in messages and `defined_at` (never the password).
pub fn display_target(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => match config.get_hostaddrs().first() {
            Some(ip) => ip.to_string(),
            None => "localhost".to_string(),
        },
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
/// libpq completes a connection string, then applies the password rules.
pub fn target(
    url: Option<&str>,
    source: UrlSource,
    trust_config: bool,
    default_timeout: Duration,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Target, IntrospectError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    let (rest, ssl_param, root_param) = match url {
        Some(u) => take_tls_params(u)?,
        None => (String::new(), None, None),
    };
    let mut config = if rest.trim().is_empty() {
        tokio_postgres::Config::new()
    } else {
        rest.parse::<tokio_postgres::Config>()
            .map_err(|e| IntrospectError::Config(one_line(&e.to_string())))?
    };
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let names_host = !config.get_hosts().is_empty() || !config.get_hostaddrs().is_empty();
    if !names_host {
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
    let host_from = match (&source, names_host) {
        (_, false) => HostFrom::Environment,
        (UrlSource::Flag, true) => HostFrom::Flag,
        (UrlSource::ConfigFile(_), true) => HostFrom::ConfigFile,
    };
    let mut env_password = None;
    let password_from = if config.get_password().is_some() {
        PasswordFrom::ConnectionString
    } else if let Some(p) = var("PGPASSWORD") {
        env_password = Some(p);
        PasswordFrom::Environment
    } else {
        PasswordFrom::None
    };
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
    let root_cert = match root_param.or_else(|| var("PGSSLROOTCERT")) {
        None => None,
        Some(r) if r.trim() == "system" => Some(RootCert::System),
        Some(r) => Some(RootCert::File(PathBuf::from(r))),
    };
    let ssl_mode = match ssl_param.or_else(|| var("PGSSLMODE")) {
        Some(m) => SslMode::parse(&m)?,
        None if root_cert == Some(RootCert::System) => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    if root_cert == Some(RootCert::System)
        && !matches!(ssl_mode, SslMode::VerifyCa | SslMode::VerifyFull)
    {
        return Err(IntrospectError::Config(
            "sslrootcert=system needs sslmode=verify-ca or verify-full (as in libpq)".to_string(),
        ));
    }
    let display = display_target(&config);
    let mut t = Target {
        config,
        ssl_mode,
        root_cert,
        password_from,
        host_from,
        source,
        trust_config,
        display,
    };
    // Whether the password goes out does not depend on the host's locality or TLS.
    if let Some(p) = env_password {
        if t.plan(false, TlsUse::Required).send {
            t.config.password(p);
        }
    }
    Ok(t)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query or a `key=value` string:
/// (the rest, sslmode, sslrootcert). Anything it cannot read is left for tokio-postgres
/// to complain about.
fn take_tls_params(s: &str) -> Result<(String, Option<String>, Option<String>), IntrospectError> {
    let mut mode = None;
    let mut root = None;
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        let Some((base, query)) = s.split_once('?') else {
            return Ok((s.to_string(), None, None));
        };
        let mut kept = Vec::new();
        for piece in query.split('&') {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            let key = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
            let value = || {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| IntrospectError::Config(format!("{key} is not UTF-8")))
            };
            match key.as_ref() {
                "sslmode" => mode = Some(value()?),
                "sslrootcert" => root = Some(value()?),
                _ => kept.push(piece),
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, mode, root));
    }
    let Some(pairs) = key_value_pairs(s) else {
        return Ok((s.to_string(), None, None));
    };
    let mut kept = Vec::new();
    for (key, value, span) in pairs {
        match key.as_str() {
            "sslmode" => mode = Some(value),
            "sslrootcert" => root = Some(value),
            _ => kept.push(&s[span]),
        }
    }
    Ok((kept.join(" "), mode, root))
}

/// libpq `key = value` pairs with their spans; `None` when the string does not read as
/// such (tokio-postgres then gives the error).
fn key_value_pairs(s: &str) -> Option<Vec<(String, String, std::ops::Range<usize>)>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            return Some(out);
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = s.get(start..i)?.to_string();
        skip_ws(&mut i);
        if b.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        skip_ws(&mut i);
        let mut value = Vec::new();
        if b.get(i) == Some(&b'\'') {
            i += 1;
            loop {
                match b.get(i)? {
                    b'\\' => {
                        value.push(*b.get(i + 1)?);
                        i += 2;
                    }
                    b'\'' => {
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(*c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                if b[i] == b'\\' {
                    value.push(*b.get(i + 1)?);
                    i += 2;
                } else {
                    value.push(b[i]);
                    i += 1;
                }
            }
        }
        out.push((key, String::from_utf8(value).ok()?, start..i));
    }
}

/// A certificate verifier with libpq's `sslmode` meanings.
#[derive(Debug)]
struct Verifier {
    check: Check,
    roots: Arc<RootCertStore>,
    algs: WebPkiSupportedAlgorithms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Encryption only (`prefer`, `require`).
    Nothing,
    /// The chain to a trusted root (`verify-ca`, `require` with `sslrootcert`).
    Chain,
    /// The chain and the host name (`verify-full`).
    ChainAndName,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.check == Check::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algs.all,
        )?;
        if self.check == Check::ChainAndName {
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// The roots `root` names.
fn load_roots(root: &RootCert) -> Result<RootCertStore, IntrospectError> {
    let mut store = RootCertStore::empty();
    match root {
        RootCert::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(": {}", one_line(&e.to_string())))
                    .unwrap_or_default();
                return Err(IntrospectError::Config(format!(
                    "no system CA certificates found{why}; give sslrootcert=FILE"
                )));
            }
        }
        RootCert::File(path) => {
            let err =
                |m: String| IntrospectError::Config(format!("sslrootcert {}: {m}", path.display()));
            let iter =
                CertificateDer::pem_file_iter(path).map_err(|e| err(one_line(&e.to_string())))?;
            for cert in iter {
                let cert = cert.map_err(|e| err(one_line(&e.to_string())))?;
                store.add(cert).map_err(|e| err(one_line(&e.to_string())))?;
            }
            if store.is_empty() {
                return Err(err("no PEM certificate in it".to_string()));
            }
        }
    }
    Ok(store)
}

/// The rustls client configuration for `t`'s `sslmode` and `sslrootcert`.
fn tls_connector(t: &Target) -> Result<MakeRustlsConnect, IntrospectError> {
    let check = match (t.ssl_mode, &t.root_cert) {
        (SslMode::VerifyFull, _) => Check::ChainAndName,
        (SslMode::VerifyCa, _) | (SslMode::Require, Some(_)) => Check::Chain,
        _ => Check::Nothing,
    };
    let roots = if check == Check::Nothing {
        RootCertStore::empty()
    } else {
        load_roots(t.root_cert.as_ref().unwrap_or(&RootCert::System))?
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        check,
        roots: Arc::new(roots),
        algs: provider.signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| IntrospectError::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// A TCP or Unix-domain socket.
pub(crate) enum Sock {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for Sock {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Sock::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Sock::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Sock {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Sock::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Sock::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Sock::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Sock::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Sock::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Sock::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Where [`Guard`] is in the server's byte stream.
#[derive(Debug, Clone, Copy)]
enum Watch {
    /// The one-byte answer to `SSLRequest`.
    SslAnswer,
    /// A message header: type, length, and for `R` the 4-byte code (`have` bytes so far).
    Header { buf: [u8; 9], have: usize },
    /// The rest of a message body.
    Skip(u64),
    /// TLS started, or authentication is over: nothing more to watch.
    Off,
}

/// Passes a connection's bytes through and, until authentication is over on a
/// connection that stays unencrypted, refuses a request for a cleartext (`R` code 3) or
/// md5 (code 5) password: the read fails before the driver sees the request, so the
/// password is never written. Reading is all it does; the driver frames messages itself.
pub(crate) struct Guard<S> {
    inner: S,
    watch: Watch,
    refuse_host: Option<String>,
    refused: Arc<Mutex<Option<String>>>,
}

impl<S> Guard<S> {
    /// `ssl_request`: the driver sends `SSLRequest` first; `refuse_host`: the host
    /// named in the refusal, `None` to let every method through.
    fn new(
        inner: S,
        ssl_request: bool,
        refuse_host: Option<String>,
        refused: Arc<Mutex<Option<String>>>,
    ) -> Self {
        let watch = if refuse_host.is_none() {
            Watch::Off
        } else if ssl_request {
            Watch::SslAnswer
        } else {
            Watch::Header {
                buf: [0; 9],
                have: 0,
            }
        };
        Guard {
            inner,
            watch,
            refuse_host,
            refused,
        }
    }

    /// Looks at bytes the server sent; `Err` when they ask for a password we refuse.
    fn inspect(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            match &mut self.watch {
                Watch::Off => return Ok(()),
                Watch::SslAnswer => {
                    self.watch = if data[0] == b'S' {
                        Watch::Off
                    } else {
                        Watch::Header {
                            buf: [0; 9],
                            have: 0,
                        }
                    };
                    data = &data[1..];
                }
                Watch::Skip(n) => {
                    let take = usize::try_from(*n).unwrap_or(usize::MAX).min(data.len());
                    *n -= take as u64;
                    data = &data[take..];
                    if *n == 0 {
                        self.watch = Watch::Header {
                            buf: [0; 9],
                            have: 0,
                        };
                    }
                }
                Watch::Header { buf, have } => {
                    let want = if *have >= 5 && buf[0] == b'R' { 9 } else { 5 };
                    let take = (want - *have).min(data.len());
                    buf[*have..*have + take].copy_from_slice(&data[..take]);
                    *have += take;
                    data = &data[take..];
                    if *have < want {
                        continue;
                    }
                    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
                    if len < 4 {
                        // Malformed: the driver rejects it.
                        self.watch = Watch::Off;
                        continue;
                    }
                    if buf[0] == b'R' && want == 5 {
                        if len < 8 {
                            self.watch = Watch::Off;
                        }
                        continue; // read the code too
                    }
                    let body_seen = u64::from(want as u32 - 5);
                    if buf[0] == b'R' {
                        let code = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]);
                        let host = self.refuse_host.as_deref().unwrap_or("");
                        match code {
                            0 => {
                                self.watch = Watch::Off;
                                continue;
                            }
                            3 | 5 => {
                                let how = if code == 3 { "in cleartext" } else { "as md5" };
                                return Err(format!(
                                    "refused to send the password {how} to {host} over an \
                                     unencrypted connection (the server asked for it); use \
                                     sslmode=require or verify-full so it travels over TLS, or \
                                     scram-sha-256 authentication on the server"
                                ));
                            }
                            _ => {}
                        }
                    }
                    let rest = u64::from(len) - 4 - body_seen;
                    self.watch = if rest == 0 {
                        Watch::Header {
                            buf: [0; 9],
                            have: 0,
                        }
                    } else {
                        Watch::Skip(rest)
                    };
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if matches!(this.watch, Watch::Off) {
                    return Poll::Ready(Ok(()));
                }
                let fresh = buf.filled()[before..].to_vec();
                match this.inspect(&fresh) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(msg) => {
                        if let Ok(mut r) = this.refused.lock() {
                            *r = Some(msg.clone());
                        }
                        // Hide the request from the driver.
                        buf.set_filled(before);
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::PermissionDenied, msg)))
                    }
                }
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// One address to try.
struct Endpoint {
    addr: Addr,
    port: u16,
    /// The name TLS sends and `verify-full` checks.
    tls_name: String,
    /// As shown in messages.
    label: String,
    local: bool,
}

enum Addr {
    Name(String),
    Ip(IpAddr),
    Unix(PathBuf),
}

fn endpoints(config: &tokio_postgres::Config) -> Vec<Endpoint> {
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    let ports = config.get_ports();
    let n = hosts.len().max(addrs.len()).max(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let port = match ports {
            [one] => *one,
            _ => ports.get(i).copied().unwrap_or(5432),
        };
        let ep = match (hosts.get(i), addrs.get(i)) {
            (Some(Host::Unix(dir)), _) => Endpoint {
                addr: Addr::Unix(dir.join(format!(".s.PGSQL.{port}"))),
                port,
                tls_name: String::new(),
                label: dir.display().to_string(),
                local: true,
            },
            (host, Some(ip)) => {
                let name = match host {
                    Some(Host::Tcp(h)) => h.clone(),
                    _ => ip.to_string(),
                };
                Endpoint {
                    addr: Addr::Ip(*ip),
                    port,
                    label: format!("{name} ({ip})"),
                    tls_name: name,
                    local: is_loopback(ip),
                }
            }
            (Some(Host::Tcp(h)), None) => Endpoint {
                addr: Addr::Name(h.clone()),
                port,
                tls_name: h.clone(),
                label: h.clone(),
                local: is_local_host(h),
            },
            (None, None) => Endpoint {
                addr: Addr::Name("localhost".to_string()),
                port,
                tls_name: "localhost".to_string(),
                label: "localhost".to_string(),
                local: true,
            },
        };
        out.push(ep);
    }
    out
}

/// The connected client; its connection task runs on `runtime`, which every query
/// must be driven on.
pub(crate) struct Session {
    runtime: Option<tokio::runtime::Runtime>,
    pub client: tokio_postgres::Client,
}

impl Session {
    /// Runs `fut` to completion on the session's runtime, giving up after `limit`.
    pub fn run<F: std::future::Future>(&self, limit: Duration, fut: F) -> Option<F::Output> {
        let rt = self.runtime.as_ref()?;
        rt.block_on(async { tokio::time::timeout(limit, fut).await.ok() })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A DNS lookup stuck on a blocking thread must not hold the exit.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Connects to the first host of `t` that answers, each given `per_host` for the TCP
/// connect, TLS and the start-up exchange.
pub(crate) fn connect(t: &Target, per_host: Duration) -> Result<Session, IntrospectError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| IntrospectError::Connect {
            target: t.display.clone(),
            message: format!("cannot start the I/O runtime: {e}"),
        })?;
    let mut tls = tls_connector(t)?;
    let mut last = None;
    for ep in endpoints(&t.config) {
        let refused = Arc::new(Mutex::new(None));
        let attempt = runtime.block_on(async {
            tokio::time::timeout(per_host, connect_one(t, &ep, &mut tls, refused.clone())).await
        });
        let refusal = refused.lock().ok().and_then(|mut r| r.take());
        match attempt {
            Ok(Ok(client)) => {
                return Ok(Session {
                    runtime: Some(runtime),
                    client,
                })
            }
            Ok(Err(message)) => {
                if let Some(message) = refusal {
                    last = Some(IntrospectError::Refused {
                        target: t.display.clone(),
                        message,
                    });
                    continue;
                }
                let plan = t.plan(ep.local, TlsUse::Required);
                last = Some(if plan.withheld && message.contains("password missing") {
                    IntrospectError::Refused {
                        target: t.display.clone(),
                        message: withheld_message(t, &ep.label),
                    }
                } else {
                    IntrospectError::Connect {
                        target: t.display.clone(),
                        message,
                    }
                });
            }
            Err(_) => {
                last = Some(IntrospectError::Timeout {
                    target: t.display.clone(),
                    // Whole seconds, rounded up.
                    seconds: per_host.as_secs() + u64::from(per_host.subsec_nanos() > 0),
                })
            }
        }
    }
    runtime.shutdown_background();
    Err(last.unwrap_or_else(|| IntrospectError::Connect {
        target: t.display.clone(),
        message: "no host to connect to".to_string(),
    }))
}

fn withheld_message(t: &Target, host: &str) -> String {
    let file = match &t.source {
        UrlSource::ConfigFile(p) => p.display().to_string(),
        UrlSource::Flag => "a configuration file".to_string(),
    };
    format!(
        "the server asks for a password, and PGPASSWORD is not sent to {host}, a host only \
         {file} names (a repository's config file could send it anywhere); to send it there, \
         pass --trust-config-database-url or set PGTAP_SCAN_TRUST_CONFIG_DATABASE=1, or give \
         the URL with --database-url"
    )
}

async fn connect_one(
    t: &Target,
    ep: &Endpoint,
    tls: &mut MakeRustlsConnect,
    refused: Arc<Mutex<Option<String>>>,
) -> Result<tokio_postgres::Client, String> {
    let sock = match &ep.addr {
        #[cfg(unix)]
        Addr::Unix(path) => tokio::net::UnixStream::connect(path)
            .await
            .map(Sock::Unix)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        #[cfg(not(unix))]
        Addr::Unix(path) => {
            return Err(format!(
                "{}: Unix-domain sockets are not supported on this system",
                path.display()
            ))
        }
        Addr::Ip(ip) => {
            let s = tokio::net::TcpStream::connect((*ip, ep.port))
                .await
                .map_err(|e| e.to_string())?;
            let _ = s.set_nodelay(true);
            Sock::Tcp(s)
        }
        Addr::Name(h) => {
            let s = tokio::net::TcpStream::connect((h.as_str(), ep.port))
                .await
                .map_err(|e| e.to_string())?;
            let _ = s.set_nodelay(true);
            Sock::Tcp(s)
        }
    };
    let mut config = t.config.clone();
    let (mode, tls_use) = match (&ep.addr, t.ssl_mode) {
        (Addr::Unix(_), _) | (_, SslMode::Disable) => (PgSslMode::Disable, TlsUse::Disabled),
        (_, SslMode::Prefer) => (PgSslMode::Prefer, TlsUse::Possible),
        _ => (PgSslMode::Require, TlsUse::Required),
    };
    config.ssl_mode(mode);
    let plan = t.plan(ep.local, tls_use);
    let direct = config.get_ssl_negotiation() == SslNegotiation::Direct;
    let refuse_host = plan.refuse_plain_auth.then(|| ep.label.clone());
    // With direct negotiation TLS starts at once (and `prefer` is refused by the driver).
    let refuse_host = if direct && mode != PgSslMode::Disable {
        None
    } else {
        refuse_host
    };
    let stream = Guard::new(sock, mode != PgSslMode::Disable, refuse_host, refused);
    // A name rustls cannot use (`my_db`) only matters when the name is checked.
    let name = if ServerName::try_from(ep.tls_name.as_str()).is_ok()
        || t.ssl_mode == SslMode::VerifyFull
    {
        ep.tls_name.as_str()
    } else {
        "localhost"
    };
    let connector = <MakeRustlsConnect as MakeTlsConnect<Guard<Sock>>>::make_tls_connect(tls, name)
        .map_err(|e| e.to_string())?;
    let (client, connection) = config
        .connect_raw(stream, connector)
        .await
        .map_err(|e| pg_message(&e))?;
    tokio::spawn(async move {
        // Ends when the client is dropped or the server goes away; errors surface
        // through the client.
        let _ = connection.await;
    });
    Ok(client)
}

/// A driver error as one line: the server's message when there is one (with its
/// SQLSTATE), else the error and its causes.
pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn flag(url: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Target {
        target(url, UrlSource::Flag, false, Duration::from_secs(10), env).unwrap()
    }

    fn from_file(url: &str, trust: bool, env: impl Fn(&str) -> Option<String>) -> Target {
        let source = UrlSource::ConfigFile(PathBuf::from("/repo/.pgtap-scan.toml"));
        target(Some(url), source, trust, Duration::from_secs(10), env).unwrap()
    }

    #[test]
    fn url_parts_win_over_the_environment() {
        let env = env_of(&[
            ("PGHOST", "elsewhere"),
            ("PGPORT", "1"),
            ("PGUSER", "bob"),
            ("PGDATABASE", "other"),
        ]);
        let t = flag(Some("postgres://alice:secret@db.example:6543/app"), env);
        assert_eq!(t.display, "postgres://alice@db.example:6543/app");
        assert_eq!(t.config.get_password(), Some(&b"secret"[..]));
        assert_eq!(t.password_from, PasswordFrom::ConnectionString);
        assert_eq!(t.host_from, HostFrom::Flag);
        assert_eq!(t.ssl_mode, SslMode::Prefer);
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&Duration::from_secs(10))
        );
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
            ("PGSSLMODE", "require"),
        ]);
        let t = flag(None, env);
        assert_eq!(t.display, "postgres://postgres@127.0.0.1:54329/sample");
        assert_eq!(t.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(t.password_from, PasswordFrom::Environment);
        assert_eq!(t.host_from, HostFrom::Environment);
        assert_eq!(t.ssl_mode, SslMode::Require);
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        // Only unset parts come from the environment.
        let env = env_of(&[("PGPORT", "54329"), ("PGUSER", "postgres")]);
        let t = flag(Some("postgres:///db1"), env);
        assert_eq!(t.display, "postgres://postgres@localhost:54329/db1");
    }

    #[test]
    fn bad_strings_are_errors_not_panics() {
        let none = env_of(&[]);
        for bad in [
            "postgres://[::1",
            "host=",
            "port=notaport",
            "sslmode=maybe",
            "sslmode='unterminated",
            "postgres://h/d?sslmode=%ff",
            "=x",
            "x",
            "host=h sslrootcert=system sslmode=require",
        ] {
            // Any outcome is fine but a panic; errors are one line.
            if let Err(e) = target(
                Some(bad),
                UrlSource::Flag,
                false,
                Duration::from_secs(1),
                &none,
            ) {
                assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
        let env = env_of(&[("PGPORT", "99999")]);
        let err = target(None, UrlSource::Flag, false, Duration::from_secs(1), env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid database connection string: PGPORT is not a port: 99999"
        );
        let err = target(
            Some("sslmode=maybe"),
            UrlSource::Flag,
            false,
            Duration::from_secs(1),
            &none,
        )
        .unwrap_err();
        assert!(err.to_string().contains("verify-full"), "{err}");
    }

    #[test]
    fn sslmode_and_sslrootcert_are_read_from_urls_and_key_value_strings() {
        let none = env_of(&[]);
        let t = flag(
            Some("postgres://u@db.example/app?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x"),
            &none,
        );
        assert_eq!(t.ssl_mode, SslMode::VerifyFull);
        assert_eq!(t.root_cert, Some(RootCert::File("/tmp/ca.pem".into())));
        assert_eq!(t.config.get_application_name(), Some("x"));
        let t = flag(
            Some("host=db.example sslmode = verify-ca sslrootcert='/a dir/ca\\'s.pem' dbname=app"),
            &none,
        );
        assert_eq!(t.ssl_mode, SslMode::VerifyCa);
        assert_eq!(t.root_cert, Some(RootCert::File("/a dir/ca's.pem".into())));
        assert_eq!(t.config.get_dbname(), Some("app"));
        // sslrootcert=system makes verify-full the default, and a weaker mode an error.
        let t = flag(Some("host=db.example sslrootcert=system"), &none);
        assert_eq!(t.ssl_mode, SslMode::VerifyFull);
        assert_eq!(t.root_cert, Some(RootCert::System));
        let err = target(
            Some("host=db.example sslrootcert=system sslmode=require"),
            UrlSource::Flag,
            false,
            Duration::from_secs(1),
            &none,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("sslrootcert=system needs"),
            "{err}"
        );
        // require is plain tokio-postgres: Supabase-style URLs work.
        let t = flag(
            Some("postgresql://postgres.ref:pw@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require"),
            &none,
        );
        assert_eq!(t.ssl_mode, SslMode::Require);
    }

    #[test]
    fn env_password_is_withheld_from_a_host_only_the_config_file_named() {
        let env = env_of(&[("PGPASSWORD", "secret"), ("PGHOST", "db.internal")]);
        let t = from_file("postgres://ci@evil.example/app", false, &env);
        assert_eq!(t.config.get_password(), None);
        assert_eq!(t.host_from, HostFrom::ConfigFile);
        assert!(t.plan(false, TlsUse::Required).withheld);
        // Opted in: sent.
        let t = from_file("postgres://ci@evil.example/app", true, &env);
        assert_eq!(t.config.get_password(), Some(&b"secret"[..]));
        // The file names no host: PGHOST does, so the password may go there.
        let t = from_file("postgres:///app", false, &env);
        assert_eq!(t.host_from, HostFrom::Environment);
        assert_eq!(t.config.get_password(), Some(&b"secret"[..]));
        let t = from_file("dbname=app", false, &env);
        assert_eq!(t.config.get_password(), Some(&b"secret"[..]));
        // A hostaddr names a host too.
        let t = from_file("hostaddr=10.0.0.9 dbname=app", false, &env);
        assert_eq!(t.config.get_password(), None);
        // The file's own password goes with its URL.
        let t = from_file("postgres://ci:own@evil.example/app", false, &env);
        assert_eq!(t.config.get_password(), Some(&b"own"[..]));
    }

    #[test]
    fn password_plan_matrix() {
        use HostFrom as H;
        use PasswordFrom as P;
        use TlsUse as T;
        for from in [P::None, P::ConnectionString, P::Environment] {
            for host in [H::Flag, H::Environment, H::ConfigFile] {
                for trust in [false, true] {
                    for local in [false, true] {
                        for tls in [T::Disabled, T::Possible, T::Required] {
                            let p = password_plan(from, host, trust, local, tls);
                            let why = format!(
                                "{from:?} {host:?} trust={trust} local={local} {tls:?}: {p:?}"
                            );
                            // An environment password reaches a config-named host only by opt-in.
                            let env_to_config = from == P::Environment && host == H::ConfigFile;
                            assert_eq!(
                                p.send,
                                from != P::None && (!env_to_config || trust),
                                "{why}"
                            );
                            assert_eq!(p.withheld, env_to_config && !trust, "{why}");
                            // A password to a non-local host never travels unencrypted in the clear.
                            assert_eq!(
                                p.refuse_plain_auth,
                                p.send && !local && tls != T::Required,
                                "{why}"
                            );
                        }
                    }
                }
            }
        }
        // The cases the rules are for, spelled out.
        let p = password_plan(P::Environment, H::ConfigFile, false, false, T::Required);
        assert!(!p.send && p.withheld);
        let p = password_plan(P::Environment, H::Flag, false, false, T::Possible);
        assert!(p.send && p.refuse_plain_auth);
        let p = password_plan(P::ConnectionString, H::Flag, false, false, T::Disabled);
        assert!(p.send && p.refuse_plain_auth);
        let p = password_plan(P::ConnectionString, H::Flag, false, true, T::Disabled);
        assert!(p.send && !p.refuse_plain_auth);
        let p = password_plan(P::Environment, H::ConfigFile, true, false, T::Required);
        assert!(p.send && !p.refuse_plain_auth);
    }

    #[test]
    fn local_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_local_host(h), "{h}");
        }
        for h in [
            "db.example",
            "10.0.0.1",
            "192.168.1.1",
            "::2",
            "localhost.evil.example",
            "0.0.0.0",
        ] {
            assert!(!is_local_host(h), "{h}");
        }
    }

    fn guard(ssl: bool) -> Guard<()> {
        Guard::new(
            (),
            ssl,
            Some("db.example".into()),
            Arc::new(Mutex::new(None)),
        )
    }

    fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn guard_refuses_cleartext_and_md5_on_plain_connections_in_any_chunking() {
        let notice = msg(b'N', b"SNOTICE\0Mhello\0\0");
        for (code, refused) in [(3u32, true), (5, true), (10, false), (0, false)] {
            let mut body = code.to_be_bytes().to_vec();
            if code == 5 {
                body.extend_from_slice(b"salt");
            }
            if code == 10 {
                body.extend_from_slice(b"SCRAM-SHA-256\0\0");
            }
            let mut bytes = vec![b'N'];
            bytes.extend(notice.clone());
            bytes.extend(msg(b'R', &body));
            for chunk in [1, 2, 3, 7, bytes.len()] {
                let mut g = guard(true);
                let got = bytes.chunks(chunk).try_for_each(|c| g.inspect(c));
                assert_eq!(got.is_err(), refused, "code {code}, chunks of {chunk}");
            }
        }
        // After AuthenticationOk nothing is looked at.
        let mut g = guard(false);
        let mut bytes = msg(b'R', &0u32.to_be_bytes());
        bytes.extend(msg(b'R', &3u32.to_be_bytes()));
        assert!(g.inspect(&bytes).is_ok());
        // After the server said 'S', the rest is TLS.
        let mut g = guard(true);
        let mut bytes = vec![b'S'];
        bytes.extend(msg(b'R', &3u32.to_be_bytes()));
        assert!(g.inspect(&bytes).is_ok());
        // Without SSLRequest, the first byte is a message.
        let mut g = guard(false);
        let err = g.inspect(&msg(b'R', &3u32.to_be_bytes())).unwrap_err();
        assert!(err.contains("in cleartext to db.example"), "{err}");
    }
}
