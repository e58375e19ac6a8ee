//! Checks a certificate and key pair before install, because a bad pair only shows up as a
//! failed healthcheck after the fact (facts sheet, pain point 4: HTTPS installs failing on
//! certificate / CNAME problems).
//!
//! "Belong together" is checked without cryptography: a private key's DER encoding carries
//! its public half (the RSA modulus; the EC public point, which OpenSSL always writes), so
//! the certificate's public key must appear in it. Key types that do not carry their public
//! half (e.g. Ed25519 PKCS#8 v1) cannot be matched this way and are accepted.

use x509_parser::pem::Pem;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

/// One finding about the pair; the caller locates it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: &'static str,
    pub is_error: bool,
    /// Whether it is about the key file (else the certificate file).
    pub about_key: bool,
    pub message: String,
    pub label: &'static str,
    pub help: String,
}

/// Warn this long before a certificate expires.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

fn error(
    code: &'static str,
    about_key: bool,
    message: String,
    label: &'static str,
    help: &str,
) -> Problem {
    Problem {
        code,
        is_error: true,
        about_key,
        message,
        label,
        help: help.into(),
    }
}

fn warning(code: &'static str, message: String, label: &'static str, help: String) -> Problem {
    Problem {
        code,
        is_error: false,
        about_key: false,
        message,
        label,
        help,
    }
}

/// Every problem with a certificate PEM, key PEM and expected DNS name, at time `now`.
/// Messages never quote key material.
pub fn check_pair(cert_pem: &[u8], key_pem: &[u8], cname: Option<&str>, now: i64) -> Vec<Problem> {
    let mut out = Vec::new();
    let cert_block = match first_pem(cert_pem) {
        Some(p) if p.label == "CERTIFICATE" => Some(p),
        Some(p) => {
            out.push(error(
                "amlc::rule::certificate-invalid",
                false,
                format!("certFile holds a PEM `{}` block, not a CERTIFICATE", p.label),
                "not a certificate",
                "certFile must be the PEM certificate (-----BEGIN CERTIFICATE-----); keyFile the private key",
            ));
            None
        }
        None => {
            out.push(error(
                "amlc::rule::certificate-invalid",
                false,
                "certFile is not a PEM file".into(),
                "not PEM",
                "give the certificate in PEM form (-----BEGIN CERTIFICATE-----)",
            ));
            None
        }
    };
    let key_der = match first_pem(key_pem) {
        Some(p) if p.label == "ENCRYPTED PRIVATE KEY" => {
            out.push(error(
                "amlc::rule::key-invalid",
                true,
                "keyFile is encrypted; azureml-fe needs an unencrypted key".into(),
                "encrypted key",
                "decrypt it first, e.g. `openssl pkey -in key.pem -out key-plain.pem`",
            ));
            None
        }
        Some(p) if p.label.ends_with("PRIVATE KEY") => Some(p.contents),
        _ => {
            out.push(error(
                "amlc::rule::key-invalid",
                true,
                "keyFile is not a PEM private key".into(),
                "not a PEM private key",
                "give the private key in PEM form (-----BEGIN PRIVATE KEY-----)",
            ));
            None
        }
    };
    let Some(cert_block) = cert_block else {
        return out;
    };
    let cert = match cert_block.parse_x509() {
        Ok(c) => c,
        Err(_) => {
            out.push(error(
                "amlc::rule::certificate-invalid",
                false,
                "certFile's certificate cannot be parsed as X.509".into(),
                "unreadable certificate",
                "re-export the certificate as PEM",
            ));
            return out;
        }
    };
    if let Some(key_der) = key_der
        && let Some(public) = public_bytes(&cert)
        && !contains(&key_der, &public)
    {
        out.push(error(
            "amlc::rule::key-mismatch",
            true,
            "keyFile is not the private key of certFile's certificate".into(),
            "key does not match the certificate",
            "pair the certificate with the key it was issued for (compare `openssl x509 -noout -pubkey -in cert.pem` and `openssl pkey -pubout -in key.pem`)",
        ));
    }
    let not_after = cert.validity().not_after.timestamp();
    if not_after < now {
        out.push(warning(
            "amlc::rule::certificate-expired",
            format!("the certificate expired on {}", cert.validity().not_after),
            "expired",
            "renew the certificate before installing; clients will refuse it".into(),
        ));
    } else if not_after - now < EXPIRY_WARNING_DAYS * 86_400 {
        out.push(warning(
            "amlc::rule::certificate-expiring",
            format!(
                "the certificate expires on {}, within {EXPIRY_WARNING_DAYS} days",
                cert.validity().not_after
            ),
            "expires soon",
            "renew the certificate soon".into(),
        ));
    }
    if let Some(cname) = cname {
        let names = dns_names(&cert);
        if !names.iter().any(|n| covers(n, cname)) {
            out.push(warning(
                "amlc::rule::certificate-name",
                format!("the certificate does not cover `{cname}`"),
                "wrong name",
                if names.is_empty() {
                    "the certificate names no DNS host; issue one for the cname".into()
                } else {
                    format!(
                        "it covers: {}; issue one for the cname or change inference.ssl.cname",
                        names.join(", ")
                    )
                },
            ));
        }
    }
    out
}

