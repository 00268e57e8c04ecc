//! Whether a LoadBalancer Service faces the internet — one rule for the network checks and the
//! attack graph, per provider: the annotations that make a load balancer internal, the AWS Load
//! Balancer Controller's internal default, source ranges, and Services not yet provisioned
//! (their provider's default applies: internet-facing).

use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::snapshot::Provider;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

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
        .at("/status/loadBalancer/ingress")
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
    if s.body.at("/spec/type").and_then(Value::as_str) != Some("LoadBalancer") {
        return None;
    }
    let a = |k: &str| s.annotations.get(k).map(|v| v.to_ascii_lowercase());
    let scheme = a("service.beta.kubernetes.io/aws-load-balancer-scheme");
    let aws_lbc = a("service.beta.kubernetes.io/aws-load-balancer-type")
        .is_some_and(|t| t == "external" || t == "nlb-ip")
        || s.body.at("/spec/loadBalancerClass").and_then(Value::as_str)
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
        .at("/spec/loadBalancerSourceRanges")
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

/// A Service a route sends traffic to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The field naming it.
    pub field: String,
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The Service port it sends to (`None`: not given, any).
    pub port: Option<ServicePort>,
}

/// A Service port as a route names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServicePort {
    /// Its `port` number.
    Number(u64),
    /// Its `name`.
    Name(String),
}

impl ServicePort {
    /// The port a route's value names: a number, or a name (`extensions/v1beta1`'s
    /// `servicePort` is an int-or-string; a string of digits is taken as the number).
    fn of(v: Option<&Value>) -> Option<ServicePort> {
        match v? {
            Value::Number(n) => n.as_u64().map(ServicePort::Number),
            Value::String(s) => Some(match s.parse::<u64>() {
                Ok(n) => ServicePort::Number(n),
                Err(_) => ServicePort::Name(s.clone()),
            }),
            _ => None,
        }
    }

    /// The port a number field names (Gateway API, Istio: numbers only).
    fn number(v: Option<&Value>) -> Option<ServicePort> {
        v.and_then(Value::as_u64).map(ServicePort::Number)
    }

    /// Whether an entry of a Service's `spec.ports` is this port.
    pub fn is(&self, entry: &Value) -> bool {
        match self {
            ServicePort::Number(n) => entry.get("port").and_then(Value::as_u64) == Some(*n),
            ServicePort::Name(name) => {
                entry.get("name").and_then(Value::as_str) == Some(name.as_str())
            }
        }
    }
}

/// Each Service reference of an Ingress, with the field that holds it: the default backend and
/// every rule path (`extensions/v1beta1`'s `serviceName` and `spec.backend` forms too).
pub fn ingress_backend_refs(i: &Object) -> Vec<(String, String)> {
    ingress_backends_of(i)
        .into_iter()
        .map(|b| (b.field, b.name))
        .collect()
}

/// [`ingress_backend_refs`] with the Service ports they send to (`service.port.number` or
/// `.name`; `servicePort` in `extensions/v1beta1`).
fn ingress_backends_of(i: &Object) -> Vec<Backend> {
    let ns = i.effective_namespace().unwrap_or("default");
    let mut out = Vec::new();
    let mut add = |field: String, b: &Value| {
        let (name, sub, port) = match b.get("service") {
            Some(svc) => (
                svc.get("name"),
                "service.name",
                ServicePort::of(svc.at("/port/number").or_else(|| svc.at("/port/name"))),
            ),
            None => (
                b.get("serviceName"),
                "serviceName",
                ServicePort::of(b.get("servicePort")),
            ),
        };
        if let Some(name) = name.and_then(Value::as_str) {
            out.push(Backend {
                field: format!("{field}.{sub}"),
                namespace: ns.to_string(),
                name: name.to_string(),
                port,
            });
        }
    };
    for field in ["defaultBackend", "backend"] {
        if let Some(b) = i.body.at(&format!("/spec/{field}")) {
            add(format!("spec.{field}"), b);
        }
    }
    for (r, rule) in i
        .body
        .at("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (p, path) in rule
            .at("/http/paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(b) = path.get("backend") {
                add(format!("spec.rules[{r}].http.paths[{p}].backend"), b);
            }
        }
    }
    out
}

