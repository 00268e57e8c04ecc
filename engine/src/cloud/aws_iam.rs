//! A minimal, correct AWS IAM policy evaluator for attack paths (CLOUD.md §1.7): identity
//! policies with Allow/Deny, `Action`/`NotAction`, `Resource`/`NotResource`, wildcards,
//! permissions boundaries, and trust policies with the condition operators IRSA and Pod Identity
//! trusts use. What it cannot decide (an unknown condition key or operator) is reported as
//! conditional, never as allowed.

use serde_json::Value;
use std::collections::BTreeMap;

/// Statement effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// A list of patterns, or its negation (`NotAction`, `NotResource`, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq)]
pub enum Patterns {
    /// Matches any of these.
    Any(Vec<String>),
    /// Matches anything except these.
    Not(Vec<String>),
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Effect.
    pub effect: Effect,
    /// Actions.
    pub actions: Patterns,
    /// Resources (absent in trust policies).
    pub resources: Option<Patterns>,
    /// Principals by type (`AWS`, `Federated`, `Service`, or `*`), for trust policies.
    pub principals: Option<(bool, BTreeMap<String, Vec<String>>)>,
    /// The `Condition` block, as written.
    pub condition: Option<Value>,
}

/// A policy document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    /// Statements.
    pub statements: Vec<Statement>,
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed without conditions.
    Allow,
    /// Allowed when these conditions hold (kept on the edge).
    ConditionalAllow(String),
    /// Explicitly denied, or not allowed by anything.
    Deny,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        // RFC 3986 (as IAM encodes documents): `+` is a literal plus, not a space.
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Policy {
    /// Parses a policy document: a JSON value, or text that is JSON or URL-encoded JSON (as IAM
    /// returns documents).
    pub fn parse(text: &str) -> Result<Policy, String> {
        Policy::from_value(&Policy::json(text)?)
    }

    /// The JSON of a policy document as IAM returns it (URL-encoded or not).
    pub fn json(text: &str) -> Result<Value, String> {
        let t = text.trim();
        let t = if t.starts_with('%') {
            percent_decode(t)
        } else {
            t.to_string()
        };
        serde_json::from_str(&t).map_err(|e| format!("policy is not JSON: {e}"))
    }

    /// Reads a policy document from JSON.
    pub fn from_value(v: &Value) -> Result<Policy, String> {
        let stmts = match v.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
            Some(o @ Value::Object(_)) => vec![o],
            _ => return Err("policy has no Statement".into()),
        };
        let mut statements = Vec::new();
        for s in stmts {
            let effect = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                other => {
                    return Err(format!(
                        "statement effect {other:?} is neither Allow nor Deny"
                    ))
                }
            };
            let actions = match (s.get("Action"), s.get("NotAction")) {
                (Some(a), None) => Patterns::Any(strings(Some(a))),
                (None, Some(n)) => Patterns::Not(strings(Some(n))),
                _ => return Err("a statement needs exactly one of Action and NotAction".into()),
            };
            let resources = match (s.get("Resource"), s.get("NotResource")) {
                (Some(r), None) => Some(Patterns::Any(strings(Some(r)))),
                (None, Some(n)) => Some(Patterns::Not(strings(Some(n)))),
                (None, None) => None,
                _ => return Err("a statement has both Resource and NotResource".into()),
            };
            let principal = |v: &Value| -> BTreeMap<String, Vec<String>> {
                match v {
                    Value::String(s) if s == "*" => {
                        BTreeMap::from([("*".to_string(), vec!["*".to_string()])])
                    }
                    Value::Object(m) => m
                        .iter()
                        .map(|(k, v)| (k.clone(), strings(Some(v))))
                        .collect(),
                    _ => BTreeMap::new(),
                }
            };
            let principals = match (s.get("Principal"), s.get("NotPrincipal")) {
                (Some(p), _) => Some((false, principal(p))),
                (None, Some(n)) => Some((true, principal(n))),
                _ => None,
            };
            statements.push(Statement {
                effect,
                actions,
                resources,
                principals,
                condition: s.get("Condition").cloned(),
            });
        }
        Ok(Policy { statements })
    }
}

/// IAM wildcard match: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn matches(p: &Patterns, text: &str, case_insensitive: bool) -> bool {
    match p {
        Patterns::Any(list) => list.iter().any(|x| glob(x, text, case_insensitive)),
        Patterns::Not(list) => !list.iter().any(|x| glob(x, text, case_insensitive)),
    }
}

