//! Exposure: the internet, load balancers, NodePorts, Ingresses and Gateways in front of Services, the pods Services select, and the backends of mutating webhooks (INTERNET_TO_LB, INTERNET_TO_NODEPORT, INTERNET_TO_INGRESS, INTERNET_TO_GATEWAY, SVC_SELECTS_POD, CONTROL_WEBHOOK from a backend).

use super::*;
use crate::exposure::{PublicService, Senders, ServicePort};
use crate::pointer::Pointer as _;

impl ClusterBuilder<'_, '_> {
    pub(super) fn services_and_exposure(&mut self) {
        let routing = Routing::of(self.inv, self.facts.has_slices);
        let external_ip_node = self
            .inv
            .of_kind("Node")
            .iter()
            .any(|n| super::nodes::has_external_ip(n));
        let internet = self.g.node(None, "Internet", NodeKind::Internet);
        for s in self.inv.of_kind("Service").to_vec() {
            let si = self.n(&s.node_ref(), NodeKind::Service);
            let ty = s
                .body
                .at("/spec/type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            let selected = routing.selected(s);
            let public = crate::exposure::internet_facing(s, self.cluster.info.provider);
            let node_port = ty == "NodePort" && external_ip_node;
            // The internet reaches the Service's pods only where their ingress policies admit
            // a client from outside the cluster (or cannot tell).
            let admitted = (public.is_some() || node_port)
                .then(|| admits_outside(self.policies(), s, &selected, &[]))
                .flatten();
            if let Some(ev) = public {
                if let Some(why) = &admitted {
                    self.g.edge_fixed(
                        internet,
                        si,
                        T::INTERNET_TO_LB,
                        format!("{ev}{why}"),
                        vec![Remedy::internal_service(self.name, s, ty)],
                    );
                }
            }
            if node_port {
                if let Some(why) = &admitted {
                    self.g.edge_fixed(
                        internet,
                        si,
                        T::INTERNET_TO_NODEPORT,
                        format!("type NodePort and a node has an ExternalIP address{why}"),
                        vec![Remedy::internal_service(self.name, s, ty)],
                    );
                }
            }
            let webhooks = mutating_webhooks_served_by(self.inv, s);
            for t in selected {
                if !webhooks.is_empty() {
                    self.webhook_backend(&t.owner.node_ref(), &webhooks);
                }
                if let Some(m) = self.members.get_mut(&t.owner.node_ref()) {
                    for p in target_ports(s, &t) {
                        if !m.listens.contains(&p) {
                            m.listens.push(p);
                        }
                    }
                }
                let endpoint = self.n(
                    &format!("Endpoint:{}", t.owner.node_ref()),
                    NodeKind::Endpoint,
                );
                self.g.edge(
                    si,
                    endpoint,
                    T::SVC_SELECTS_POD,
                    format!(
                        "selector {} matches the pod labels; {}",
                        s.body
                            .at("/spec/selector")
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        service_ports(s)
                    ),
                );
            }
        }
        let facts = self.facts;
        let exposure = &facts.exposure;
        let services = services_by_name(self.inv);
        // Ingresses whose address is a public load balancer's, or a cloud-managed public one.
        for i in self.inv.of_kind("Ingress").to_vec() {
            let addrs = crate::exposure::addresses(i);
            let cloud_public = cloud_managed_public_ingress(i);
            let via = addrs.iter().find(|a| exposure.is_public_address(a));
            let by_class = self
                .ingress_controller(i)
                .and_then(|c| exposure.controller(&c).map(|(svc, pods)| (c, svc, pods)));
            let (ev, senders) = match (via, cloud_public, by_class) {
                (Some(a), _, _) => (
                    format!("address {a} is an internet-facing LoadBalancer's (the ingress controller)"),
                    exposure.pods_at(a),
                ),
                (None, Some((why, senders)), _) if !addrs.is_empty() => (why.to_string(), senders),
                (None, _, Some((controller, svc, pods))) => (
                    format!("its ingress class is served by {controller}, whose {svc} is an internet-facing LoadBalancer"),
                    pods,
                ),
                _ => continue,
            };
            let ii = self.n(&i.node_ref(), NodeKind::Ingress);
            self.g.edge(internet, ii, T::INTERNET_TO_INGRESS, ev);
            let mut backends: BTreeMap<(String, String), Vec<Option<ServicePort>>> =
                BTreeMap::new();
            for b in crate::exposure::backends(i) {
                backends
                    .entry((b.namespace, b.name))
                    .or_default()
                    .push(b.port);
            }
            for ((ns, backend), ports) in backends {
                let target = services.get(&(ns.as_str(), backend.as_str())).copied();
                let Some(why) = self.route_admitted(&routing, &senders, target, &ports) else {
                    continue;
                };
                let si = self.n(&format!("Service:{ns}/{backend}"), NodeKind::Service);
                self.g.edge_fixed(
                    ii,
                    si,
                    T::INTERNET_TO_INGRESS,
                    format!("rule backend Service {ns}/{backend}{why}"),
                    vec![Remedy::unroute(self.name, i, &backend)],
                );
            }
        }
        self.gateway_routes(internet, &routing, &services);
    }

    /// Whether what an internet-facing Ingress or Gateway forwards reaches a pod behind its
    /// backend Service `target` on one of `ports` (a `None` among them: any port): `None` when
    /// the policies deny it for every pod, port and sender, else the words to add to the
    /// route's evidence (empty when no policy applies, or the senders, the Service or its pods
    /// are not known).
    fn route_admitted(
        &self,
        routing: &Routing<'_>,
        senders: &Senders<'_>,
        target: Option<&Object>,
        ports: &[Option<ServicePort>],
    ) -> Option<String> {
        let Some(s) = target else {
            return Some(String::new());
        };
        let only: Vec<&ServicePort> = if ports.iter().any(Option::is_none) {
            Vec::new()
        } else {
            ports.iter().flatten().collect()
        };
        let selected = routing.selected(s);
        match senders {
            Senders::Outside => admits_outside(self.policies(), s, &selected, &only),
            Senders::Pods(pods) => admits_pods(
                &self.facts.exposure.public_policies,
                self.policies(),
                pods,
                s,
                &selected,
                &only,
            ),
            Senders::Unknown => Some(String::new()),
        }
    }

    /// Gateway API routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) attached to an
    /// internet-facing Gateway whose listener admits the route's namespace, and Istio
    /// VirtualServices bound to an internet-facing Istio Gateway: Internet → Gateway → each
    /// backend Service (another namespace's only under a ReferenceGrant, for Gateway API) whose
    /// pods the gateway's may reach.
    pub(super) fn gateway_routes(
        &mut self,
        internet: NodeIndex,
        routing: &Routing<'_>,
        services: &HashMap<(&str, &str), &Object>,
    ) {
        // The facts outlive this builder's borrow: no copy needed to add edges meanwhile.
        let facts = self.facts;
        let (exposure, labels) = (&facts.exposure, &facts.namespace_labels);
        for kind in crate::exposure::ROUTE_KINDS
            .iter()
            .filter(|k| **k != "Ingress")
        {
            for r in self.inv.of_kind(kind).to_vec() {
                let ns = r.effective_namespace().unwrap_or("default").to_string();
                let istio = r.api_version.starts_with("networking.istio.io/");
                for (gw, section) in crate::exposure::route_parents(r) {
                    let (public, attach) = if istio {
                        (exposure.public_istio_gateway(&gw), None)
                    } else {
                        let facts = exposure.gateways.get(&gw);
                        let gw_ns = gw.split('/').next().unwrap_or("");
                        let listener = facts.and_then(|f| {
                            f.listeners.iter().find(|(name, from, selector)| {
                                section.as_ref().is_none_or(|s| s == name)
                                    && match from.as_str() {
                                        "All" => true,
                                        "Selector" => {
                                            labels.get(&ns).is_some_and(|l| selector.matches(l))
                                        }
                                        _ => gw_ns == ns,
                                    }
                            })
                        });
                        match listener {
                            Some((name, from, _)) => (
                                exposure.public_gateway(&gw),
                                Some(format!(
                                    "listener {name} admits routes from {}",
                                    if from == "All" {
                                        "every namespace".to_string()
                                    } else {
                                        format!("namespace {ns}")
                                    }
                                )),
                            ),
                            None => (None, None),
                        }
                    };
                    let Some((why, senders)) = public else {
                        continue;
                    };
                    let gi = self.n(&format!("Gateway:{gw}"), NodeKind::Ingress);
                    self.g.edge(internet, gi, T::INTERNET_TO_GATEWAY, why);
                    for b in crate::exposure::backends(r) {
                        let (bns, svc) = (&b.namespace, &b.name);
                        let granted = istio
                            || *bns == ns
                            || [svc.as_str(), "*"].iter().any(|to| {
                                exposure.grants.contains(&(
                                    bns.clone(),
                                    ns.clone(),
                                    r.kind.clone(),
                                    to.to_string(),
                                ))
                            });
                        if !granted {
                            continue;
                        }
                        // Another namespace's Service and pods are not in a namespace part's
                        // input: its route is kept, unchecked, whatever the part.
                        let admitted = if *bns == ns {
                            let target = services.get(&(bns.as_str(), svc.as_str())).copied();
                            let ports = [b.port.clone()];
                            match self.route_admitted(routing, &senders, target, &ports) {
                                Some(admitted) => admitted,
                                None => continue,
                            }
                        } else if matches!(senders, Senders::Unknown) {
                            String::new()
                        } else {
                            "; not checked against network policies: the Service is in another namespace than the route".to_string()
                        };
                        let si = self.n(&format!("Service:{bns}/{svc}"), NodeKind::Service);
                        self.g.edge(
                            gi,
                            si,
                            T::INTERNET_TO_GATEWAY,
                            format!(
                                "{} {ns}/{} routes to Service {bns}/{svc}{}{admitted}",
                                r.kind,
                                r.name,
                                attach
                                    .as_ref()
                                    .map(|a| format!(" ({a})"))
                                    .unwrap_or_default()
                            ),
                        );
                    }
                }
            }
        }
    }

    /// The pods behind a mutating admission webhook's Service answer every pod admission the
    /// webhook covers: code execution there rewrites those pods (ServiceAccount, privileges).
    pub(super) fn webhook_backend(&mut self, wref: &str, webhooks: &[(String, LabelSelector)]) {
        let w = self.n(wref, NodeKind::Workload);
        let labels = &self.facts.namespace_labels;
        for (name, selector) in webhooks {
            let covered: Vec<&String> = labels
                .iter()
                .filter(|(_, l)| selector.matches(l))
                .map(|(n, _)| n)
                .collect();
            let why = format!(
                "{wref} serves mutating webhook {name}, which patches pods as they are created"
            );
            if selector.is_empty() {
                let sas = self.n("ServiceAccounts:*", NodeKind::Hub);
                self.g.edge(
                    w,
                    sas,
                    T::CONTROL_WEBHOOK,
                    format!("{why} in every namespace"),
                );
            } else {
                for ns in &covered {
                    let sas = self.n(&format!("ServiceAccounts:{ns}"), NodeKind::Hub);
                    self.g.edge(
                        w,
                        sas,
                        T::CONTROL_WEBHOOK,
                        format!("{why} in namespace {ns} (its namespaceSelector matches)"),
                    );
                }
            }
            let open = covered
                .iter()
                .find(|ns| self.privileged_allowed(Some(ns.as_str())));
            if let Some(ns) = open {
                let any_node = self.n("Node:*", NodeKind::Node);
                self.g.edge(
                    w,
                    any_node,
                    T::CONTROL_WEBHOOK,
                    format!("{why}; Pod Security admits privileged pods in namespace {ns}, which it covers"),
                );
            }
        }
    }

    /// The controller that serves an Ingress: its class (field or annotation, else the default
    /// IngressClass) → the IngressClass's `spec.controller`, or the usual controller of a
    /// well-known class name when the snapshot has no IngressClass objects.
    pub(super) fn ingress_controller(&self, i: &Object) -> Option<String> {
        let classes = self.inv.of_kind("IngressClass");
        let name = i
            .body
            .at("/spec/ingressClassName")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| i.annotations.get("kubernetes.io/ingress.class").cloned())
            .or_else(|| {
                classes
                    .iter()
                    .find(|c| {
                        c.annotations
                            .get("ingressclass.kubernetes.io/is-default-class")
                            .map(String::as_str)
                            == Some("true")
                    })
                    .map(|c| c.name.clone())
            })?;
        if let Some(c) = classes.iter().find(|c| c.name == name) {
            return c
                .body
                .at("/spec/controller")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        let guess = match name.as_str() {
            "nginx" | "ingress-nginx" => "k8s.io/ingress-nginx",
            "traefik" => "traefik.io/ingress-controller",
            "haproxy" => "haproxy.org/ingress-controller/haproxy",
            "kong" => "ingress-controllers.konghq.com/kong",
            "contour" => "projectcontour.io/ingress-controller",
            _ => return None,
        };
        Some(guess.to_string())
    }
}

impl Exposure {
    /// The exposure the Services, Gateways and ReferenceGrants of `inv` create (with the
    /// cluster facts it reads: EndpointSlices, network-plugin policies). A LoadBalancer whose
    /// pods' NetworkPolicies admit no client from outside exposes nothing.
    pub fn of(inv: &Inventory<'_>, facts: &ClusterFacts) -> Exposure {
        let mut out = Exposure::default();
        crate::exposure::gateway_facts(inv, &mut out);
        let provider = inv.cluster.info.provider;
        let lbs: Vec<(&Object, String)> = inv
            .of_kind("Service")
            .iter()
            .filter_map(|s| Some((*s, crate::exposure::internet_facing(s, provider)?)))
            .collect();
        if lbs.is_empty() {
            return out;
        }
        let routing = Routing::of(inv, facts.has_slices);
        let policies = facts.network_model(inv);
        for (s, _) in lbs {
            let selected = routing.selected(s);
            if admits_outside(&policies, s, &selected, &[]).is_none() {
                continue;
            }
            let sref = s.node_ref();
            let pods = selected
                .iter()
                .map(|t| {
                    let controllers = t
                        .containers()
                        .filter_map(|c| crate::image::ingress_controller(c.image()))
                        .collect();
                    (controllers, crate::netpol::Pods::of(t))
                })
                .collect();
            let addresses = crate::exposure::addresses(s);
            let gateway = crate::exposure::implemented_gateway(s);
            out.public_services.insert(
                sref,
                PublicService {
                    addresses,
                    gateway,
                    pods,
                },
            );
        }
        if !out.public_services.is_empty() {
            out.public_policies = policies;
        }
        out
    }
}

/// Services with at least one ready endpoint (when the snapshot has EndpointSlices).
pub(super) fn ready_services(inv: &Inventory<'_>) -> HashSet<(String, String)> {
    inv.of_kind("EndpointSlice")
        .iter()
        .filter(|e| {
            e.body
                .get("endpoints")
                .and_then(Value::as_array)
                .is_some_and(|eps| {
                    eps.iter().any(|ep| {
                        ep.at("/conditions/ready").and_then(Value::as_bool) != Some(false)
                    })
                })
        })
        .filter_map(|e| {
            Some((
                e.effective_namespace()?.to_string(),
                e.labels.get("kubernetes.io/service-name")?.clone(),
            ))
        })
        .collect()
}

/// Pod templates with their labels.
pub(super) type Labelled<'a> = Vec<(PodTemplate<'a>, BTreeMap<String, String>)>;