/// What decides a Gateway API Gateway's exposure and which routes may attach to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewayFacts {
    /// `spec.gatewayClassName`.
    pub class: String,
    /// `status.addresses` (and `spec.addresses`) values.
    pub addresses: Vec<String>,
    /// Listeners: (name, `allowedRoutes.namespaces.from`, its namespace selector).
    pub listeners: Vec<(String, String, crate::selector::LabelSelector)>,
}

/// GatewayClasses that provision an internet-facing load balancer by themselves.
pub fn public_gateway_class(class: &str) -> Option<&'static str> {
    match class {
        "gke-l7-global-external-managed"
        | "gke-l7-regional-external-managed"
        | "gke-l7-gxlb"
        | "gke-l7-global-external-managed-mc"
        | "gke-l7-gxlb-mc" => Some("provisions an external Google Cloud load balancer"),
        "azure-alb-external" => {
            Some("provisions a public Application Gateway for Containers frontend")
        }
        _ => None,
    }
}

/// The Gateway (`namespace/name`) a Service implements, by the labels implementations set:
/// `gateway.networking.k8s.io/gateway-name` (Istio, kgateway; same namespace) or Envoy
/// Gateway's `gateway.envoyproxy.io/owning-gateway-name` and `-namespace`.
pub fn implemented_gateway(s: &Object) -> Option<String> {
    if let (Some(name), Some(ns)) = (
        s.labels.get("gateway.envoyproxy.io/owning-gateway-name"),
        s.labels
            .get("gateway.envoyproxy.io/owning-gateway-namespace"),
    ) {
        return Some(format!("{ns}/{name}"));
    }
    let name = s.labels.get("gateway.networking.k8s.io/gateway-name")?;
    Some(format!(
        "{}/{name}",
        s.effective_namespace().unwrap_or("default")
    ))
}

fn is_gateway_api(o: &Object) -> bool {
    o.api_version.starts_with("gateway.networking.k8s.io/")
}

fn is_istio(o: &Object) -> bool {
    o.api_version.starts_with("networking.istio.io/")
}

/// Records the Gateway API Gateways, Istio Gateways and ReferenceGrants of `inv`.
pub(crate) fn gateway_facts(inv: &crate::inventory::Inventory<'_>, out: &mut Exposure) {
    for g in inv.of_kind("Gateway") {
        let key = format!(
            "{}/{}",
            g.effective_namespace().unwrap_or("default"),
            g.name
        );
        if is_gateway_api(g) {
            let listeners = g
                .body
                .at("/spec/listeners")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|l| {
                    let ns = l.at("/allowedRoutes/namespaces");
                    (
                        l.get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        ns.and_then(|n| n.get("from"))
                            .and_then(Value::as_str)
                            .unwrap_or("Same")
                            .to_string(),
                        crate::selector::LabelSelector::from_value(
                            ns.and_then(|n| n.get("selector")),
                        ),
                    )
                })
                .collect();
            let addresses = ["/status/addresses", "/spec/addresses"]
                .iter()
                .flat_map(|p| g.body.at(p).and_then(Value::as_array).into_iter().flatten())
                .filter_map(|a| a.get("value").and_then(Value::as_str).map(str::to_string))
                .collect();
            out.gateways.insert(
                key,
                GatewayFacts {
                    class: g
                        .body
                        .at("/spec/gatewayClassName")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    addresses,
                    listeners,
                },
            );
        } else if is_istio(g) {
            let selector = g
                .body
                .at("/spec/selector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            out.istio_gateways.insert(key, selector);
        }
    }
    for r in inv.of_kind("ReferenceGrant") {
        let to_ns = r.effective_namespace().unwrap_or("default").to_string();
        let tos: Vec<String> = r
            .body
            .at("/spec/to")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| {
                t.get("kind").and_then(Value::as_str) == Some("Service")
                    && t.get("group")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .is_empty()
            })
            .map(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("*")
                    .to_string()
            })
            .collect();
        for from in r
            .body
            .at("/spec/from")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if from.get("group").and_then(Value::as_str) != Some("gateway.networking.k8s.io") {
                continue;
            }
            let (Some(kind), Some(ns)) = (
                from.get("kind").and_then(Value::as_str),
                from.get("namespace").and_then(Value::as_str),
            ) else {
                continue;
            };
            for to in &tos {
                out.grants
                    .insert((to_ns.clone(), ns.to_string(), kind.to_string(), to.clone()));
            }
        }
    }
}

