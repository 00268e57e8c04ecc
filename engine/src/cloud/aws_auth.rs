//! The EKS `kube-system/aws-auth` ConfigMap (CLOUD.md §1.4.3): which Kubernetes user and groups an
//! IAM principal authenticates as through `mapRoles`, `mapUsers` and `mapAccounts`, the way
//! aws-iam-authenticator maps them (assumed-role ARNs canonicalised to the role ARN without its
//! path, username templates rendered).

use crate::object::Object;
use serde_json::Value;

/// One `mapRoles` or `mapUsers` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// `rolearn` or `userarn`, as written.
    pub arn: String,
    /// Username template (empty: the authenticator's default).
    pub username: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Whether this came from `mapRoles` (otherwise `mapUsers`).
    pub role: bool,
}

/// The parsed ConfigMap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsAuth {
    /// `mapRoles` and `mapUsers` entries, in order.
    pub mappings: Vec<Mapping>,
    /// `mapAccounts`: 12-digit account IDs.
    pub accounts: Vec<String>,
    /// What could not be read (a malformed mapping locks people out in a real cluster: report it).
    pub errors: Vec<String>,
    /// `mapRoles` and `mapUsers` as written, with their parsed lists (what a fix rewrites).
    pub lists: Vec<(&'static str, String, Vec<Value>)>,
}

/// The Kubernetes identity an IAM principal authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sIdentity {
    /// Username.
    pub username: String,
    /// Groups (besides `system:authenticated`).
    pub groups: Vec<String>,
}

/// Who is calling: what aws-iam-authenticator learns from STS and EC2.
#[derive(Debug, Clone, Default)]
pub struct CallerIdentity {
    /// The ARN STS returns (`arn:aws:sts::ACCT:assumed-role/NAME/SESSION` or a user ARN).
    pub arn: String,
    /// EC2 private DNS name, for node roles.
    pub ec2_private_dns: Option<String>,
}

/// `arn:aws:sts::A:assumed-role/NAME/S` and `arn:aws:iam::A:role/path/NAME` → `arn:aws:iam::A:role/NAME`;
/// other ARNs unchanged.
pub fn canonical_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return arn.to_string();
    }
    let (partition, account, resource) = (parts[1], parts[4], parts[5]);
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        let name = rest.split('/').next().unwrap_or("");
        return format!("arn:{partition}:iam::{account}:role/{name}");
    }
    if parts[2] == "iam" {
        if let Some(rest) = resource.strip_prefix("role/") {
            let name = rest.rsplit('/').next().unwrap_or(rest);
            return format!("arn:{partition}:iam::{account}:role/{name}");
        }
    }
    arn.to_string()
}

impl CallerIdentity {
    /// A username or group template filled in for this caller: `{{AccountID}}`,
    /// `{{SessionName}}` (with `@` replaced by `-`, as the authenticator does),
    /// `{{SessionNameRaw}}` and `{{EC2PrivateDNSName}}` (left as is when unknown).
    pub fn render(&self, template: &str) -> String {
        let canonical = canonical_arn(&self.arn);
        let account = account_of(&canonical).unwrap_or("");
        let session = session_of(&self.arn).unwrap_or("");
        template
            .replace("{{AccountID}}", account)
            .replace("{{SessionNameRaw}}", session)
            .replace("{{SessionName}}", &session.replace('@', "-"))
            .replace(
                "{{EC2PrivateDNSName}}",
                self.ec2_private_dns
                    .as_deref()
                    .unwrap_or("{{EC2PrivateDNSName}}"),
            )
    }
}

fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn session_of(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("assumed-role/")?;
    rest.split_once('/').map(|(_, s)| s)
}

/// A field of an entry, its name matched without regard to case (aws-iam-authenticator reads
/// the YAML through encoding/json, which matches so).
fn field<'a>(m: &'a serde_json::Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    m.iter()
        .find_map(|(k, v)| names.iter().any(|n| k.eq_ignore_ascii_case(n)).then_some(v))
}

