//! What a credential looks like: by its name (`DB_PASSWORD`, `api-key`, `*_KEY`), by its value
//! (well-known token formats, private keys, kubeconfigs), and what may stand in its place.
//!
//! One place for the question, asked by the credential checks (environment, command line,
//! ConfigMaps, annotations) and by `kspm collect --redact`, which must leave every answer here
//! unchanged so that a redacted snapshot gives the same findings.

use std::borrow::Cow;

/// What reports show instead of a value.
pub const REDACTED: &str = "<redacted>";

/// Whether a variable or key name denotes a credential.
pub fn credential_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase().replace(['-', '.'], "_");
    const NOT_A_VALUE: &[&str] = &[
        "_FILE",
        "_PATH",
        "_URL",
        "_URI",
        "_NAME",
        "_ENDPOINT",
        "_HEADER",
        "_TTL",
        "_LENGTH",
        "_DIR",
        "_REF",
        "_ID",
        "_ENABLED",
        "_TYPE",
        "_KEY_ID",
        "_SELECTOR",
        "_NAMESPACE",
    ];
    if NOT_A_VALUE.iter().any(|s| n.ends_with(s)) {
        return false;
    }
    const MARKERS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "CLIENT_SECRET",
        "AUTH_KEY",
    ];
    // `*_KEY` is a key's value (ENCRYPTION_KEY, STRIPE_KEY, MASTER_KEY) unless the name says
    // it is a public key or a lookup key.
    const NOT_SECRET_KEYS: &[&str] = &[
        "PUBLIC_KEY",
        "PUB_KEY",
        "SORT_KEY",
        "PARTITION_KEY",
        "CACHE_KEY",
        "PRIMARY_KEY",
        "FOREIGN_KEY",
        "OBJECT_KEY",
        "S3_KEY",
        "ROUTING_KEY",
        "HASH_KEY",
        "RANGE_KEY",
        "LOOKUP_KEY",
        "KEY_PREFIX",
    ];
    let secret_key =
        (n == "KEY" || n.ends_with("_KEY")) && !NOT_SECRET_KEYS.iter().any(|k| n.ends_with(k));
    MARKERS.iter().any(|m| n.contains(m)) || secret_key || n == "PWD" || n.ends_with("_PWD")
}

/// Whether a value looks like a credential whatever its key (well-known token formats).
pub fn credential_value(v: &str) -> bool {
    let aws_key = |p: &str| {
        v.match_indices(p).any(|(i, _)| {
            let rest = &v[i + 4..];
            rest.len() >= 16
                && rest[..16]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
    };
    (v.contains("-----BEGIN") && v.contains("PRIVATE KEY"))
        || aws_key("AKIA")
        || aws_key("ASIA")
        || [
            "ghp_",
            "gho_",
            "github_pat_",
            "glpat-",
            "xoxb-",
            "xoxp-",
            "sk_live_",
            "AIza",
        ]
        .iter()
        .any(|p| v.contains(p) && v.len() > p.len() + 15)
}

/// A literal value that could be a credential (not empty, not a variable reference or flag).
pub fn literal_secret_value(v: &str) -> bool {
    let t = v.trim();
    !(t.is_empty()
        || t.starts_with("$(")
        || t.starts_with("${")
        || matches!(
            t.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "none" | "null"
        ))
}

/// Whether a text is a kubeconfig or holds one's credentials (a client key, a bearer token of a
/// user entry), in YAML or JSON.
pub fn kubeconfig_like(v: &str) -> bool {
    let has = |k: &str| v.contains(&format!("{k}:")) || v.contains(&format!("\"{k}\""));
    (has("client-key-data") || has("client-key") || has("token") || has("password"))
        && has("users")
        && (has("clusters") || has("contexts") || has("user"))
}

/// A value on a command line that may be a credential: a flag's (`--name=value`,
/// `--name value`) or a word that is one whole (a token, a PEM key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandValue<'a> {
    /// The index of the word that holds the value.
    pub word: usize,
    /// The index of the flag's word (`word`, or the one before it for `--name value`).
    pub flag_word: usize,
    /// The flag's name without dashes; `None` for a word that is a credential whole.
    pub flag: Option<&'a str>,
    /// What precedes the value in its word (`--password=`), empty otherwise.
    pub prefix: &'a str,
    /// The value.
    pub value: &'a str,
}

/// The flag values and credential words of a command line (`command` then `args`, or either),
/// in order: what the credential check judges and `kspm collect --redact` replaces, read once
/// for both. A value given apart (`--token abc`) is also its own word, judged on its own too.
pub fn command_values<'a>(words: &[&'a str]) -> Vec<CommandValue<'a>> {
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        // A word that is a credential whole (a PEM key starts with dashes too).
        if credential_value(w) {
            out.push(CommandValue {
                word: i,
                flag_word: i,
                flag: None,
                prefix: "",
                value: w,
            });
            continue;
        }
        let Some(flag) = w.strip_prefix("--").or_else(|| w.strip_prefix('-')) else {
            continue;
        };
        match flag.split_once('=') {
            Some((name, value)) => out.push(CommandValue {
                word: i,
                flag_word: i,
                flag: Some(name),
                prefix: &w[..w.len() - value.len()],
                value,
            }),
            None => {
                if let Some(value) = words.get(i + 1).filter(|v| !v.starts_with('-')) {
                    out.push(CommandValue {
                        word: i + 1,
                        flag_word: i,
                        flag: Some(flag),
                        prefix: "",
                        value,
                    });
                }
            }
        }
    }
    out
}

