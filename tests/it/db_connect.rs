//! What a `--database-url` (or a config file's `database-url`) sends where, against fake
//! PostgreSQL servers on 127.0.0.1 that speak just enough of the protocol: they answer
//! `SSLRequest` (`N`, or `S` and a rustls handshake with a certificate made here by
//! rcgen), read the start-up message, and then either ask for a cleartext password
//! (recording whether one arrives) or say `AuthenticationOk` and stall.
//!
//! No real database needed; `tests/live_db.rs` covers that side.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pgtap_scan::universe::{load_database, DatabaseOptions, UrlSource};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::util;

/// What the fake server does after the start-up message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Then {
    /// `AuthenticationCleartextPassword`, read the answer, then an error.
    AskCleartext,
    /// `AuthenticationMD5Password`, the same.
    AskMd5,
    /// `AuthenticationOk` and `ReadyForQuery`, then silence.
    Stall,
}

/// What the fake server saw.
#[derive(Debug, Default)]
struct Seen {
    connected: bool,
    ssl_request: bool,
    tls: bool,
    /// The `PasswordMessage`, if one came.
    password: Option<String>,
    /// The server's TLS handshake failed (the client rejected the certificate).
    tls_failed: bool,
}

struct Fake {
    addr: SocketAddr,
    handle: JoinHandle<Seen>,
}

impl Fake {
    fn start(then: Then, tls: Option<Arc<rustls::ServerConfig>>) -> Fake {
        Fake::start_on(IpAddr::from([127, 0, 0, 1]), then, tls)
    }

    fn start_on(ip: IpAddr, then: Then, tls: Option<Arc<rustls::ServerConfig>>) -> Fake {
        let listener = TcpListener::bind((ip, 0)).expect("bind the fake server");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let mut seen = Seen::default();
            let deadline = Instant::now() + Duration::from_secs(20);
            let stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(_) => return seen,
                }
            };
            seen.connected = true;
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(15)))
                .unwrap();
            serve(stream, then, tls, &mut seen);
            seen
        });
        Fake { addr, handle }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn seen(self) -> Seen {
        self.handle.join().expect("the fake server thread")
    }
}

trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