/// The outcome of a condition block against known context values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondResult {
    /// Every condition holds.
    True,
    /// Some condition fails.
    False,
    /// Depends on keys or operators this evaluator does not know (the text says which).
    Unknown(String),
}

/// Evaluates a `Condition` block: operators are ANDed, keys within an operator are ANDed, values
/// of a key are ORed (negated operators: the key matches none). A key missing from `context` is
/// undecidable (the real request may carry it): the result is [`CondResult::Unknown`]. Keys are
/// compared case-insensitively, as IAM does.
pub fn conditions(cond: Option<&Value>, context: &BTreeMap<String, String>) -> CondResult {
    let Some(Value::Object(ops)) = cond else {
        return CondResult::True;
    };
    let ctx: BTreeMap<String, &String> =
        context.iter().map(|(k, v)| (k.to_lowercase(), v)).collect();
    let mut unknown = Vec::new();
    for (op, keys) in ops {
        // `...IfExists` only differs for a key known to be absent, which this evaluator never
        // assumes: it decides like the base operator on known keys.
        let base = op.strip_suffix("IfExists").unwrap_or(op);
        let test: fn(&str, &str) -> bool = match base {
            "StringEquals" | "StringNotEquals" => |p, v| p == v,
            "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => {
                |p, v| p.eq_ignore_ascii_case(v)
            }
            // ArnEquals and ArnLike are the same operator in IAM: wildcards allowed.
            "StringLike" | "StringNotLike" | "ArnLike" | "ArnNotLike" | "ArnEquals"
            | "ArnNotEquals" => |p, v| glob(p, v, false),
            _ => {
                unknown.push(format!("{op} (operator not evaluated)"));
                continue;
            }
        };
        let negated = base.contains("Not");
        let Some(keys) = keys.as_object() else {
            return CondResult::False;
        };
        for (key, wanted) in keys {
            let wanted = strings(Some(wanted));
            match ctx.get(&key.to_lowercase()) {
                // A key we were not told about may well be in the real request (EKS sets
                // session tags, for one): undecidable, whatever the operator.
                None => unknown.push(format!("{op} {key} (value not known)")),
                Some(actual) => {
                    let any = wanted.iter().any(|w| test(w, actual));
                    if any == negated {
                        return CondResult::False;
                    }
                }
            }
        }
    }
    if unknown.is_empty() {
        CondResult::True
    } else {
        CondResult::Unknown(unknown.join("; "))
    }
}

/// What identity policies allow for `action` on `resource`, intersected with a permissions
/// boundary when there is one. Conditions are not evaluated (no request context): a
/// conditional statement gives [`Decision::ConditionalAllow`], or is a possible Deny that does
/// not remove the edge.
pub fn evaluate(
    policies: &[Policy],
    boundary: Option<&Policy>,
    action: &str,
    resource: &str,
) -> Decision {
    let one = |ps: &[&Policy]| -> Decision {
        let mut allow: Option<Decision> = None;
        let mut maybe_denied: Option<String> = None;
        for s in ps.iter().flat_map(|p| &p.statements) {
            if !matches(&s.actions, action, true) {
                continue;
            }
            if let Some(r) = &s.resources {
                if !matches(r, resource, false) {
                    continue;
                }
            }
            match (s.effect, &s.condition) {
                (Effect::Deny, None) => return Decision::Deny,
                (Effect::Deny, Some(c)) => maybe_denied = Some(format!("unless denied when {c}")),
                (Effect::Allow, None) => allow = Some(Decision::Allow),
                (Effect::Allow, Some(c)) => {
                    if allow.is_none() {
                        allow = Some(Decision::ConditionalAllow(c.to_string()));
                    }
                }
            }
        }
        match (allow, maybe_denied) {
            (None, _) => Decision::Deny,
            (Some(Decision::Allow), Some(why)) => Decision::ConditionalAllow(why),
            (Some(d), _) => d,
        }
    };
    let refs: Vec<&Policy> = policies.iter().collect();
    let identity = one(&refs);
    match (identity, boundary) {
        (Decision::Deny, _) => Decision::Deny,
        (d, None) => d,
        (d, Some(b)) => match (d, one(&[b])) {
            (_, Decision::Deny) => Decision::Deny,
            (Decision::Allow, Decision::Allow) => Decision::Allow,
            (Decision::ConditionalAllow(c), _) | (_, Decision::ConditionalAllow(c)) => {
                Decision::ConditionalAllow(c)
            }
            (_, _) => Decision::Deny,
        },
    }
}