/// What decides which pod templates a Service routes to: the templates of each namespace with
/// their labels, and the Services with a ready endpoint.
pub(super) struct Routing<'a> {
    by_ns: HashMap<&'a str, Labelled<'a>>,
    slices: HashSet<(String, String)>,
    has_slices: bool,
}

impl<'a> Routing<'a> {
    fn of(inv: &Inventory<'a>, has_slices: bool) -> Self {
        let mut by_ns: HashMap<&'a str, Labelled<'a>> = HashMap::new();
        for t in inv.templates() {
            by_ns
                .entry(t.owner.effective_namespace().unwrap_or("default"))
                .or_default()
                .push((*t, LabelSelector::labels_of(t.metadata)));
        }
        Routing {
            by_ns,
            slices: ready_services(inv),
            has_slices,
        }
    }

    /// The pod templates of its namespace a Service routes to: its selector matches their
    /// labels, a port resolves, and (when the cluster has EndpointSlices) it has a ready
    /// endpoint.
    fn selected(&self, s: &Object) -> Vec<PodTemplate<'a>> {
        let ns = s.effective_namespace().unwrap_or("default");
        let Some(sel) = LabelSelector::from_map(s.body.at("/spec/selector")) else {
            return Vec::new();
        };
        if self.has_slices && !self.slices.contains(&(ns.to_string(), s.name.clone())) {
            return Vec::new();
        }
        let ports: Vec<&Value> = s
            .body
            .at("/spec/ports")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        self.by_ns
            .get(ns)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(|(_, labels)| sel.matches(labels))
            .filter(|(t, _)| ports.is_empty() || ports.iter().any(|p| target_port_resolves(p, t)))
            .map(|(t, _)| *t)
            .collect()
    }
}

