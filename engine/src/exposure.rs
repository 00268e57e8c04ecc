//! Whether a LoadBalancer Service faces the internet — one rule for the network checks and the
//! attack graph, per provider: the annotations that make a load balancer internal, the AWS Load
//! Balancer Controller's internal default, source ranges, and Services not yet provisioned
//! (their provider's default applies: internet-facing).

use crate::object::Object;
use crate::snapshot::Provider;
use serde_json::Value;

/// How a `type: LoadBalancer` Service is exposed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadBalancer {
    /// Private to the network (why).
    Internal(String),
    /// Public, but only to these source ranges.
    Restricted(Vec<String>),
    /// Open to the internet: `addresses` (empty when not provisioned yet), and why.
    Internet {
        /// The load balancer's addresses from `status.loadBalancer.ingress`.
        addresses: Vec<String>,
        /// The annotations and fields that decided it, for evidence.
        evidence: String,
    },
}

/// The addresses in `status.loadBalancer.ingress` (Services and Ingresses).
pub fn addresses(o: &Object) -> Vec<String> {
    o.body
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i.get("ip")
                .or_else(|| i.get("hostname"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// The exposure of a Service, or `None` when it is not `type: LoadBalancer`.
pub fn load_balancer(s: &Object, provider: Provider) -> Option<LoadBalancer> {
    if s.body.pointer("/spec/type").and_then(Value::as_str) != Some("LoadBalancer") {
        return None;
    }
    let a = |k: &str| s.annotations.get(k).map(|v| v.to_ascii_lowercase());
    let scheme = a("service.beta.kubernetes.io/aws-load-balancer-scheme");
    let aws_lbc = a("service.beta.kubernetes.io/aws-load-balancer-type")
        .is_some_and(|t| t == "external" || t == "nlb-ip")
        || s.body
            .pointer("/spec/loadBalancerClass")
            .and_then(Value::as_str)
            == Some("service.k8s.aws/nlb");
    let internal = [
        (
            scheme.as_deref() == Some("internal"),
            "aws-load-balancer-scheme: internal",
        ),
        (
            a("service.beta.kubernetes.io/aws-load-balancer-internal").as_deref() == Some("true"),
            "aws-load-balancer-internal: true",
        ),
        (
            a("networking.gke.io/load-balancer-type").as_deref() == Some("internal"),
            "networking.gke.io/load-balancer-type: Internal",
        ),
        (
            a("cloud.google.com/load-balancer-type").as_deref() == Some("internal"),
            "cloud.google.com/load-balancer-type: Internal",
        ),
        (
            a("service.beta.kubernetes.io/azure-load-balancer-internal").as_deref() == Some("true"),
            "azure-load-balancer-internal: true",
        ),
        // The AWS Load Balancer Controller defaults to internal unless told internet-facing.
        (
            provider != Provider::Gke
                && provider != Provider::Aks
                && aws_lbc
                && scheme.as_deref() != Some("internet-facing"),
            "the AWS Load Balancer Controller makes load balancers internal unless aws-load-balancer-scheme is internet-facing",
        ),
    ];
    if let Some((_, why)) = internal.iter().find(|(is, _)| *is) {
        return Some(LoadBalancer::Internal((*why).to_string()));
    }
    let ranges: Vec<String> = s
        .body
        .pointer("/spec/loadBalancerSourceRanges")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !ranges.is_empty() && !ranges.iter().any(|r| r == "0.0.0.0/0" || r == "::/0") {
        return Some(LoadBalancer::Restricted(ranges));
    }
    let addresses = addresses(s);
    let at = if addresses.is_empty() {
        "not provisioned yet (no status.loadBalancer address): internet-facing once provisioned, the provider's default".to_string()
    } else {
        format!("at {}", addresses.join(", "))
    };
    Some(LoadBalancer::Internet {
        evidence: format!(
            "type LoadBalancer {at}, not internal{}, {}",
            scheme
                .map(|s| format!(" (aws-load-balancer-scheme: {s})"))
                .unwrap_or_default(),
            if ranges.is_empty() {
                "no loadBalancerSourceRanges".to_string()
            } else {
                "source ranges include 0.0.0.0/0".to_string()
            }
        ),
        addresses,
    })
}

/// Evidence that a Service faces the internet through a load balancer, or `None`.
pub fn internet_facing(s: &Object, provider: Provider) -> Option<String> {
    match load_balancer(s, provider)? {
        LoadBalancer::Internet { evidence, .. } => Some(evidence),
        _ => None,
    }
}

/// Each Service reference of an Ingress, with the field that holds it: the default backend and
/// every rule path (`extensions/v1beta1`'s `serviceName` and `spec.backend` forms too).
pub fn ingress_backend_refs(i: &Object) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let name = |b: &Value| {
        b.pointer("/service/name")
            .or_else(|| b.get("serviceName"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    for field in ["defaultBackend", "backend"] {
        if let Some(n) = i.body.pointer(&format!("/spec/{field}")).and_then(name) {
            let sub = if i.body.pointer(&format!("/spec/{field}/service")).is_some() {
                "service.name"
            } else {
                "serviceName"
            };
            out.push((format!("spec.{field}.{sub}"), n));
        }
    }
    for (r, rule) in i
        .body
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (p, path) in rule
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(n) = path.get("backend").and_then(name) {
                let sub = if path.pointer("/backend/service").is_some() {
                    "service.name"
                } else {
                    "serviceName"
                };
                out.push((format!("spec.rules[{r}].http.paths[{p}].backend.{sub}"), n));
            }
        }
    }
    out
}

/// The Services an Ingress routes to ([`ingress_backend_refs`]), by name in the Ingress's
/// namespace.
pub fn ingress_backends(i: &Object) -> std::collections::BTreeSet<String> {
    ingress_backend_refs(i)
        .into_iter()
        .map(|(_, n)| n)
        .collect()
}