/// A scalar read into a string field: numbers in decimal, as sigs.k8s.io/yaml writes integers
/// (an unquoted `012345678901` is not valid octal, so YAML 1.1 reads it as a whole float: it is
/// given as the integer it is).
fn yaml_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && (0.0..1e15).contains(&f) => {
                Some(format!("{}", f as u64))
            }
            _ => Some(n.to_string()),
        },
        _ => None,
    }
}

/// `mapRoles` (`role`) or `mapUsers` text without the entries naming any of `arns` (compared
/// in lower case, as the authenticator does); `None` when none names one or the text does not
/// read.
pub fn rewrite(text: &str, role: bool, arns: &[String]) -> Option<String> {
    let Ok(Value::Array(list)) = crate::yaml::value(text) else {
        return None;
    };
    let arn_key: &[&str] = if role { &["rolearn"] } else { &["userarn"] };
    let names = |v: &Value| {
        v.as_object()
            .and_then(|m| field(m, arn_key))
            .and_then(yaml_str)
            .is_some_and(|a| arns.iter().any(|x| x.to_lowercase() == a.to_lowercase()))
    };
    if !list.iter().any(names) {
        return None;
    }
    let kept: Vec<&Value> = list.iter().filter(|v| !names(v)).collect();
    if kept.is_empty() {
        return Some(String::new());
    }
    crate::yaml::to_string(&kept).ok()
}

impl AwsAuth {
    /// Reads `data.mapRoles`, `data.mapUsers` and `data.mapAccounts` of the ConfigMap.
    pub fn from_configmap(cm: &Object) -> AwsAuth {
        let mut out = AwsAuth::default();
        let data = cm.body.get("data");
        for (key, role) in [("mapRoles", true), ("mapUsers", false)] {
            let Some(text) = data.and_then(|d| d.get(key)).and_then(Value::as_str) else {
                continue;
            };
            let list: Vec<Value> = match crate::yaml::value(text) {
                Ok(Value::Array(s)) => s,
                Ok(Value::Null) => Vec::new(),
                Ok(_) => {
                    out.errors.push(format!("{key} is not a list"));
                    continue;
                }
                Err(e) => {
                    out.errors.push(format!("{key} is not valid YAML: {e}"));
                    continue;
                }
            };
            out.lists.push((key, text.to_string(), list.clone()));
            for (i, item) in list.iter().enumerate() {
                let Some(m) = item.as_object() else {
                    out.errors.push(format!("{key}[{i}] is not a mapping"));
                    continue;
                };
                let arn_key: &[&str] = if role { &["rolearn"] } else { &["userarn"] };
                let Some(arn) = field(m, arn_key).and_then(yaml_str) else {
                    out.errors.push(format!("{key}[{i}] has no {}", arn_key[0]));
                    continue;
                };
                let username = field(m, &["username"])
                    .and_then(yaml_str)
                    .unwrap_or_default();
                let groups = field(m, &["groups"])
                    .and_then(Value::as_array)
                    .map(|s| s.iter().filter_map(yaml_str).collect())
                    .unwrap_or_default();
                let mapping = Mapping {
                    arn,
                    username,
                    groups,
                    role,
                };
                if out
                    .mappings
                    .iter()
                    .any(|x| x.arn == mapping.arn && x.role == role)
                {
                    out.errors.push(format!(
                        "{key}[{i}]: {} is mapped more than once",
                        mapping.arn
                    ));
                }
                out.mappings.push(mapping);
            }
        }
        if let Some(text) = data
            .and_then(|d| d.get("mapAccounts"))
            .and_then(Value::as_str)
        {
            match crate::yaml::value(text) {
                Ok(Value::Array(s)) => {
                    for v in s {
                        match yaml_str(&v) {
                            // Integers lose leading zeros: account IDs are 12 digits.
                            Some(a) if a.chars().all(|c| c.is_ascii_digit()) && a.len() <= 12 => {
                                out.accounts.push(format!("{a:0>12}"))
                            }
                            _ => out
                                .errors
                                .push(format!("mapAccounts entry {v} is not an account ID")),
                        }
                    }
                }
                Ok(Value::Null) => {}
                _ => out.errors.push("mapAccounts is not a list".into()),
            }
        }
        out
    }

