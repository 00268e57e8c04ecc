//! Exposure: the internet, load balancers, NodePorts, Ingresses and Gateways in front of Services, the pods Services select, and the backends of mutating webhooks (INTERNET_TO_LB, INTERNET_TO_NODEPORT, INTERNET_TO_INGRESS, INTERNET_TO_GATEWAY, SVC_SELECTS_POD, CONTROL_WEBHOOK from a backend).

use super::*;

impl ClusterBuilder<'_, '_> {
    pub(super) fn services_and_exposure(&mut self) {
        let routing = Routing::of(self.inv, self.facts.has_slices);
        let external_ip_node = self.inv.of_kind("Node").iter().any(|n| {
            n.body
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x.get("type").and_then(Value::as_str) == Some("ExternalIP"))
                })
        });
        let internet = self.g.node(None, "Internet", NodeKind::Internet);
        for s in self.inv.of_kind("Service").to_vec() {
            let si = self.n(&s.node_ref(), NodeKind::Service);
            let ty = s
                .body
                .pointer("/spec/type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            let selected = routing.selected(s);
            // The internet reaches the Service's pods only where their ingress policies admit
            // a client from outside the cluster (or cannot tell).
            let admitted = admits_outside(&self.policies, s, &selected);
            if let Some(ev) = crate::exposure::internet_facing(s, self.cluster.info.provider) {
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
            if ty == "NodePort" && external_ip_node {
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
                            .pointer("/spec/selector")
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        service_ports(s)
                    ),
                );
            }
        }
        let public_addresses = &self.facts.exposure.addresses;
        let public_controllers = &self.facts.exposure.controllers;
        // Ingresses whose address is a public load balancer's, or a cloud-managed public one.
        for i in self.inv.of_kind("Ingress").to_vec() {
            let ns = i.effective_namespace().unwrap_or("default");
            let addrs = crate::exposure::addresses(i);
            let cloud_public = cloud_managed_public_ingress(i);
            let via = addrs
                .iter()
                .find(|a| public_addresses.contains(*a))
                .cloned();
            let by_class = self.ingress_controller(i).and_then(|controller| {
                public_controllers
                    .get(controller.as_str())
                    .map(|svc| (controller, svc.clone()))
            });
            let exposed = match (&via, cloud_public, by_class) {
                (Some(a), _, _) => Some(format!(
                    "address {a} is an internet-facing LoadBalancer's (the ingress controller)"
                )),
                (None, Some(why), _) if !addrs.is_empty() => Some(why.to_string()),
                (None, _, Some((controller, svc))) => Some(format!(
                    "its ingress class is served by {controller}, whose {svc} is an internet-facing LoadBalancer"
                )),
                _ => None,
            };
            let Some(ev) = exposed else { continue };
            let ii = self.n(&i.node_ref(), NodeKind::Ingress);
            self.g.edge(internet, ii, T::INTERNET_TO_INGRESS, ev);
            for backend in crate::exposure::ingress_backends(i) {
                let si = self.n(&format!("Service:{ns}/{backend}"), NodeKind::Service);
                self.g.edge_fixed(
                    ii,
                    si,
                    T::INTERNET_TO_INGRESS,
                    format!("rule backend Service {ns}/{backend}"),
                    vec![Remedy::unroute(self.name, i, &backend)],
                );
            }
        }
        self.gateway_routes(internet);
    }

    /// Gateway API routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) attached to an
    /// internet-facing Gateway whose listener admits the route's namespace, and Istio
    /// VirtualServices bound to an internet-facing Istio Gateway: Internet → Gateway → each
    /// backend Service (another namespace's only under a ReferenceGrant, for Gateway API).
    pub(super) fn gateway_routes(&mut self, internet: NodeIndex) {
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
                    let (why, attach) = if istio {
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
                    let Some(why) = why else { continue };
                    let gi = self.n(&format!("Gateway:{gw}"), NodeKind::Ingress);
                    self.g.edge(internet, gi, T::INTERNET_TO_GATEWAY, why);
                    for (_, bns, svc) in crate::exposure::route_backends(r) {
                        let granted = istio
                            || bns == ns
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
                        let si = self.n(&format!("Service:{bns}/{svc}"), NodeKind::Service);
                        self.g.edge(
                            gi,
                            si,
                            T::INTERNET_TO_GATEWAY,
                            format!(
                                "{} {ns}/{} routes to Service {bns}/{svc}{}",
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
            .pointer("/spec/ingressClassName")
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
                .pointer("/spec/controller")
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
            if admits_outside(&policies, s, &routing.selected(s)).is_none() {
                continue;
            }
            out.addresses.extend(crate::exposure::addresses(s));
            let sref = s.node_ref();
            if let Some(key) = crate::exposure::implemented_gateway(s) {
                // The first by reference, as `merge` keeps it: one answer whatever the order.
                let first = out.gateway_services.get(&key).is_none_or(|e| *e > sref);
                if first {
                    out.gateway_services.insert(key, sref.clone());
                }
            }
            for t in routing.selected(s) {
                out.public_pods
                    .insert((LabelSelector::labels_of(t.metadata), sref.clone()));
                for c in t.containers() {
                    let image = c.image();
                    if let Some(controller) = crate::image::ingress_controller(image) {
                        out.offer(controller, &sref);
                    }
                }
            }
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
                        ep.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false)
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
        let Some(sel) = LabelSelector::from_map(s.body.pointer("/spec/selector")) else {
            return Vec::new();
        };
        if self.has_slices && !self.slices.contains(&(ns.to_string(), s.name.clone())) {
            return Vec::new();
        }
        let ports: Vec<&Value> = s
            .body
            .pointer("/spec/ports")
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

/// Cloud-managed ingress classes that create their own public load balancer.
pub(super) fn cloud_managed_public_ingress(i: &Object) -> Option<&'static str> {
    let class = i
        .body
        .pointer("/spec/ingressClassName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| i.annotations.get("kubernetes.io/ingress.class").cloned())
        .unwrap_or_default();
    let a = |k: &str| i.annotations.get(k).map(String::as_str);
    match class.as_str() {
        "gce" => Some("GKE's gce ingress class provisions an external HTTP(S) load balancer"),
        "alb" if a("alb.ingress.kubernetes.io/scheme") == Some("internet-facing") => {
            Some("ALB ingress with alb.ingress.kubernetes.io/scheme: internet-facing")
        }
        "azure-application-gateway" | "webapprouting.kubernetes.azure.com"
            if a("appgw.ingress.kubernetes.io/use-private-ip") != Some("true") =>
        {
            Some("Azure Application Gateway ingress on a public frontend")
        }
        _ => None,
    }
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

/// Whether some pod behind Service `s` admits a connection from outside the cluster on a
/// port the Service sends to: `None` when the NetworkPolicies deny it for every selected
/// workload, else the words to add to the exposure's evidence (empty when no policy
/// isolates the pods, or no pod is selected).
pub(super) fn admits_outside(
    policies: &crate::netpol::Model,
    s: &Object,
    selected: &[PodTemplate<'_>],
) -> Option<String> {
    if selected.is_empty() {
        return Some(String::new());
    }
    // With externalTrafficPolicy Cluster (the default) kube-proxy may hand the client's
    // connection to the pod from its node's address, which NetworkPolicies never block.
    let local = s
        .body
        .pointer("/spec/externalTrafficPolicy")
        .and_then(Value::as_str)
        == Some("Local");
    let mut undecided = None;
    let mut evaluated = false;
    for t in selected {
        let pods = crate::netpol::Pods::of(t);
        let to = crate::netpol::Party::Pods(pods);
        for (port, protocol) in target_ports(s, t) {
            evaluated = true;
            let v = policies.connect(&crate::netpol::Party::Outside, &to, port, &protocol);
            let ingress = v.ingress.unwrap_or_default();
            if ingress.isolated_by.is_empty() {
                return Some(String::new());
            }
            if !local && v.answer != crate::netpol::Answer::Yes {
                undecided.get_or_insert_with(|| {
                    format!(
                        "; ingress of {} is isolated by {}, but with externalTrafficPolicy Cluster the connection may arrive from the node's own address, which NetworkPolicies never block",
                        t.owner.node_ref(),
                        ingress.isolated_by.join(", ")
                    )
                });
                continue;
            }
            match v.answer {
                crate::netpol::Answer::Yes => {
                    return Some(format!(
                        "; ingress of {} on {port}/{protocol} allowed by {}",
                        t.owner.node_ref(),
                        ingress.allowed_by.join(", ")
                    ))
                }
                crate::netpol::Answer::Unknown => {
                    undecided.get_or_insert_with(|| {
                        format!(
                            "; ingress of {} on {port}/{protocol} from outside the cluster not decidable: {}",
                            t.owner.node_ref(),
                            v.notes.join("; ")
                        )
                    });
                }
                crate::netpol::Answer::No => {}
            }
        }
    }
    if !evaluated {
        return Some(String::new());
    }
    undecided
}

/// The ports a Service sends to on the pods of `t`: (port, protocol) of each `targetPort`
/// (the `port` when left out, a name looked up among the containers' ports).
pub(super) fn target_ports(s: &Object, t: &PodTemplate<'_>) -> Vec<(u16, String)> {
    let declared: Vec<crate::inventory::DeclaredPort<'_>> = t
        .containers()
        .flat_map(|c| c.ports().collect::<Vec<_>>())
        .collect();
    s.body
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
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
        .pointer("/spec/ports")
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
            let svc = hook.pointer("/clientConfig/service");
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
