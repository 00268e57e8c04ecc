//! RS256 JSON Web Tokens signed with an RSA key from a PEM file (aws-lc-rs): the assertion a
//! Google service-account key is exchanged with (RFC 7523) and the client assertion of an Entra
//! ID certificate credential. Errors never carry the key.

use base64::Engine;
use serde_json::Value;

/// The DER of every PEM block of this label (`CERTIFICATE`, `PRIVATE KEY`, …).
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let (begin, end) = (
        format!("-----BEGIN {label}-----"),
        format!("-----END {label}-----"),
    );
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let Some(stop) = body.find(&end) else {
            break;
        };
        let b64: String = body[..stop].split_whitespace().collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push(der);
        }
        rest = &body[stop + end.len()..];
    }
    out
}

/// The first unencrypted RSA private key of a PEM text: PKCS#8 (`PRIVATE KEY`) or PKCS#1
/// (`RSA PRIVATE KEY`).
pub fn rsa_key(pem: &str) -> Option<aws_lc_rs::rsa::KeyPair> {
    pem_blocks(pem, "PRIVATE KEY")
        .first()
        .and_then(|der| aws_lc_rs::rsa::KeyPair::from_pkcs8(der).ok())
        .or_else(|| {
            pem_blocks(pem, "RSA PRIVATE KEY")
                .first()
                .and_then(|der| aws_lc_rs::rsa::KeyPair::from_der(der).ok())
        })
}

/// Seconds since the Unix epoch.
pub fn now() -> Result<u64, String> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| "the clock is before 1970".to_string())
}

/// A fresh random ID (`jti`), 32 hex digits.
pub fn random_id() -> Result<String, String> {
    use aws_lc_rs::rand::SecureRandom;
    let mut id = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut id)
        .map_err(|_| "no randomness for the token".to_string())?;
    Ok(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// `header.claims.signature`, RS256 (`alg` is set in the header here).
pub fn sign_rs256(
    key: &aws_lc_rs::rsa::KeyPair,
    mut header: Value,
    claims: &Value,
) -> Result<String, String> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    header["alg"] = Value::from("RS256");
    header["typ"] = Value::from("JWT");
    let signed = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "the key cannot sign".to_string())?;
    Ok(format!("{signed}.{}", b64(&signature)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signed token verifies with the key's public half, and its parts say what was signed;
    /// a PEM text without a key gives none.
    #[test]
    fn tokens_verify_with_the_public_key() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("key");
        let der = key.as_der().expect("pkcs8");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        );
        let parsed = rsa_key(&pem).expect("parsed");
        let jwt = sign_rs256(
            &parsed,
            serde_json::json!({"kid": "k1"}),
            &serde_json::json!({"iss": "a"}),
        )
        .expect("signed");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: Value =
            serde_json::from_slice(&b64.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "k1");
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            key.public_key().as_ref(),
        )
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &b64.decode(parts[2]).expect("b64"),
        )
        .expect("verifies");
        assert!(rsa_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_none());
    }
}
