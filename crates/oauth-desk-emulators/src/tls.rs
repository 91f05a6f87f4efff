//! Company networks, made by the tests: a private CA and server certificates from it (good,
//! expired, issued for another name), an HTTPS server that answers every request with one
//! JSON body, and a forward proxy (plain HTTP and `CONNECT` tunnels) that counts what passes.

use crate::Running;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

/// A private certificate authority.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key, PEM.
#[derive(Clone)]
pub struct ServerCert {
    pub cert_pem: String,
    pub key_pem: String,
}

/// How a server certificate is wrong, if at all.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    Expired,
    OtherName,
}

impl Pki {
    pub fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "OAuth Desk Test Corporate CA");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA certificate");
        Pki { ca }
    }

    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A certificate for 127.0.0.1 and localhost (or, with [`Flaw::OtherName`], for another host).
    pub fn server(&self, flaw: Flaw) -> ServerCert {
        let names = if flaw == Flaw::OtherName {
            vec!["idp.other.example".to_string()]
        } else {
            vec!["127.0.0.1".to_string(), "localhost".to_string()]
        };
        let mut params = CertificateParams::new(names).expect("server params");
        if flaw == Flaw::Expired {
            params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
            params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        }
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.ca).expect("server certificate");
        ServerCert { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

fn server_config(cert: &ServerCert) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>().expect("certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("key PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config"),
    )
}

/// Reads one HTTP/1 request head (and a body up to its Content-Length).
async fn read_request<S: AsyncReadExt + Unpin>(stream: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()))
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(head);
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An HTTPS server on 127.0.0.1 with `cert`, answering every request with `body` as JSON.
pub async fn serve_https(cert: &ServerCert, body: &'static str) -> std::io::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(cert));
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                if read_request(&mut tls).await.is_some() {
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(reply.as_bytes()).await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    Ok(Running::from_task(addr, "https", task))
}

/// A forward proxy: plain requests (`GET http://host/...`) are relayed, `CONNECT host:port`
/// opens a tunnel. It counts both, and remembers the targets it saw.
pub struct Proxy {
    pub running: Running,
    pub requests: Arc<AtomicU64>,
    pub seen: Arc<Mutex<Vec<String>>>,
}

pub async fn start_proxy() -> std::io::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let requests = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (count, log) = (requests.clone(), seen.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else { continue };
            let (count, log) = (count.clone(), log.clone());
            tokio::spawn(async move {
                let _ = relay(client, count, log).await;
            });
        }
    });
    Ok(Proxy { running: Running::from_task(addr, "http", task), requests, seen })
}

async fn relay(mut client: TcpStream, count: Arc<AtomicU64>, log: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    // Read the head byte by byte so nothing after it is consumed (a tunnel's TLS follows it).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or("").to_string();
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("").to_string());
    count.fetch_add(1, Ordering::SeqCst);
    log.lock().expect("proxy log").push(format!("{method} {target}"));
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(&target).await?;
        client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // `GET http://host:port/path HTTP/1.1`: forward with the path only, and stream back.
    let url = url::Url::parse(&target).map_err(|e| std::io::Error::other(e.to_string()))?;
    let host = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port_or_known_default().unwrap_or(80));
    let path = &target[target.find(url.path()).unwrap_or(0)..];
    let mut upstream = TcpStream::connect(&host).await?;
    let rest = text.split_once("\r\n").map(|(_, r)| r).unwrap_or("");
    upstream.write_all(format!("{method} {path} HTTP/1.1\r\n{rest}").as_bytes()).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