    /// The Kubernetes identity of a caller, if the ConfigMap maps it (first matching entry wins,
    /// as in the authenticator: mapRoles/mapUsers, then mapAccounts).
    pub fn identity(&self, caller: &CallerIdentity) -> Option<K8sIdentity> {
        let canonical = canonical_arn(&caller.arn);
        // As aws-iam-authenticator: ARNs compared in lower case, mapRoles before mapUsers, the
        // canonical ARN looked up in both, and the last of duplicate entries wins. Entries
        // written with a path never match (the caller's canonical ARN has none).
        let (canonical_lc, raw_lc) = (canonical.to_lowercase(), caller.arn.to_lowercase());
        let lookup = |role: bool| {
            self.mappings.iter().rev().find(|m| {
                let arn = m.arn.to_lowercase();
                m.role == role && (arn == canonical_lc || (!role && arn == raw_lc))
            })
        };
        let found = lookup(true).or_else(|| lookup(false));
        let account = account_of(&canonical).unwrap_or("");
        if let Some(m) = found {
            let username = if m.username.is_empty() {
                canonical.clone()
            } else {
                caller.render(&m.username)
            };
            return Some(K8sIdentity {
                username,
                groups: m.groups.iter().map(|g| caller.render(g)).collect(),
            });
        }
        self.accounts
            .iter()
            .any(|a| a == account)
            .then(|| K8sIdentity {
                username: canonical,
                groups: Vec::new(),
            })
    }

    /// `data.mapRoles` (or `mapUsers`) rewritten without any entry for `arn` (compared as the
    /// authenticator does, in lower case): (key, text as written, new text), or `None` when no
    /// entry names it or `mapAccounts` would map it anyway (then removing the entry changes
    /// the identity rather than removing it).
    pub fn without(&self, arn: &str, role: bool) -> Option<(&'static str, String, String)> {
        let key = if role { "mapRoles" } else { "mapUsers" };
        let canonical = canonical_arn(arn);
        let account = account_of(&canonical).unwrap_or("");
        if self.accounts.iter().any(|a| a == account) {
            return None;
        }
        let (_, text, _) = self.lists.iter().find(|(k, _, _)| *k == key)?;
        let new = rewrite(text, role, &[arn.to_string()])?;
        Some((key, text.clone(), new))
    }