/// Kinds that route traffic from an entry point to Services.
pub const ROUTE_KINDS: &[&str] = &[
    "Ingress",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "TCPRoute",
    "UDPRoute",
    "VirtualService",
];

/// A route's parents: Gateway API `parentRefs` as `namespace/name` (and section), Istio
/// VirtualService `gateways` (the mesh left out).
pub fn route_parents(r: &Object) -> Vec<(String, Option<String>)> {
    let ns = r.effective_namespace().unwrap_or("default");
    if is_gateway_api(r) {
        return r
            .body
            .at("/spec/parentRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| {
                p.get("kind").and_then(Value::as_str).unwrap_or("Gateway") == "Gateway"
                    && p.get("group")
                        .and_then(Value::as_str)
                        .unwrap_or("gateway.networking.k8s.io")
                        == "gateway.networking.k8s.io"
            })
            .filter_map(|p| {
                let name = p.get("name")?.as_str()?;
                let pns = p.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                Some((
                    format!("{pns}/{name}"),
                    p.get("sectionName")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ))
            })
            .collect();
    }
    if is_istio(r) && r.kind == "VirtualService" {
        return r
            .body
            .at("/spec/gateways")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|g| *g != "mesh")
            .map(|g| match g.split_once('/') {
                Some((gns, name)) => (format!("{gns}/{name}"), None),
                None => (format!("{ns}/{g}"), None),
            })
            .collect();
    }
    Vec::new()
}

/// The Services a route sends traffic to, with the field naming each: Ingress backends, Gateway
/// API `backendRefs` (kind Service; their namespace, default the route's) and Istio
/// VirtualService destinations (`svc`, `svc.ns`, `svc.ns.svc[.cluster.local]`; other hosts
/// are outside the cluster).
pub fn route_backends(r: &Object) -> Vec<(String, String, String)> {
    backends(r)
        .into_iter()
        .map(|b| (b.field, b.namespace, b.name))
        .collect()
}

/// [`route_backends`] with the Service ports they send to (a Gateway API `backendRef`'s
/// `port`, an Istio destination's `port.number`, an Ingress backend's port).
pub fn backends(r: &Object) -> Vec<Backend> {
    let ns = r.effective_namespace().unwrap_or("default").to_string();
    if r.kind == "Ingress" {
        return ingress_backends_of(r);
    }
    let mut out = Vec::new();
    if is_gateway_api(r) {
        for (i, rule) in r
            .body
            .at("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            for (j, b) in rule
                .get("backendRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let kind = b.get("kind").and_then(Value::as_str).unwrap_or("Service");
                let group = b.get("group").and_then(Value::as_str).unwrap_or("");
                if kind != "Service" || !group.is_empty() {
                    continue;
                }
                if let Some(name) = b.get("name").and_then(Value::as_str) {
                    let bns = b.get("namespace").and_then(Value::as_str).unwrap_or(&ns);
                    out.push(Backend {
                        field: format!("spec.rules[{i}].backendRefs[{j}]"),
                        namespace: bns.to_string(),
                        name: name.to_string(),
                        port: ServicePort::number(b.get("port")),
                    });
                }
            }
        }
    } else if is_istio(r) && r.kind == "VirtualService" {
        for proto in ["http", "tls", "tcp"] {
            for (i, route) in r
                .body
                .at(&format!("/spec/{proto}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (j, d) in route
                    .get("route")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let Some(host) = d.at("/destination/host").and_then(Value::as_str) else {
                        continue;
                    };
                    // Istio expands only a bare short name (in the VirtualService's namespace);
                    // anything with a dot is a host name: `svc.ns.svc.<cluster domain>` is a
                    // Service, other names are outside the cluster.
                    let parts: Vec<&str> = host.split('.').collect();
                    let (svc, sns) = match parts.as_slice() {
                        [svc] => (*svc, ns.as_str()),
                        [svc, sns, "svc", domain @ ..] if !domain.is_empty() => (*svc, *sns),
                        _ => continue,
                    };
                    out.push(Backend {
                        field: format!("spec.{proto}[{i}].route[{j}].destination.host"),
                        namespace: sns.to_string(),
                        name: svc.to_string(),
                        port: ServicePort::number(d.at("/destination/port/number")),
                    });
                }
            }
        }
    }
    out
}