/// What a redacted snapshot holds in place of `v`: nothing that was written, yet the same answer
/// from every test of this module (and the same emptiness, line structure and path or reference
/// form), so that the checks judge the stand-in as they judged the value. Values that cannot be
/// secret are kept as they are: empty, a boolean word, a single-word file path or `$(VAR)`
/// reference that is not itself a credential.
pub fn stand_in(v: &str) -> Cow<'_, str> {
    let t = v.trim();
    let single_word = !t.is_empty() && !t.contains(char::is_whitespace);
    let path = t.starts_with('/') || t.starts_with("./");
    let reference = !literal_secret_value(v) && (t.starts_with("$(") || t.starts_with("${"));
    if t.is_empty() || (!literal_secret_value(v) && !reference) {
        return Cow::Borrowed(v);
    }
    let word = |extra: &str| {
        t.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    let pure_path = path && word("/._-~+");
    let pure_reference = reference
        && t.len() > 3
        && ((t.starts_with("$(") && t.ends_with(')')) || (t.starts_with("${") && t.ends_with('}')))
        && t[2..t.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if (pure_path || pure_reference) && single_word && !credential_value(v) {
        return Cow::Borrowed(v);
    }
    let mut out = String::from(if credential_value(v) || kubeconfig_like(v) {
        REDACTED
    } else if reference {
        "$(<redacted>)"
    } else if path {
        "/<redacted>"
    } else {
        REDACTED
    });
    if credential_value(v) {
        // A token of the same, well-known format, made of nothing that was written.
        out.push(' ');
        out.push_str(if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
            "-----BEGIN PRIVATE KEY-----"
        } else {
            "AKIAXXXXXXXXXXXXXXXX"
        });
    }
    if kubeconfig_like(v) {
        out.push_str(" users: user: token: clusters:");
    }
    if v.contains('\n') {
        out.push('\n');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_and_values() {
        for yes in [
            "DB_PASSWORD",
            "api-key",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "PGPASSWORD",
            "CLIENT_SECRET",
            "ENCRYPTION_KEY",
            "STRIPE_KEY",
            "azure_batch_key",
            "SIGNING_KEY",
            "master-key",
        ] {
            assert!(credential_name(yes), "{yes}");
        }
        for no in [
            "PASSWORD_FILE",
            "TOKEN_URL",
            "SECRET_NAME",
            "AWS_ACCESS_KEY_ID",
            "LOG_LEVEL",
            "SSH_PUBLIC_KEY",
            "DYNAMO_SORT_KEY",
            "ENCRYPTION_KEY_FILE",
            "REDIS_KEY_PREFIX",
            "KEYBOARD_LAYOUT",
        ] {
            assert!(!credential_name(no), "{no}");
        }
        assert!(credential_value("AKIAABCDEFGHIJKLMNOP"));
        assert!(credential_value("-----BEGIN RSA PRIVATE KEY-----\nabc"));
        assert!(!credential_value("AKIA-short"));
        assert!(!literal_secret_value("$(DB_PASSWORD)") && literal_secret_value("hunter2"));
    }

    /// The stand-in answers every question as the value did, and holds none of it.
    #[test]
    fn stand_ins_keep_every_answer_and_no_value() {
        // Values that cannot be secret, kept as they are; then values replaced.
        let kept = [
            "",
            "  ",
            "$(DB_PASSWORD)",
            "${TOKEN}",
            "true",
            "no",
            "/run/secrets/db",
            "./key.pem",
        ];
        let replaced = [
            "hunter2",
            "// settings\napiKey=hunter2",
            "/* css */ body { }",
            "$(USER):hunter2@db",
            "/AKIAABCDEFGHIJKLMNOP",
            "AKIAABCDEFGHIJKLMNOP",
            "prefix ASIAABCDEFGHIJKLMNOP suffix",
            "ghp_0123456789abcdefghij",
            "sk_live_0123456789abcdefgh",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n",
            "line one\nline two",
            "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: a\n  user:\n    token: abc\n",
            "{\"users\": [{\"user\": {\"token\": \"abc\"}}], \"clusters\": []}",
        ];
        for v in kept.into_iter().chain(replaced) {
            let s = stand_in(v);
            assert_eq!(literal_secret_value(&s), literal_secret_value(v), "{v:?}");
            assert_eq!(credential_value(&s), credential_value(v), "{v:?}");
            assert_eq!(kubeconfig_like(&s), kubeconfig_like(v), "{v:?}");
            assert_eq!(s.contains('\n'), v.contains('\n'), "{v:?}");
            assert_eq!(s.trim().is_empty(), v.trim().is_empty(), "{v:?}");
            let kept = kept.contains(&v);
            assert_eq!(s == v, kept, "{v:?} -> {s:?}");
            assert_eq!(
                (s.starts_with('/') || s.starts_with("./")),
                (v.starts_with('/') || v.starts_with("./")) && !credential_value(v),
                "{v:?} -> {s:?}"
            );
            if !kept {
                assert!(s.contains("<redacted>"), "{s:?}");
                // Only the stand-in's own format markers may appear in it.
                let markers = [
                    "-----BEGIN",
                    "PRIVATE",
                    "KEY-----",
                    "users:",
                    "user:",
                    "token:",
                    "clusters:",
                ];
                for word in v.split_whitespace().filter(|w| w.len() > 3) {
                    assert!(
                        !s.contains(word) || markers.contains(&word),
                        "{v:?} -> {s:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn command_values_are_read_as_flags_and_words() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----abc";
        let words = [
            "run",
            "--password=p1",
            "--token",
            "t1",
            "-v",
            "--x",
            "--y",
            pem,
        ];
        let got: Vec<(usize, usize, Option<&str>, &str, &str)> = command_values(&words)
            .iter()
            .map(|v| (v.word, v.flag_word, v.flag, v.prefix, v.value))
            .collect();
        assert_eq!(
            got,
            [
                (1, 1, Some("password"), "--password=", "p1"),
                (3, 2, Some("token"), "", "t1"),
                (7, 7, None, "", pem),
            ]
        );
    }

    #[test]
    fn kubeconfigs_are_recognised() {
        assert!(kubeconfig_like("apiVersion: v1\nkind: Config\nclusters:\n- cluster: {}\nusers:\n- user:\n    client-key-data: abc\n"));
        assert!(!kubeconfig_like("users: 5\nclusters: 3"));
        assert!(!kubeconfig_like("token: abc"));
    }
}
