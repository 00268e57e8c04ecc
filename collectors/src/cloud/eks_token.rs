//! The EKS bearer token: a SigV4-presigned STS `GetCallerIdentity` URL carrying the cluster name
//! in the signed `x-k8s-aws-id` header, as `k8s-aws-v1.` + base64url (no padding) of the URL —
//! what `aws eks get-token` and aws-iam-authenticator produce. No kubectl or aws CLI needed.
//!
//! [`verify`] mirrors the server-side checks of aws-iam-authenticator (`pkg/token/token.go`)
//! short of calling STS, so generated tokens can be checked offline.

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::time::{Duration, UNIX_EPOCH};

/// Token prefix.
pub const PREFIX: &str = "k8s-aws-v1.";
/// Seconds the presigned URL says it is valid (the server accepts 15 minutes regardless).
pub const EXPIRES: u32 = 60;
/// How long the server accepts a token after `X-Amz-Date`.
pub const SERVER_VALIDITY_SECS: i64 = 15 * 60;

/// AWS credentials (after any AssumeRole).
#[derive(Clone)]
pub struct Credentials {
    /// Access key ID.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl Credentials {
    /// The signing identity `aws-sigv4` takes (EKS tokens, EC2 requests).
    pub fn identity(&self) -> Identity {
        aws_credential_types::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "kspm",
        )
        .into()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or the session token.
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// RFC 3986 percent-encoding as SigV4 wants it (unreserved characters kept, `%XX` upper case).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The presigned STS URL for `cluster` in `region` at `unix` seconds, signed by AWS's own SigV4
/// signer (`aws-sigv4`, as the SDKs sign), its query parameters in the order botocore prints them
/// (sorted, the signature last).
pub fn presigned_url(
    creds: &Credentials,
    region: &str,
    cluster: &str,
    unix: i64,
) -> Result<String, String> {
    // China regions live under their own DNS suffix.
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let host = format!("sts.{region}.{suffix}");
    let base = [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")];
    let url = format!(
        "https://{host}/?{}",
        base.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let identity = creds.identity();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(u64::from(EXPIRES)));
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot presign the EKS token: {e}"))?
        .into();
    let signable = SignableRequest::new(
        "GET",
        &url,
        [("x-k8s-aws-id", cluster)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| format!("cannot presign the EKS token: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("cannot presign the EKS token: {e}"))?
        .into_parts();
    let mut query: Vec<(String, String)> = base
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut signature = None;
    for (k, v) in instructions.params() {
        if *k == "X-Amz-Signature" {
            signature = Some(v.to_string());
        } else {
            query.push((k.to_string(), v.to_string()));
        }
    }
    let signature = signature.ok_or("the signer returned no signature")?;
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    Ok(format!(
        "https://{host}/?{query}&X-Amz-Signature={signature}"
    ))
}

/// The bearer token for `cluster` (valid for 15 minutes after `unix`; refresh after ~14).
pub fn token(
    creds: &Credentials,
    region: &str,
    cluster: &str,
    unix: i64,
) -> Result<String, String> {
    Ok(format!(
        "{PREFIX}{}",
        URL_SAFE_NO_PAD.encode(presigned_url(creds, region, cluster, unix)?)
    ))
}

/// Checks a token the way aws-iam-authenticator does before it calls STS; returns the URL.
pub fn verify(token: &str, now_unix: i64) -> Result<String, String> {
    if token.len() > 4096 {
        return Err("token longer than 4096 bytes".into());
    }
    let b64 = token
        .strip_prefix(PREFIX)
        .ok_or("token does not start with k8s-aws-v1.")?;
    let raw = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| format!("not unpadded base64url: {e}"))?;
    let url = String::from_utf8(raw).map_err(|_| "URL is not UTF-8")?;
    let rest = url.strip_prefix("https://").ok_or("scheme is not https")?;
    let (host, path_query) = rest.split_once('/').ok_or("no path")?;
    let valid_host = host == "sts.amazonaws.com"
        || (host.starts_with("sts.")
            && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")));
    if !valid_host {
        return Err(format!("host {host} is not an STS endpoint"));
    }
    let query = path_query.strip_prefix('?').ok_or("path is not /")?;
    const ALLOWED: &[&str] = &[
        "Action",
        "Version",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
    ];
    let mut seen = std::collections::BTreeMap::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !ALLOWED.contains(&k) {
            return Err(format!("query parameter {k} is not allowed"));
        }
        if seen.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("query parameter {k} appears twice"));
        }
    }
    let get = |k: &str| seen.get(k).map(String::as_str).unwrap_or("");
    if get("Action") != "GetCallerIdentity" {
        return Err("Action is not GetCallerIdentity".into());
    }
    let signed = get("X-Amz-SignedHeaders").replace("%3B", ";");
    if !signed.split(';').any(|h| h == "x-k8s-aws-id") {
        return Err("x-k8s-aws-id is not a signed header".into());
    }
    let expires: i64 = get("X-Amz-Expires")
        .parse()
        .map_err(|_| "X-Amz-Expires is not a number")?;
    if !(0..=900).contains(&expires) {
        return Err("X-Amz-Expires outside 0..900".into());
    }
    let date = get("X-Amz-Date");
    let signed_at = parse_amz_date(date).ok_or("X-Amz-Date is malformed")?;
    if now_unix > signed_at + SERVER_VALIDITY_SECS {
        return Err("token expired (X-Amz-Date + 15 min has passed)".into());
    }
    Ok(url)
}

fn parse_amz_date(s: &str) -> Option<i64> {
    if s.len() != 16 || &s[8..9] != "T" || !s.ends_with('Z') {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (h, mi, sec) = (n(9, 11)?, n(11, 13)?, n(13, 15)?);
    Some(kspm_engine::civil::to_days(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

    fn example() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    /// The golden vector computed with botocore's presigner (../shared/reference/eks-token-golden.txt).
    #[test]
    fn matches_botocore_golden_vector() {
        let url = presigned_url(&example(), "us-east-1", "my-cluster", T0).expect("signed");
        assert_eq!(url, "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=57f75c8170096a735d3435d6186cb06d3da57e67fff800aeb026846b0f035eb8");
        assert_eq!(token(&example(), "us-east-1", "my-cluster", T0).expect("signed"), "k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjQwMTAxJTJGdXMtZWFzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNDAxMDFUMDAwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9NTdmNzVjODE3MDA5NmE3MzVkMzQzNWQ2MTg2Y2IwNmQzZGE1N2U2N2ZmZjgwMGFlYjAyNjg0NmIwZjAzNWViOA");
    }

    #[test]
    fn session_tokens_are_signed_query_parameters() {
        let mut c = example();
        c.session_token = Some("FwoGZXIvYXdzE+/session==".into());
        let url = presigned_url(&c, "eu-west-1", "prod", T0).expect("signed");
        assert!(url.contains(
            "&X-Amz-Security-Token=FwoGZXIvYXdzE%2B%2Fsession%3D%3D&X-Amz-SignedHeaders="
        ));
        assert!(url.starts_with("https://sts.eu-west-1.amazonaws.com/?"));
        let plain = presigned_url(&example(), "eu-west-1", "prod", T0).expect("signed");
        assert_ne!(
            url.rsplit_once('=').map(|x| x.1),
            plain.rsplit_once('=').map(|x| x.1)
        );
        assert!(verify(
            &token(&c, "eu-west-1", "prod", T0).expect("signed"),
            T0 + 60
        )
        .is_ok());
        assert!(!format!("{c:?}").contains("session") && !format!("{c:?}").contains("wJalr"));
    }

    #[test]
    fn the_server_checks_accept_ours_and_refuse_tampered_tokens() {
        let good = token(&example(), "us-east-1", "my-cluster", T0).expect("signed");
        assert!(verify(&good, T0 + 14 * 60).is_ok());
        assert!(verify(&good, T0 + 16 * 60)
            .expect_err("must be refused")
            .contains("expired"));
        let url = presigned_url(&example(), "us-east-1", "my-cluster", T0).expect("signed");
        let wrap = |u: &str| format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(u));
        let cases = [
            (url.replace("host%3Bx-k8s-aws-id", "host"), "signed header"),
            (
                url.replace("sts.us-east-1.amazonaws.com", "sts.evil.example"),
                "STS endpoint",
            ),
            (format!("{url}&X-Amz-Foo=1"), "not allowed"),
            (format!("{url}&Action=GetCallerIdentity"), "twice"),
            (url.replace("GetCallerIdentity", "AssumeRole"), "Action"),
            (
                url.replace("X-Amz-Expires=60", "X-Amz-Expires=901"),
                "0..900",
            ),
            (url.replace("https://", "http://"), "https"),
        ];
        for (u, why) in cases {
            let e = verify(&wrap(&u), T0).expect_err(why);
            assert!(e.contains(why), "{why}: {e}");
        }
        // Padding is refused (the server decodes unpadded base64url only).
        let cn = presigned_url(&example(), "cn-north-1", "c", T0).expect("signed");
        assert!(cn.starts_with("https://sts.cn-north-1.amazonaws.com.cn/?"));
        assert!(verify(&wrap(&cn), T0).is_ok());
        assert!(verify(&format!("{good}="), T0)
            .expect_err("must be refused")
            .contains("base64"));
        assert!(verify("k8s-aws-v2.abc", T0).is_err());
        assert!(verify(&"k".repeat(5000), T0).is_err());
    }
}