/// Internet-facing load balancers, the pods behind them and the Gateways they implement: what
/// decides whether an Ingress, a Gateway or an Istio Gateway in any namespace is reachable from
/// the internet, and who sends the requests it routes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposure {
    /// Internet-facing LoadBalancer Services whose pods' policies admit clients from outside,
    /// by reference.
    pub public_services: BTreeMap<String, PublicService>,
    /// The policies of the namespaces of [`Exposure::public_services`]: what their pods may
    /// send to (an ingress controller's or a gateway proxy's egress).
    pub public_policies: crate::netpol::Model,
    /// Gateway API Gateways (`namespace/name`) and what decides their exposure.
    pub gateways: BTreeMap<String, GatewayFacts>,
    /// Istio Gateways (`namespace/name`) → their workload selector.
    pub istio_gateways: BTreeMap<String, BTreeMap<String, String>>,
    /// ReferenceGrants: (target namespace, from namespace, from kind, Service name or `*`).
    pub grants: BTreeSet<(String, String, String, String)>,
}

/// The routes (Ingresses, Gateway API routes, Istio VirtualServices) whose reading of the
/// exposure a change may alter ([`Exposure::route_readers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteReaders {
    /// None: every answer is the same.
    None,
    /// The Ingresses at these addresses, and the routes of these namespaces.
    Some {
        /// Addresses of load balancers that changed, or whose pods' namespaces' policies or
        /// labels did.
        addresses: BTreeSet<String>,
        /// Namespaces whose labels the policies read otherwise.
        namespaces: BTreeSet<String>,
    },
    /// Every route.
    Every,
}

impl RouteReaders {
    /// Whether the routes of namespace `ns`, its Ingresses at `addresses`, are among them.
    pub fn include(&self, ns: &str, addresses: &BTreeSet<String>) -> bool {
        match self {
            RouteReaders::None => false,
            RouteReaders::Every => true,
            RouteReaders::Some {
                addresses: changed,
                namespaces,
            } => namespaces.contains(ns) || !addresses.is_disjoint(changed),
        }
    }
}

/// An internet-facing LoadBalancer Service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublicService {
    /// Its addresses (`status.loadBalancer.ingress`).
    pub addresses: Vec<String>,
    /// The Gateway (`namespace/name`) it implements, by the labels implementations put on it
    /// ([`implemented_gateway`]).
    pub gateway: Option<String>,
    /// The pods it routes to, as policies see them, each with the IngressClass controllers
    /// their images implement ([`crate::image::ingress_controller`]).
    pub pods: Vec<(Vec<&'static str>, crate::netpol::Pods)>,
}

impl PublicService {
    /// The pods it routes to.
    fn senders(&self) -> impl Iterator<Item = &crate::netpol::Pods> {
        self.pods.iter().map(|(_, p)| p)
    }

    /// Whether `a` is one of its addresses.
    fn has_address(&self, a: &str) -> bool {
        self.addresses.iter().any(|x| x == a)
    }
}

/// Who sends the requests an internet-facing Ingress or Gateway routes to its backends.
#[derive(Debug, Clone)]
pub enum Senders<'e> {
    /// A cloud load balancer outside the cluster: they arrive as from outside.
    Outside,
    /// Pods behind internet-facing LoadBalancers (an ingress controller, gateway proxies), by
    /// reference, each once.
    Pods(Vec<&'e crate::netpol::Pods>),
    /// Not known (a cloud's in-cluster controller whose pods the input does not show): the
    /// routes are not checked against policies.
    Unknown,
}