    /// Entries that grant `system:masters`: cluster-admin that no RBAC change can revoke.
    pub fn masters(&self) -> impl Iterator<Item = &Mapping> {
        self.mappings
            .iter()
            .filter(|m| m.groups.iter().any(|g| g == "system:masters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};

    fn cm(data: &str) -> Object {
        let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: aws-auth, namespace: kube-system}}\ndata:\n{data}");
        parse_text(&text, "aws-auth.yaml", Syntax::Yaml)
            .objects
            .remove(0)
    }

    const SAMPLE: &str = r#"  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/eks-node
      username: system:node:{{EC2PrivateDNSName}}
      groups: [system:bootstrappers, system:nodes]
    - rolearn: arn:aws:iam::111122223333:role/ops
      username: ops:{{SessionName}}
      groups:
        - system:masters
    - roleARN: arn:aws:iam::111122223333:role/teams/dev
      username: dev
      groups: [devs]
  mapUsers: |
    - userarn: arn:aws:iam::111122223333:user/alice
      username: alice
      groups: [viewers]
  mapAccounts: |
    - 012345678901
    - "444455556666"
"#;

    #[test]
    fn maps_roles_users_and_accounts_like_the_authenticator() {
        let a = AwsAuth::from_configmap(&cm(SAMPLE));
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        let node = a
            .identity(&CallerIdentity {
                arn: "arn:aws:sts::111122223333:assumed-role/eks-node/i-0abc".into(),
                ec2_private_dns: Some("ip-10-0-0-1.ec2.internal".into()),
            })
            .expect("node");
        assert_eq!(node.username, "system:node:ip-10-0-0-1.ec2.internal");
        assert_eq!(node.groups, ["system:bootstrappers", "system:nodes"]);
        let ops = a
            .identity(&CallerIdentity {
                arn: "arn:aws:sts::111122223333:assumed-role/ops/jane@example.com".into(),
                ..Default::default()
            })
            .expect("ops");
        assert_eq!(ops.username, "ops:jane-example.com");
        assert_eq!(a.masters().count(), 1);
        // A rolearn written with a path never matches (the caller's ARN is canonicalised).
        assert!(a
            .identity(&CallerIdentity {
                arn: "arn:aws:sts::111122223333:assumed-role/dev/s".into(),
                ..Default::default()
            })
            .is_none());
        let alice = a
            .identity(&CallerIdentity {
                arn: "arn:aws:iam::111122223333:user/alice".into(),
                ..Default::default()
            })
            .expect("alice");
        assert_eq!((alice.username.as_str(), alice.groups.len()), ("alice", 1));
        // mapAccounts: the canonical ARN, no groups; the number lost its leading zero.
        assert_eq!(a.accounts, ["012345678901", "444455556666"]);
        let foreign = a
            .identity(&CallerIdentity {
                arn: "arn:aws:sts::444455556666:assumed-role/path-free/x".into(),
                ..Default::default()
            })
            .expect("account-mapped");
        assert_eq!(foreign.username, "arn:aws:iam::444455556666:role/path-free");
        assert!(foreign.groups.is_empty());
        assert!(a
            .identity(&CallerIdentity {
                arn: "arn:aws:sts::999999999999:assumed-role/x/y".into(),
                ..Default::default()
            })
            .is_none());
    }

    #[test]
    fn matching_is_case_insensitive_and_the_last_duplicate_wins() {
        let a = AwsAuth::from_configmap(&cm("  mapRoles: |\n    - rolearn: arn:aws:iam::1:role/Ops\n      username: first\n    - rolearn: arn:aws:iam::1:role/ops\n      username: second\n  mapUsers: |\n    - userarn: arn:aws:iam::1:role/svc\n      username: role-in-mapusers\n"));
        let who = |arn: &str| {
            a.identity(&CallerIdentity {
                arn: arn.into(),
                ..Default::default()
            })
            .map(|i| i.username)
        };
        assert_eq!(
            who("arn:aws:sts::1:assumed-role/OPS/x").as_deref(),
            Some("second")
        );
        assert_eq!(
            who("arn:aws:sts::1:assumed-role/svc/x").as_deref(),
            Some("role-in-mapusers")
        );
    }

    #[test]
    fn canonical_arns() {
        assert_eq!(
            canonical_arn("arn:aws:iam::1:role/a/b/name"),
            "arn:aws:iam::1:role/name"
        );
        assert_eq!(
            canonical_arn("arn:aws-cn:sts::1:assumed-role/name/sess"),
            "arn:aws-cn:iam::1:role/name"
        );
        assert_eq!(
            canonical_arn("arn:aws:iam::1:user/path/bob"),
            "arn:aws:iam::1:user/path/bob"
        );
        assert_eq!(canonical_arn("garbage"), "garbage");
    }

    #[test]
    fn malformed_entries_are_reported_not_fatal() {
        let a = AwsAuth::from_configmap(&cm("  mapRoles: |\n    - rolearn: [unclosed\n  mapUsers: |\n    - username: nobody\n    - userarn: arn:aws:iam::1:user/x\n    - userarn: arn:aws:iam::1:user/x\n  mapAccounts: |\n    - not-an-account\n"));
        assert_eq!(a.errors.len(), 4, "{:?}", a.errors);
        assert!(a.errors[0].contains("mapRoles is not valid YAML"));
        assert_eq!(a.mappings.len(), 2);
    }
}