fn read_exact(s: &mut dyn Io, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// An untyped message (start-up, SSLRequest): length, body.
fn read_untyped(s: &mut dyn Io) -> Option<Vec<u8>> {
    let len = u32::from_be_bytes(read_exact(s, 4)?.try_into().ok()?) as usize;
    read_exact(s, len.checked_sub(4)?)
}

fn read_typed(s: &mut dyn Io) -> Option<(u8, Vec<u8>)> {
    let tag = read_exact(s, 1)?[0];
    Some((tag, read_untyped(s)?))
}

fn write_msg(s: &mut dyn Io, tag: u8, body: &[u8]) {
    let mut m = vec![tag];
    m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    let _ = s.write_all(&m);
    let _ = s.flush();
}

fn serve(mut tcp: TcpStream, then: Then, tls: Option<Arc<rustls::ServerConfig>>, seen: &mut Seen) {
    let Some(first) = read_untyped(&mut tcp) else {
        return;
    };
    let mut stream: Box<dyn Io> = if first.get(..4) == Some(&80877103u32.to_be_bytes()[..]) {
        seen.ssl_request = true;
        match tls {
            Some(cfg) => {
                let _ = tcp.write_all(b"S");
                let conn = rustls::ServerConnection::new(cfg).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                while tls.conn.is_handshaking() {
                    if tls.conn.complete_io(&mut tls.sock).is_err() {
                        seen.tls_failed = true;
                        return;
                    }
                }
                seen.tls = true;
                Box::new(tls)
            }
            None => {
                let _ = tcp.write_all(b"N");
                Box::new(tcp)
            }
        }
    } else {
        Box::new(tcp)
    };
    if seen.ssl_request && read_untyped(&mut *stream).is_none() {
        return; // the start-up message
    }
    match then {
        Then::AskCleartext | Then::AskMd5 => {
            if then == Then::AskCleartext {
                write_msg(&mut *stream, b'R', &3u32.to_be_bytes());
            } else {
                let mut body = 5u32.to_be_bytes().to_vec();
                body.extend_from_slice(b"salt");
                write_msg(&mut *stream, b'R', &body);
            }
            if let Some((b'p', body)) = read_typed(&mut *stream) {
                let text = String::from_utf8_lossy(&body);
                seen.password = Some(text.trim_end_matches('\0').to_string());
            }
            write_msg(
                &mut *stream,
                b'E',
                b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed\0\0",
            );
        }
        Then::Stall => {
            write_msg(&mut *stream, b'R', &0u32.to_be_bytes());
            write_msg(&mut *stream, b'Z', b"I");
            // Read whatever comes and answer nothing, until the client goes away.
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

/// A CA and a server certificate it signed for `names`.
struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn make_pki(names: &[&str]) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "pgtap-scan test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// The PG* variables of whoever runs the tests must not leak into these.
const PG_VARS: &[&str] = &[
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGCONNECT_TIMEOUT",
    "PGTAP_SCAN_TRUST_CONFIG_DATABASE",
];

fn clean(cmd: &mut util::TestCommand) -> &mut util::TestCommand {
    for v in PG_VARS {
        cmd.env_remove(v);
    }
    cmd
}

fn with_config(dir: &util::Dir, url: &str) {
    dir.create(".pgtap-scan.toml", format!("database-url = {url:?}\n"))
        .create("t.sql", "SELECT has_table('t');\n");
}

pgtest!(
    env_password_is_not_sent_to_a_host_only_the_config_file_names,
    |dir, cmd| {
        let fake = Fake::start(Then::AskCleartext, None);
        with_config(dir, &format!("postgres://ci@127.0.0.1:{}/app", fake.port()));
        let run = clean(&mut cmd).env("PGPASSWORD", "secret").expect_code(2);
        let seen = fake.seen();
        assert!(seen.connected, "{run}");
        assert_eq!(
            seen.password, None,
            "the password reached the server\n{run}"
        );
        run.assert_stderr_contains("PGPASSWORD is not sent to 127.0.0.1")
            .assert_stderr_contains(".pgtap-scan.toml: database-url: cannot connect to")
            .assert_stderr_contains(".pgtap-scan.toml")
            .assert_stderr_contains("--trust-config-database-url");
    }
);

pgtest!(
    env_password_goes_to_the_config_file_host_after_opting_in,
    |dir, cmd| {
        for how in ["flag", "env"] {
            let fake = Fake::start(Then::AskCleartext, None);
            with_config(dir, &format!("postgres://ci@127.0.0.1:{}/app", fake.port()));
            let mut cmd = dir.command();
            clean(&mut cmd).env("PGPASSWORD", "secret");
            if how == "flag" {
                cmd.arg("--trust-config-database-url");
            } else {
                cmd.env("PGTAP_SCAN_TRUST_CONFIG_DATABASE", "1");
            }
            let run = cmd.expect_code(2);
            assert_eq!(
                fake.seen().password.as_deref(),
                Some("secret"),
                "{how}\n{run}"
            );
            run.assert_stderr_contains("password authentication failed");
        }
    }
);

pgtest!(env_password_goes_to_a_host_the_flag_names, |dir, cmd| {
    let fake = Fake::start(Then::AskCleartext, None);
    dir.create("t.sql", "SELECT has_table('t');\n");
    let url = format!("postgres://ci@127.0.0.1:{}/app", fake.port());
    clean(&mut cmd)
        .env("PGPASSWORD", "secret")
        .args(["--database-url", &url])
        .expect_code(2);
    assert_eq!(fake.seen().password.as_deref(), Some("secret"));
});

pgtest!(the_config_file_cannot_opt_itself_in, |dir, cmd| {
    dir.create(
        ".pgtap-scan.toml",
        "database-url = \"postgres://ci@127.0.0.1:9/app\"\ntrust-config-database-url = true\n",
    )
    .create("t.sql", "SELECT 1;\n");
    clean(&mut cmd)
        .env("PGPASSWORD", "secret")
        .expect_code(2)
        .assert_stderr_contains("unknown field `trust-config-database-url`");
});

pgtest!(
    a_server_that_stalls_after_start_up_ends_the_run_within_the_timeout,
    |dir, cmd| {
        let fake = Fake::start(Then::Stall, None);
        dir.create("t.sql", "SELECT has_table('t');\n");
        let url = format!("postgres://ci@127.0.0.1:{}/app", fake.port());
        let started = Instant::now();
        let run = clean(&mut cmd)
            .args(["--database-url", &url, "--database-timeout", "2"])
            .expect_code(2);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(8), "took {took:?}\n{run}");
        run.assert_stderr_contains("no answer within 2 s");
        drop(fake);
    }
);

/// Library-level: `load_database` with a URL (as `--database-url` gives it).
fn load(url: String, timeout_s: u64) -> Result<(), String> {
    let opts = DatabaseOptions {
        url: Some(url),
        connect_timeout: Duration::from_secs(timeout_s),
        query_timeout: Duration::from_secs(timeout_s),
        url_source: UrlSource::Flag,
        ..DatabaseOptions::default()
    };
    load_database(&opts).map(|_| ()).map_err(|e| e.to_string())
}

fn write_ca(pki: &Pki) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(pki.ca_pem.as_bytes()).unwrap();
    f
}

#[test]
fn sslmode_require_connects_over_tls() {
    let pki = make_pki(&["db.example"]);
    let fake = Fake::start(Then::AskCleartext, Some(pki.server.clone()));
    let url = format!(
        "postgres://ci:pw@127.0.0.1:{}/app?sslmode=require",
        fake.port()
    );
    let err = load(url, 5).unwrap_err();
    let seen = fake.seen();
    assert!(seen.tls, "{seen:?} {err}");
    assert_eq!(seen.password.as_deref(), Some("pw"), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
}

#[test]
fn sslmode_require_fails_when_the_server_has_no_tls() {
    let fake = Fake::start(Then::AskCleartext, None);
    let url = format!(
        "postgres://ci:pw@127.0.0.1:{}/app?sslmode=require",
        fake.port()
    );
    let err = load(url, 5).unwrap_err();
    let seen = fake.seen();
    assert_eq!(seen.password, None);
    assert!(err.contains("server does not support TLS"), "{err}");
}

#[test]
fn verify_full_checks_the_chain_and_the_name() {
    let pki = make_pki(&["localhost"]);
    let ca = write_ca(&pki);
    let kv = |port: u16, host: &str| {
        format!(
            "host={host} hostaddr=127.0.0.1 port={port} user=ci password=pw dbname=app \
             sslmode=verify-full sslrootcert='{}'",
            ca.path().display()
        )
    };
    // The right name: TLS, then the password inside it.
    let fake = Fake::start(Then::AskCleartext, Some(pki.server.clone()));
    let err = load(kv(fake.port(), "localhost"), 5).unwrap_err();
    let seen = fake.seen();
    assert!(
        seen.tls && seen.password.as_deref() == Some("pw"),
        "{seen:?} {err}"
    );
    // A name the certificate does not carry: no TLS session, no password.
    let fake = Fake::start(Then::AskCleartext, Some(pki.server.clone()));
    let err = load(kv(fake.port(), "db.example"), 5).unwrap_err();
    let seen = fake.seen();
    assert!(!seen.tls && seen.password.is_none(), "{seen:?} {err}");
    assert!(err.contains("certificate"), "{err}");
    // Another CA: refused too.
    let other = make_pki(&["localhost"]);
    let fake = Fake::start(Then::AskCleartext, Some(other.server.clone()));
    let err = load(kv(fake.port(), "localhost"), 5).unwrap_err();
    let seen = fake.seen();
    assert!(!seen.tls && seen.password.is_none(), "{seen:?} {err}");
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_name() {
    let pki = make_pki(&["db.example"]);
    let ca = write_ca(&pki);
    let url = |port: u16, mode: &str| {
        format!(
            "postgres://ci:pw@127.0.0.1:{port}/app?sslmode={mode}&sslrootcert={}",
            ca.path().display()
        )
    };
    let fake = Fake::start(Then::AskCleartext, Some(pki.server.clone()));
    let err = load(url(fake.port(), "verify-ca"), 5).unwrap_err();
    let seen = fake.seen();
    assert!(
        seen.tls && seen.password.as_deref() == Some("pw"),
        "{seen:?} {err}"
    );
    // Another CA's certificate: refused, under verify-ca and under require with a root
    // certificate (libpq's behaviour).
    for mode in ["verify-ca", "require"] {
        let other = make_pki(&["db.example"]);
        let fake = Fake::start(Then::AskCleartext, Some(other.server.clone()));
        let err = load(url(fake.port(), mode), 5).unwrap_err();
        let seen = fake.seen();
        assert!(
            !seen.tls && seen.password.is_none(),
            "{mode}: {seen:?} {err}"
        );
    }
}

/// An address of this machine that is not loopback (the one a packet to a TEST-NET
/// address would leave from), if there is one: a "non-local" host for the rules.
fn non_loopback_ip() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

pgtest!(
    no_cleartext_or_md5_password_over_a_plain_connection_to_a_non_local_host,
    |dir, cmd| {
        let Some(ip) = non_loopback_ip() else {
            eprintln!("skipped: this machine has no non-loopback address");
            return;
        };
        dir.create("t.sql", "SELECT has_table('t');\n");
        for (then, how) in [
            (Then::AskCleartext, "in cleartext"),
            (Then::AskMd5, "as md5"),
        ] {
            for mode in ["prefer", "disable"] {
                let fake = Fake::start_on(ip, then, None);
                let url = format!("postgres://ci:pw@{ip}:{}/app?sslmode={mode}", fake.port());
                let run = clean(&mut dir.command())
                    .args(["--database-url", &url])
                    .expect_code(2);
                let seen = fake.seen();
                assert!(seen.connected, "{run}");
                assert_eq!(seen.password, None, "{mode}: the password was sent\n{run}");
                run.assert_stderr_contains(&format!("refused to send the password {how} to {ip}"));
            }
        }
        // Over TLS it goes.
        let pki = make_pki(&["db.example"]);
        let fake = Fake::start_on(ip, Then::AskCleartext, Some(pki.server.clone()));
        let url = format!("postgres://ci:pw@{ip}:{}/app", fake.port());
        let run = clean(&mut cmd)
            .args(["--database-url", &url])
            .expect_code(2);
        let seen = fake.seen();
        assert!(
            seen.tls && seen.password.as_deref() == Some("pw"),
            "{seen:?}\n{run}"
        );
    }
);