/// Whether an unconditional Deny statement of `policies` matches `action` on `resource`: an
/// explicit deny, which no resource-based policy overrides.
pub fn explicitly_denies(policies: &[Policy], action: &str, resource: &str) -> bool {
    policies.iter().flat_map(|p| &p.statements).any(|s| {
        s.effect == Effect::Deny
            && s.condition.is_none()
            && matches(&s.actions, action, true)
            && s.resources
                .as_ref()
                .is_none_or(|r| matches(r, resource, false))
    })
}

/// Whether the policies make a principal an administrator: `*` allowed on `*` without conditions
/// (also through `NotAction` with a narrow exclusion, which still allows `iam:*`).
pub fn is_admin(policies: &[Policy], boundary: Option<&Policy>) -> bool {
    evaluate(policies, boundary, "iam:CreatePolicyVersion", "*") == Decision::Allow
        && evaluate(policies, boundary, "iam:AttachRolePolicy", "*") == Decision::Allow
        && evaluate(policies, boundary, "ec2:RunInstances", "*") == Decision::Allow
        && evaluate(policies, boundary, "s3:GetObject", "*") == Decision::Allow
}

/// A caller of `sts:AssumeRole*` as a trust policy sees it.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    /// Principal type: `AWS`, `Federated` or `Service`.
    pub kind: &'a str,
    /// Its identifier (role/user ARN, OIDC provider ARN, or service name).
    pub id: &'a str,
    /// Its account (for `arn:aws:iam::ACCOUNT:root` and bare account IDs), if any.
    pub account: Option<&'a str>,
    /// Request context known for the call (`oidc…:sub`, `oidc…:aud`, `aws:SourceAccount`…).
    pub context: BTreeMap<String, String>,
}

fn principal_matches(p: &BTreeMap<String, Vec<String>>, c: &Caller<'_>) -> bool {
    let partition =
        c.id.strip_prefix("arn:")
            .and_then(|r| r.split(':').next())
            .unwrap_or("aws");
    if p.get("*").is_some() {
        return true;
    }
    p.get(c.kind).is_some_and(|ids| {
        ids.iter().any(|id| {
            id == "*"
                || id == c.id
                || c.account
                    .is_some_and(|a| id == a || *id == format!("arn:{partition}:iam::{a}:root"))
        })
    })
}

