//! TLS to PostgreSQL, as libpq's `sslmode` asks for it ([`SslMode`]): rustls over
//! tokio-postgres, checking the server's certificate against the roots of `sslrootcert`
//! (or the system's) in the `verify-*` modes, and only encrypting in the others.

use std::sync::Arc;

use anyhow::Context;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{PostgresUrl, RootCerts, SslMode};

/// What connects to `url`: TLS as its `sslmode` says (unused with `disable`).
pub fn connector(url: &PostgresUrl) -> anyhow::Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?;
    let chain = || -> anyhow::Result<Arc<WebPkiServerVerifier>> {
        let roots = Arc::new(roots(url.root_certs())?);
        WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .context("cannot set up the certificate checks")
    };
    let lenient = |chain| {
        Arc::new(Lenient {
            chain,
            provider: provider.clone(),
        })
    };
    let config = match url.ssl_mode() {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(lenient(None)),
        SslMode::VerifyCa => builder
            .dangerous()
            .with_custom_certificate_verifier(lenient(Some(chain()?))),
        SslMode::VerifyFull => builder.with_webpki_verifier(chain()?),
    };
    Ok(MakeRustlsConnect::new(config.with_no_client_auth()))
}

/// The trusted roots: a file's, or the system's.
fn roots(which: &RootCerts) -> anyhow::Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match which {
        RootCerts::File(path) => {
            let (added, _) = store
                .add_parsable_certificates(RootCerts::read_file(path).map_err(anyhow::Error::msg)?);
            if added == 0 {
                anyhow::bail!("sslrootcert {} holds no usable certificate", path.display());
            }
        }
        RootCerts::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                anyhow::bail!(
                    "this system has no trusted root certificates to check PostgreSQL's \
                     against: give sslrootcert=FILE in the URL"
                );
            }
        }
    }
    Ok(store)
}

/// The checks of the modes that take a certificate as it comes: `prefer` and `require`
/// (no `chain`: any certificate, as libpq does) and `verify-ca` (the chain must lead to a
/// trusted root; the name on it is not checked). The handshake's signatures are checked
/// against the certificate in every mode.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::store::testing::server_url;

    /// `url` with `parameters` added to its query.
    fn with(url: &str, parameters: &str) -> String {
        let joint = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joint}{parameters}")
    }

    /// Connects as the store does and asks the server whether this connection is
    /// encrypted; or why it could not connect.
    fn encrypted(url: &str) -> Result<bool, String> {
        let url = PostgresUrl::parse(url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut config = url.config();
            config.connect_timeout(std::time::Duration::from_secs(5));
            let tls = connector(&url).map_err(|e| format!("{e:#}"))?;
            let (client, connection) = config
                .connect(tls)
                .await
                .map_err(|e| super::super::postgres::flatten(e.into()).to_string())?;
            tokio::spawn(connection);
            let row = client
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(row.get::<_, bool>(0))
        })
    }

    /// The test server's own certificate file (Debian's self-signed "snakeoil" one).
    fn server_certificate() -> std::path::PathBuf {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (ssl, file) = runtime.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&server_url(), tokio_postgres::NoTls)
                    .await
                    .expect("the test server answers");
            tokio::spawn(connection);
            let show = |name: &'static str| {
                let client = &client;
                async move {
                    let row = client
                        .query_one(&format!("SHOW {name}"), &[])
                        .await
                        .unwrap();
                    row.get::<_, String>(0)
                }
            };
            (show("ssl").await, show("ssl_cert_file").await)
        });
        assert_eq!(
            ssl, "on",
            "the test server must offer TLS (ssl = on, as Debian's clusters do)"
        );
        file.into()
    }

    /// A name `certificate` is made out to: localhost or this machine's.
    fn name_on(certificate: &std::path::Path) -> String {
        let der = RootCerts::read_file(certificate).unwrap().remove(0);
        let leaf = webpki::EndEntityCert::try_from(&der).unwrap();
        let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let name = ["localhost", hostname.trim()]
            .into_iter()
            .find(|name| {
                ServerName::try_from(*name)
                    .is_ok_and(|name| leaf.verify_is_valid_for_subject_name(&name).is_ok())
            })
            .unwrap_or_else(|| {
                panic!(
                    "{} names neither localhost nor {hostname}",
                    certificate.display()
                )
            })
            .to_owned();
        name
    }

    #[test]
    fn connections_are_encrypted_unless_disabled_and_checked_in_the_verify_modes() {
        let server = server_url();
        let certificate = server_certificate();
        let root = format!("sslrootcert={}", certificate.display());
        assert_eq!(encrypted(&with(&server, "sslmode=disable")), Ok(false));
        // libpq's default, prefer, encrypts when the server offers TLS.
        assert_eq!(encrypted(&server), Ok(true));
        assert_eq!(encrypted(&with(&server, "sslmode=require")), Ok(true));
        // The server's certificate is its own root; it is made out to a name, not to the
        // address the tests connect to.
        assert_eq!(
            encrypted(&with(&server, &format!("sslmode=verify-ca&{root}"))),
            Ok(true)
        );
        // As in libpq, a root file given checks the chain.
        for weaker in ["sslmode=require&", "sslmode=prefer&", ""] {
            let url = with(&server, &format!("{weaker}{root}"));
            assert_eq!(
                PostgresUrl::parse(&url).map(|url| url.ssl_mode()),
                Ok(SslMode::VerifyCa)
            );
            assert_eq!(encrypted(&url), Ok(true));
        }
        let wrong_name = encrypted(&with(&server, &format!("sslmode=verify-full&{root}")));
        assert!(
            wrong_name
                .as_ref()
                .is_err_and(|e| e.contains("certificate") && e.contains("name")),
            "{wrong_name:?}"
        );
        // Made out to its name and reached at its address, it passes.
        let mut by_name = url::Url::parse(&server).unwrap();
        let address = by_name.host_str().unwrap().to_owned();
        by_name.set_host(Some(&name_on(&certificate))).unwrap();
        let by_name = with(
            by_name.as_str(),
            &format!("hostaddr={address}&sslmode=verify-full&{root}"),
        );
        assert_eq!(encrypted(&by_name), Ok(true), "{by_name}");
        // Checked against the system's roots instead, it fails too: they do not know a
        // self-signed certificate, or (where the system trusts it) it names no address.
        let unknown = encrypted(&with(&server, "sslmode=verify-full"));
        assert!(
            unknown.as_ref().is_err_and(|e| e.contains("certificate")),
            "{unknown:?}"
        );
    }
}