fn first_pem(bytes: &[u8]) -> Option<Pem> {
    Pem::iter_from_buffer(bytes).next().and_then(Result::ok)
}

/// The public key bytes a matching private key's DER must contain.
fn public_bytes(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    match cert.public_key().parsed().ok()? {
        PublicKey::RSA(rsa) => {
            let m = rsa.modulus;
            let start = m.iter().position(|b| *b != 0).unwrap_or(m.len());
            Some(m[start..].to_vec())
        }
        PublicKey::EC(point) => Some(point.data().to_vec()),
        _ => None,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// DNS names from the subject alternative names, else the common name (legacy).
fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                names.push(d.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(s) = cn.as_str() {
                names.push(s.to_ascii_lowercase());
            }
        }
    }
    names
}

/// Whether a certificate name covers a host: exact, or a `*.` wildcard for one label.
fn covers(name: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => name == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/");

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}{name}")).unwrap()
    }

    /// 2026-01-01: the fixtures' valid certificate runs to 2125, the expired one ended in 2001.
    const NOW: i64 = 1_767_225_600;

    fn codes(cert: &str, key: &str, cname: &str) -> Vec<&'static str> {
        check_pair(&read(cert), &read(key), Some(cname), NOW)
            .iter()
            .map(|p| p.code)
            .collect()
    }

    #[test]
    fn a_matching_pair_for_its_name_is_clean() {
        assert!(codes("cert.pem", "key.pem", "ml.contoso.com").is_empty());
        assert!(codes("ec-cert.pem", "ec-key.pem", "ml.contoso.com").is_empty());
    }

    #[test]
    fn a_key_from_another_pair_is_a_mismatch() {
        assert_eq!(
            codes("cert.pem", "other-key.pem", "ml.contoso.com"),
            ["amlc::rule::key-mismatch"]
        );
        assert_eq!(
            codes("ec-cert.pem", "key.pem", "ml.contoso.com"),
            ["amlc::rule::key-mismatch"]
        );
    }

    #[test]
    fn expiry_and_name_are_warnings() {
        assert_eq!(
            codes("expired-cert.pem", "expired-key.pem", "ml.contoso.com"),
            ["amlc::rule::certificate-expired"]
        );
        assert_eq!(
            codes("cert.pem", "key.pem", "other.example.com"),
            ["amlc::rule::certificate-name"]
        );
        // A day before the certificate's own end.
        let pem = read("cert.pem");
        let block = first_pem(&pem).unwrap();
        let end = block.parse_x509().unwrap().validity().not_after.timestamp();
        let near = check_pair(&pem, &read("key.pem"), None, end - 86_400);
        assert_eq!(
            near.iter().map(|p| p.code).collect::<Vec<_>>(),
            ["amlc::rule::certificate-expiring"]
        );
    }

    #[test]
    fn swapped_or_garbage_files_are_errors() {
        let c = codes("key.pem", "cert.pem", "ml.contoso.com");
        assert!(
            c.contains(&"amlc::rule::certificate-invalid")
                && c.contains(&"amlc::rule::key-invalid")
        );
        let p = check_pair(b"hello", b"world", None, NOW);
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn messages_never_quote_the_key() {
        let key = String::from_utf8(read("other-key.pem")).unwrap();
        let body: String = key.lines().nth(1).unwrap().chars().take(20).collect();
        for p in check_pair(&read("cert.pem"), key.as_bytes(), Some("x.y"), NOW) {
            assert!(!p.message.contains(&body) && !p.help.contains(&body));
        }
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.contoso.com", "ml.contoso.com"));
        assert!(!covers("*.contoso.com", "a.ml.contoso.com"));
        assert!(!covers("*.contoso.com", "contoso.com"));
    }
}