/// Whether a role's trust policy lets `caller` perform `action` (`sts:AssumeRole`,
/// `sts:AssumeRoleWithWebIdentity`, `sts:TagSession`…). Conditions are evaluated against the
/// caller's context; an account-root trust additionally needs the caller's own identity policy
/// (the caller of this function checks that side).
pub fn trust_allows(trust: &Policy, caller: &Caller<'_>, action: &str) -> Decision {
    let mut result = Decision::Deny;
    let mut denied_maybe: Option<String> = None;
    for s in &trust.statements {
        if !matches(&s.actions, action, true) {
            continue;
        }
        let principal_ok = match &s.principals {
            Some((false, p)) => principal_matches(p, caller),
            // NotPrincipal is not allowed with Allow in a trust policy (IAM refuses it).
            Some((true, p)) => s.effect == Effect::Deny && !principal_matches(p, caller),
            None => false,
        };
        if !principal_ok {
            continue;
        }
        let cond = conditions(s.condition.as_ref(), &caller.context);
        match (s.effect, cond) {
            (Effect::Deny, CondResult::True) => return Decision::Deny,
            (Effect::Deny, CondResult::Unknown(why)) => {
                if result == Decision::Allow {
                    result = Decision::ConditionalAllow(format!("unless denied: {why}"));
                }
                denied_maybe = Some(why);
            }
            (Effect::Deny, CondResult::False) => {}
            (Effect::Allow, CondResult::True) => {
                result = match &denied_maybe {
                    Some(why) => Decision::ConditionalAllow(format!("unless denied: {why}")),
                    None => Decision::Allow,
                }
            }
            (Effect::Allow, CondResult::Unknown(why)) => {
                if result == Decision::Deny {
                    result = Decision::ConditionalAllow(why);
                }
            }
            (Effect::Allow, CondResult::False) => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Policy {
        Policy::from_value(&v).expect("policy")
    }

    #[test]
    fn globs() {
        assert!(glob("s3:Get*", "s3:GetObject", true));
        assert!(glob("S3:get*", "s3:GetObject", true));
        assert!(!glob("s3:Get*", "s3:PutObject", true));
        assert!(glob("iam:?etRole", "iam:GetRole", true));
        assert!(glob("*", "", false));
        assert!(glob(
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/a/b",
            false
        ));
        assert!(!glob(
            "arn:aws:s3:::Bucket/*",
            "arn:aws:s3:::bucket/a",
            false
        ));
        assert!(glob("a*b*c", "axxbyyc", false) && !glob("a*b*c", "axxbyy", false));
    }

    #[test]
    fn explicit_deny_wins_and_conditions_are_conditional() {
        let allow =
            p(json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}));
        let deny = p(
            json!({"Statement": {"Effect": "Deny", "Action": ["s3:DeleteBucket"], "Resource": "*"}}),
        );
        assert_eq!(
            evaluate(
                std::slice::from_ref(&allow),
                None,
                "s3:GetObject",
                "arn:aws:s3:::b/k"
            ),
            Decision::Allow
        );
        assert_eq!(
            evaluate(
                &[allow.clone(), deny.clone()],
                None,
                "s3:DeleteBucket",
                "arn:aws:s3:::b"
            ),
            Decision::Deny
        );
        assert_eq!(
            evaluate(std::slice::from_ref(&allow), None, "ec2:RunInstances", "*"),
            Decision::Deny
        );
        let cond = p(
            json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]}),
        );
        assert!(matches!(
            evaluate(
                &[cond],
                None,
                "kms:Decrypt",
                "arn:aws:kms:us-east-1:1:key/x"
            ),
            Decision::ConditionalAllow(_)
        ));
        // A conditional Deny keeps the edge but makes it conditional.
        let cdeny = p(
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
        );
        assert!(matches!(
            evaluate(&[allow, cdeny], None, "s3:GetObject", "x"),
            Decision::ConditionalAllow(_)
        ));
    }

    #[test]
    fn not_action_not_resource_and_boundaries() {
        let power = p(
            json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}),
        );
        assert_eq!(
            evaluate(std::slice::from_ref(&power), None, "ec2:RunInstances", "*"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(std::slice::from_ref(&power), None, "IAM:CreateUser", "*"),
            Decision::Deny
        );
        assert!(!is_admin(&[power], None));
        let admin = p(json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}));
        assert!(is_admin(std::slice::from_ref(&admin), None));
        let boundary = p(
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*"], "Resource": "*"}]}),
        );
        assert!(!is_admin(std::slice::from_ref(&admin), Some(&boundary)));
        assert_eq!(
            evaluate(
                std::slice::from_ref(&admin),
                Some(&boundary),
                "ec2:DescribeInstances",
                "*"
            ),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&[admin], Some(&boundary), "ec2:RunInstances", "*"),
            Decision::Deny
        );
        let not_res = p(
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]}),
        );
        assert_eq!(
            evaluate(
                std::slice::from_ref(&not_res),
                None,
                "s3:GetObject",
                "arn:aws:s3:::public/a"
            ),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&[not_res], None, "s3:GetObject", "arn:aws:s3:::secret/a"),
            Decision::Deny
        );
    }

    #[test]
    fn url_encoded_documents_and_bad_ones() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
        let pol = Policy::parse(enc).expect("url-encoded policy");
        assert_eq!(
            evaluate(&[pol], None, "sts:AssumeRole", "arn:aws:iam::1:role/x"),
            Decision::Allow
        );
        assert!(
            Policy::parse("{\"Statement\": [{\"Effect\": \"Maybe\", \"Action\": \"*\"}]}").is_err()
        );
        assert!(Policy::parse("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"NotAction\": \"s3:*\"}]}").is_err());
        assert!(Policy::parse("not json").is_err());
    }

    const PROVIDER: &str =
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";

    fn irsa(op: &str, sub: &str) -> Policy {
        p(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {op: {"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": sub,
                               "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"}}}]}),
        )
    }

    fn sa(ns: &str, name: &str) -> Caller<'static> {
        Caller {
            kind: "Federated",
            id: PROVIDER,
            account: None,
            context: BTreeMap::from([
                (
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub".to_string(),
                    format!("system:serviceaccount:{ns}:{name}"),
                ),
                (
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud".to_string(),
                    "sts.amazonaws.com".to_string(),
                ),
            ]),
        }
    }

    #[test]
    fn irsa_trust_checks_sub_and_aud() {
        let exact = irsa("StringEquals", "system:serviceaccount:shop:web");
        let a = "sts:AssumeRoleWithWebIdentity";
        assert_eq!(trust_allows(&exact, &sa("shop", "web"), a), Decision::Allow);
        assert_eq!(trust_allows(&exact, &sa("shop", "db"), a), Decision::Deny);
        assert_eq!(
            trust_allows(&exact, &sa("shop", "web"), "sts:AssumeRole"),
            Decision::Deny
        );
        let like = irsa("StringLike", "system:serviceaccount:shop:*");
        assert_eq!(trust_allows(&like, &sa("shop", "db"), a), Decision::Allow);
        assert_eq!(trust_allows(&like, &sa("other", "db"), a), Decision::Deny);
        // StringEquals does not glob.
        let literal = irsa("StringEquals", "system:serviceaccount:shop:*");
        assert_eq!(trust_allows(&literal, &sa("shop", "db"), a), Decision::Deny);
        // A trust without a sub condition lets every ServiceAccount of the cluster in.
        let open = p(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity"}]}),
        );
        assert_eq!(trust_allows(&open, &sa("any", "one"), a), Decision::Allow);
        // Another cluster's provider is not trusted.
        let mut other = sa("shop", "web");
        other.id =
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/XYZ";
        assert_eq!(trust_allows(&exact, &other, a), Decision::Deny);
        // A condition key we do not know makes it conditional, not allowed.
        let extra = p(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": a,
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "x"}}}]}),
        );
        assert!(matches!(
            trust_allows(&extra, &sa("shop", "web"), a),
            Decision::ConditionalAllow(_)
        ));
        let unknown_op = p(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": a,
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}]}),
        );
        assert!(matches!(
            trust_allows(&unknown_op, &sa("shop", "web"), a),
            Decision::ConditionalAllow(_)
        ));
    }

    #[test]
    fn account_root_service_and_negated_conditions() {
        let root = p(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]}),
        );
        let caller = Caller {
            kind: "AWS",
            id: "arn:aws:iam::444455556666:role/ci",
            account: Some("444455556666"),
            context: BTreeMap::new(),
        };
        assert_eq!(
            trust_allows(&root, &caller, "sts:AssumeRole"),
            Decision::Allow
        );
        let stranger = Caller {
            kind: "AWS",
            id: "arn:aws:iam::999999999999:role/x",
            account: Some("999999999999"),
            context: BTreeMap::new(),
        };
        assert_eq!(
            trust_allows(&root, &stranger, "sts:AssumeRole"),
            Decision::Deny
        );
        let pods = p(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}),
        );
        let svc = Caller {
            kind: "Service",
            id: "pods.eks.amazonaws.com",
            account: None,
            context: BTreeMap::new(),
        };
        assert_eq!(trust_allows(&pods, &svc, "sts:TagSession"), Decision::Allow);
        let ctx = BTreeMap::from([("aws:SourceAccount".to_string(), "1".to_string())]);
        assert_eq!(
            conditions(
                Some(&json!({"StringNotEquals": {"aws:SourceAccount": "2"}})),
                &ctx
            ),
            CondResult::True
        );
        assert_eq!(
            conditions(
                Some(&json!({"StringNotEquals": {"aws:SourceAccount": ["1", "2"]}})),
                &ctx
            ),
            CondResult::False
        );
        // Keys we were not told about are undecidable, whatever the operator.
        assert!(matches!(
            conditions(
                Some(&json!({"StringEqualsIfExists": {"aws:Missing": "x"}})),
                &ctx
            ),
            CondResult::Unknown(_)
        ));
        assert!(matches!(
            conditions(
                Some(&json!({"StringNotEquals": {"aws:RequestTag/ns": "prod"}})),
                &ctx
            ),
            CondResult::Unknown(_)
        ));
        let arn_ctx = BTreeMap::from([(
            "aws:SourceArn".to_string(),
            "arn:aws:eks:us-east-1:1:cluster/prod".to_string(),
        )]);
        assert_eq!(
            conditions(
                Some(&json!({"ArnEquals": {"aws:SourceArn": "arn:aws:eks:*:1:cluster/*"}})),
                &arn_ctx
            ),
            CondResult::True
        );
        assert_eq!(
            conditions(
                Some(&json!({"StringEquals": {"AWS:SOURCEACCOUNT": "1"}})),
                &ctx
            ),
            CondResult::True
        );
        // Explicit deny in a trust wins.
        let deny = p(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:role/x"}, "Action": "sts:AssumeRole"}]}));
        assert_eq!(
            trust_allows(&deny, &stranger, "sts:AssumeRole"),
            Decision::Deny
        );
        assert_eq!(
            trust_allows(&deny, &caller, "sts:AssumeRole"),
            Decision::Allow
        );
    }
}