/// Cloud-managed ingress classes that create their own public load balancer, and who sends
/// what it routes: a cloud load balancer outside the cluster, or (AKS application routing) an
/// in-cluster NGINX the Ingress's address does not point at in the input.
pub(super) fn cloud_managed_public_ingress(i: &Object) -> Option<(&'static str, Senders<'static>)> {
    let class = i
        .body
        .at("/spec/ingressClassName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| i.annotations.get("kubernetes.io/ingress.class").cloned())
        .unwrap_or_default();
    let a = |k: &str| i.annotations.get(k).map(String::as_str);
    let why = match class.as_str() {
        "gce" => "GKE's gce ingress class provisions an external HTTP(S) load balancer",
        "alb" if a("alb.ingress.kubernetes.io/scheme") == Some("internet-facing") => {
            "ALB ingress with alb.ingress.kubernetes.io/scheme: internet-facing"
        }
        "azure-application-gateway" | "webapprouting.kubernetes.azure.com"
            if a("appgw.ingress.kubernetes.io/use-private-ip") != Some("true") =>
        {
            "Azure Application Gateway ingress on a public frontend"
        }
        _ => return None,
    };
    let senders = if class == "webapprouting.kubernetes.azure.com" {
        Senders::Unknown
    } else {
        Senders::Outside
    };
    Some((why, senders))
}

/// A Service port's targetPort resolves on the pod: numbers always do (containerPort is only
/// informational); names must match a named containerPort.
pub(super) fn target_port_resolves(port: &Value, t: &PodTemplate<'_>) -> bool {
    match port.get("targetPort") {
        Some(Value::String(name)) => match name.parse::<u16>() {
            Ok(_) => true,
            Err(_) => t.containers().any(|c| {
                c.container
                    .get("ports")
                    .and_then(Value::as_array)
                    .is_some_and(|ps| {
                        ps.iter()
                            .any(|p| p.get("name").and_then(Value::as_str) == Some(name.as_str()))
                    })
            }),
        },
        _ => true,
    }
}

/// What one connection to a pod behind a Service decides for a route to it.
enum Decided {
    /// Allowed, no policy applying: nothing to add to the evidence.
    Open,
    /// Allowed by policies: the words to add.
    Allowed(String),
    /// Not decidable: the words to add.
    Undecided(String),
    /// Denied.
    Denied,
}

/// Whether some connection to a pod behind Service `s` on a port it sends to (of `only`, when
/// not empty) is allowed, each decided by `decide` (the workload, its pods, the port and
/// protocol), workloads by reference: `None` when every one is denied, else the words the first
/// allowed (else the first undecided) adds to the evidence — empty when no pod is selected or
/// no port resolves.
fn first_admitted(
    s: &Object,
    selected: &[PodTemplate<'_>],
    only: &[&ServicePort],
    mut decide: impl FnMut(&PodTemplate<'_>, &crate::netpol::Party, u16, &str) -> Decided,
) -> Option<String> {
    let mut by_reference: Vec<&PodTemplate<'_>> = selected.iter().collect();
    if by_reference.len() > 1 {
        by_reference.sort_by_cached_key(|t| t.owner.node_ref());
    }
    let mut undecided = None;
    let mut evaluated = false;
    for t in by_reference {
        let to = crate::netpol::Party::Pods(crate::netpol::Pods::of(t));
        for (port, protocol) in routed_ports(s, t, only) {
            evaluated = true;
            match decide(t, &to, port, &protocol) {
                Decided::Open => return Some(String::new()),
                Decided::Allowed(why) => return Some(why),
                Decided::Undecided(why) => {
                    undecided.get_or_insert(why);
                }
                Decided::Denied => {}
            }
        }
    }
    if !evaluated {
        return Some(String::new());
    }
    undecided
}

/// Whether some pod behind Service `s` admits a connection from outside the cluster on a
/// port the Service sends to (of `only`, when not empty): `None` when the NetworkPolicies deny
/// it for every selected workload, else the words to add to the exposure's evidence (empty
/// when no policy applies to the pods, or no pod is selected). A NodePort or LoadBalancer
/// Service with `externalTrafficPolicy: Cluster` (the default) may be reached through another
/// node, from that node's address; a ClusterIP Service behind a cloud load balancer is reached
/// directly, from the load balancer's.
pub(super) fn admits_outside(
    policies: &crate::netpol::Model,
    s: &Object,
    selected: &[PodTemplate<'_>],
    only: &[&ServicePort],
) -> Option<String> {
    use crate::netpol::{Answer, Party};
    let field = |f: &str| s.body.at(f).and_then(Value::as_str);
    let direct = field("/spec/externalTrafficPolicy") == Some("Local")
        || matches!(field("/spec/type"), None | Some("ClusterIP"));
    first_admitted(s, selected, only, |t, to, port, protocol| {
        let v = policies.connect(&Party::Outside, to, port, protocol);
        let ingress = v.ingress.unwrap_or_default();
        if ingress.is_open() {
            return Decided::Open;
        }
        if !direct && v.answer != Answer::Yes {
            let how = if ingress.isolated_by.is_empty() {
                "denied"
            } else {
                "isolated"
            };
            return Decided::Undecided(format!(
                "; ingress of {} is {how} by {}, but with externalTrafficPolicy Cluster the connection may arrive from the node's own address, which NetworkPolicies never block",
                t.owner.node_ref(),
                ingress.deciders().join(", ")
            ));
        }
        match v.answer {
            Answer::Yes => Decided::Allowed(format!(
                "; ingress of {} on {port}/{protocol} allowed by {}",
                t.owner.node_ref(),
                ingress.allowed_by.join(", ")
            )),
            Answer::Unknown => Decided::Undecided(format!(
                "; ingress of {} on {port}/{protocol} from outside the cluster not decidable: {}",
                t.owner.node_ref(),
                v.notes.join("; ")
            )),
            Answer::No => Decided::Denied,
        }
    })
}

/// Whether some of `senders` (pods behind an internet-facing LoadBalancer: an ingress
/// controller, gateway proxies; by reference) may connect to some pod behind Service `s` on a
/// port it sends to (of `only`, when not empty) — their egress by `source` (the policies of
/// their namespaces), the pod's ingress by `policies`: `None` when every such connection is
/// denied, else the words to add to the route's evidence (empty when no policy applies to
/// either side, or there is no sender or no pod).
pub(super) fn admits_pods(
    source: &crate::netpol::Model,
    policies: &crate::netpol::Model,
    senders: &[&crate::netpol::Pods],
    s: &Object,
    selected: &[PodTemplate<'_>],
    only: &[&ServicePort],
) -> Option<String> {
    use crate::netpol::{Answer, Party};
    if senders.is_empty() {
        return Some(String::new());
    }
    let froms: Vec<Party> = senders.iter().map(|p| Party::Pods((*p).clone())).collect();
    first_admitted(s, selected, only, |t, to, port, protocol| {
        let mut undecided = None;
        for (from, sender) in froms.iter().zip(senders) {
            let v = policies.connect_from(source, from, to, port, protocol);
            let (egress, ingress) = (v.egress.unwrap_or_default(), v.ingress.unwrap_or_default());
            let (from, to) = (&sender.reference, || t.owner.node_ref());
            match v.answer {
                Answer::Yes if egress.is_open() && ingress.is_open() => return Decided::Open,
                Answer::Yes => {
                    let by = |side: &crate::netpol::Side, what: &str| {
                        (!side.is_open())
                            .then(|| format!("{what} allowed by {}", side.allowed_by.join(", ")))
                    };
                    let why: Vec<String> = [by(&egress, "egress"), by(&ingress, "ingress")]
                        .into_iter()
                        .flatten()
                        .collect();
                    return Decided::Allowed(format!(
                        "; {from} may connect to {} on {port}/{protocol}: {}",
                        to(),
                        why.join(", ")
                    ));
                }
                Answer::Unknown => {
                    undecided.get_or_insert_with(|| {
                        format!(
                            "; whether {from} may connect to {} on {port}/{protocol} is not decidable: {}",
                            to(),
                            v.notes.join("; ")
                        )
                    });
                }
                Answer::No => {}
            }
        }
        undecided.map_or(Decided::Denied, Decided::Undecided)
    })
}

/// The Services of `inv` by (namespace, name).
fn services_by_name<'a>(inv: &Inventory<'a>) -> HashMap<(&'a str, &'a str), &'a Object> {
    inv.of_kind("Service")
        .iter()
        .map(|s| {
            (
                (
                    s.effective_namespace().unwrap_or("default"),
                    s.name.as_str(),
                ),
                *s,
            )
        })
        .collect()
}

/// The ports a Service sends to on the pods of `t`: (port, protocol) of each `targetPort`
/// (the `port` when left out, a name looked up among the containers' ports).
pub(super) fn target_ports(s: &Object, t: &PodTemplate<'_>) -> Vec<(u16, String)> {
    routed_ports(s, t, &[])
}

/// [`target_ports`] of the Service ports in `only` (every port when it is empty).
fn routed_ports(s: &Object, t: &PodTemplate<'_>, only: &[&ServicePort]) -> Vec<(u16, String)> {
    let declared: Vec<crate::inventory::DeclaredPort<'_>> = t
        .containers()
        .flat_map(|c| c.ports().collect::<Vec<_>>())
        .collect();
    s.body
        .at("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| only.is_empty() || only.iter().any(|o| o.is(p)))
        .filter_map(|p| {
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            let number = match p.get("targetPort") {
                None | Some(Value::Null) => p.get("port")?.as_u64()?,
                Some(Value::Number(n)) => n.as_u64()?,
                Some(Value::String(name)) => match name.parse::<u64>() {
                    Ok(n) => n,
                    Err(_) => declared
                        .iter()
                        .find(|d| d.name == Some(name.as_str()) && d.protocol == protocol)
                        .map(|d| d.number)?,
                },
                Some(_) => return None,
            };
            let number = u16::try_from(number).ok().filter(|n| *n > 0)?;
            Some((number, protocol.to_string()))
        })
        .collect()
}

/// A Service's port mappings for the evidence of [`T::SVC_SELECTS_POD`]: `ports 80→http/TCP`.
pub(super) fn service_ports(s: &Object) -> String {
    let ports: Vec<String> = s
        .body
        .at("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = p.get("port")?.as_u64()?;
            let target = match p.get("targetPort") {
                Some(Value::String(n)) => n.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => port.to_string(),
            };
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            Some(format!("{port}→{target}/{protocol}"))
        })
        .collect();
    if ports.is_empty() {
        "no ports listed".to_string()
    } else {
        format!("ports {}", ports.join(", "))
    }
}

/// Mutating webhooks whose backend is Service `s` and whose rules cover pod creation: (name,
/// namespace selector). An object selector is not evaluated (it narrows which pods, by labels
/// their creators choose).
pub(super) fn mutating_webhooks_served_by(
    inv: &Inventory<'_>,
    s: &Object,
) -> Vec<(String, LabelSelector)> {
    let ns = s.effective_namespace().unwrap_or("default");
    let mut out = Vec::new();
    for config in inv.of_kind("MutatingWebhookConfiguration") {
        for hook in config
            .body
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let svc = hook.at("/clientConfig/service");
            let served = svc.and_then(|v| v.get("namespace")).and_then(Value::as_str) == Some(ns)
                && svc.and_then(|v| v.get("name")).and_then(Value::as_str) == Some(s.name.as_str());
            if !served || !covers_pod_creation(hook) {
                continue;
            }
            let name = hook.get("name").and_then(Value::as_str).unwrap_or("");
            out.push((
                format!("{}/{name}", config.name),
                LabelSelector::from_value(hook.get("namespaceSelector")),
            ));
        }
    }
    out
}

/// Whether a webhook's rules include CREATE of core/v1 pods (`pods/*` is subresources only; a
/// `Cluster` scope excludes namespaced resources).
pub(super) fn covers_pod_creation(hook: &Value) -> bool {
    let has = |rule: &Value, field: &str, wanted: &[&str]| {
        rule.get(field).and_then(Value::as_array).is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|v| wanted.contains(&v))
        })
    };
    hook.get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|r| {
            has(r, "operations", &["CREATE", "*"])
                && has(r, "apiGroups", &["", "*"])
                && has(r, "apiVersions", &["v1", "*"])
                && has(r, "resources", &["pods", "*", "*/*"])
                && r.get("scope").and_then(Value::as_str) != Some("Cluster")
        })
}