impl<'e> Senders<'e> {
    /// The pods, by reference, each once.
    fn pods(pods: impl IntoIterator<Item = &'e crate::netpol::Pods>) -> Senders<'e> {
        let mut pods: Vec<&crate::netpol::Pods> = pods.into_iter().collect();
        pods.sort_by(|a, b| a.reference.cmp(&b.reference));
        pods.dedup_by(|a, b| a.reference == b.reference);
        Senders::Pods(pods)
    }
}

impl Exposure {
    /// What the namespace parts' exposures (`parts`, in turn) hold together: the load
    /// balancers, gateways and grants of each, and the policies of the parts with internet-facing
    /// load balancers, read with the Namespaces' labels `shared` holds (the cluster's as they
    /// are, not the copies each part was evaluated with).
    pub fn gathered<'e>(
        parts: impl IntoIterator<Item = &'e Exposure>,
        shared: &crate::netpol::Model,
    ) -> Exposure {
        let mut out = Exposure::default();
        let mut public = Vec::new();
        for other in parts {
            out.public_services.extend(
                other
                    .public_services
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            if !other.public_services.is_empty() {
                public.push(&other.public_policies);
            }
            out.gateways
                .extend(other.gateways.iter().map(|(k, v)| (k.clone(), v.clone())));
            out.istio_gateways.extend(
                other
                    .istio_gateways
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            out.grants.extend(other.grants.iter().cloned());
        }
        if !public.is_empty() {
            let mut policies = crate::netpol::Model::default();
            policies.merge_policies_of(public);
            out.public_policies = policies.with_namespaces_of(shared);
        }
        out
    }

    /// Whether `other` tells every reader what this exposure tells: the same load balancers,
    /// gateways and grants, and policies that answer alike ([`crate::netpol::Model::reads_alike`]:
    /// a Namespace's labels that no namespace selector of theirs reads do not count).
    pub fn reads_alike(&self, other: &Exposure) -> bool {
        let Exposure {
            public_services,
            public_policies,
            gateways,
            istio_gateways,
            grants,
        } = self;
        *public_services == other.public_services
            && *gateways == other.gateways
            && *istio_gateways == other.istio_gateways
            && *grants == other.grants
            && public_policies.reads_alike(&other.public_policies)
    }

    /// Which routes may read otherwise in `new` than in this exposure (see [`RouteReaders`]).
    ///
    /// A route reads the exposure through the load balancers at its Ingress's addresses, the
    /// ones in front of ingress controllers or implementing Gateways, the Gateways, Istio
    /// Gateways and ReferenceGrants, and — for the pods behind those that send what it routes —
    /// their namespaces' policies and labels and its own namespace's labels (its namespace
    /// selectors' targets). So a change to a load balancer that runs no controller, implements
    /// no Gateway and is at no Gateway's address, or to the policies or labels of its pods'
    /// namespaces, is read by the Ingresses at its addresses alone; a change to the labels of a
    /// namespace, by that namespace's routes too; anything else, by every route.
    pub fn route_readers(&self, new: &Exposure) -> RouteReaders {
        if self.reads_alike(new) {
            return RouteReaders::None;
        }
        if self.gateways != new.gateways
            || self.istio_gateways != new.istio_gateways
            || self.grants != new.grants
        {
            return RouteReaders::Every;
        }
        let (old_policies, new_policies) = (&self.public_policies, &new.public_policies);
        let Some(mut namespaces) = old_policies.policies_changed_in(new_policies) else {
            return RouteReaders::Every;
        };
        let known = old_policies
            .known_namespaces()
            .chain(new_policies.known_namespaces());
        let relabeled = old_policies.namespaces_read_otherwise(new_policies, known);
        namespaces.extend(relabeled.iter().cloned());
        let gateway_addresses: BTreeSet<&str> = (self.gateways.values())
            .flat_map(|g| g.addresses.iter().map(String::as_str))
            .collect();
        let mut addresses = BTreeSet::new();
        let services = self.public_services.iter().chain(&new.public_services);
        for (key, s) in services {
            let changed = self.public_services.get(key) != new.public_services.get(key);
            let sends_from_changed = s.senders().any(|p| namespaces.contains(&p.namespace));
            if !changed && !sends_from_changed {
                continue;
            }
            let read_beyond_its_addresses = s.gateway.is_some()
                || s.pods
                    .iter()
                    .any(|(controllers, _)| !controllers.is_empty())
                || !self.istio_gateways.is_empty()
                || s.addresses
                    .iter()
                    .any(|a| gateway_addresses.contains(a.as_str()));
            if read_beyond_its_addresses {
                return RouteReaders::Every;
            }
            addresses.extend(s.addresses.iter().cloned());
        }
        RouteReaders::Some {
            addresses,
            namespaces: relabeled,
        }
    }

    /// Whether `a` is an internet-facing LoadBalancer's address.
    pub fn is_public_address(&self, a: &str) -> bool {
        self.public_services.values().any(|s| s.has_address(a))
    }

    /// The pods behind the internet-facing LoadBalancers with address `a`.
    pub fn pods_at<'e>(&'e self, a: &str) -> Senders<'e> {
        let pods: Vec<&'e crate::netpol::Pods> = self
            .public_services
            .values()
            .filter(|s| s.has_address(a))
            .flat_map(PublicService::senders)
            .collect();
        Senders::pods(pods)
    }

    /// The first internet-facing LoadBalancer (by reference) in front of pods that run ingress
    /// controller `controller`, and every such pod behind one.
    pub fn controller(&self, controller: &str) -> Option<(&str, Senders<'_>)> {
        let runs = |(c, _): &&(Vec<&'static str>, crate::netpol::Pods)| c.contains(&controller);
        let first = self
            .public_services
            .iter()
            .find(|(_, s)| s.pods.iter().any(|p| runs(&p)))?;
        let pods = self
            .public_services
            .values()
            .flat_map(|s| s.pods.iter().filter(runs).map(|(_, p)| p));
        Some((first.0.as_str(), Senders::pods(pods)))
    }

    /// Why a Gateway API Gateway (`namespace/name`) is internet-facing, if it is, and who
    /// sends what its routes carry: the pods behind every internet-facing LoadBalancer that
    /// implements it (the evidence names the first by reference), else behind those at its
    /// address, else a cloud load balancer of its class.
    pub fn public_gateway(&self, key: &str) -> Option<(String, Senders<'_>)> {
        let g = self.gateways.get(key)?;
        let implementing = || {
            self.public_services
                .iter()
                .filter(|(_, s)| s.gateway.as_deref() == Some(key))
        };
        if let Some((svc, _)) = implementing().next() {
            return Some((
                format!("Gateway {key} is implemented by {svc}, an internet-facing LoadBalancer"),
                Senders::pods(implementing().flat_map(|(_, s)| s.senders())),
            ));
        }
        if let Some(a) = g.addresses.iter().find(|a| self.is_public_address(a)) {
            return Some((
                format!("Gateway {key} has address {a}, an internet-facing LoadBalancer's"),
                self.pods_at(a),
            ));
        }
        public_gateway_class(&g.class).map(|why| {
            (
                format!("Gateway {key}: GatewayClass {} {why}", g.class),
                Senders::Outside,
            )
        })
    }

    /// Why an Istio Gateway (`namespace/name`) is internet-facing, if it is — its selector
    /// picks pods behind an internet-facing LoadBalancer (the evidence names the one whose pods
    /// have the smallest label map, then the first by reference) — and those pods.
    pub fn public_istio_gateway(&self, key: &str) -> Option<(String, Senders<'_>)> {
        let selector = self.istio_gateways.get(key)?;
        let picked: Vec<(&String, &crate::netpol::Pods)> = self
            .public_services
            .iter()
            .flat_map(|(svc, s)| s.pods.iter().map(move |(_, p)| (svc, p)))
            .filter(|(_, p)| selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
            .collect();
        let (_, svc) = picked.iter().map(|(svc, p)| (&p.labels, *svc)).min()?;
        Some((
            format!("Istio Gateway {key} selects the gateway pods behind {svc}, an internet-facing LoadBalancer"),
            Senders::pods(picked.into_iter().map(|(_, p)| p)),
        ))
    }
}
