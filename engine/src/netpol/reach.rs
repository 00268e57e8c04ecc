//! Reach across a whole cluster: workloads are grouped into *segments*, sets of pods that every
//! NetworkPolicy of the cluster treats alike, and reach is decided between segments instead of
//! between pairs of workloads (segments² connection questions at most, for isolated segments;
//! open ones meet at a hub).
//!
//! Two workloads fall in one segment when nothing a policy reads tells them apart: the same
//! namespace where that namespace has policies (else the same labels on the keys some
//! `namespaceSelector` reads — its name only where some selector names it — and whether the
//! Namespace object is known), the same labels on the keys some `podSelector` reads, the same
//! answer for every `ipBlock` (or no known address), host network or not, and — when some rule
//! names ports — the same ports. Any selector, peer or port rule then answers the same for
//! every member, so one member's verdict is the segment's: exact, not an approximation.
//!
//! Segments whose egress no policy isolates reach every segment whose ingress no policy
//! isolates; the caller draws that as one hub instead of a link per pair. The links are the
//! other pairs, each decided by [`Model::connect`] on the destination's listening ports.

use super::{project, Answer, Model, Party, Peer, Pods, Side, NAMESPACE_NAME_LABEL};
use hashbrown::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A workload as reach sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Its pods.
    pub pods: Pods,
    /// The ports its pods are known to listen on, as (port, protocol): declared container
    /// ports and the numeric target ports of Services that select them. Empty: nothing is
    /// known to listen, so the workload is no destination.
    pub listens: Vec<(u16, String)>,
}

/// Pods that every policy of the cluster treats alike.
#[derive(Debug, Clone)]
pub struct Segment {
    /// A readable name, unique in the cluster: the namespace (`*` for namespaces without
    /// policies that no selector names), the labels some selector reads (`{app=web}`), and
    /// `hostNetwork`.
    pub name: String,
    /// Its members (indices into the members given), in reference order.
    pub members: Vec<usize>,
    /// Whether some policy isolates its pods' egress.
    pub egress_isolated: bool,
    /// Whether some policy isolates its pods' ingress.
    pub ingress_isolated: bool,
    /// Whether some rule names ports for its pods as destinations (then its members listen
    /// alike and each port is decided; else one port decides for all).
    pub by_port: bool,
    /// Its first member that listens, which stands for it as a destination (index into the
    /// members given); none: nothing in it listens, so it is no destination.
    pub listener: Option<usize>,
}

impl Segment {
    /// Whether the segment sends to every unisolated destination and accepts from every
    /// unisolated source without a rule deciding (drawn through the shared hub). Host-network
    /// pods no policy selects are open in both readings the API allows for them.
    pub fn open_egress(&self) -> bool {
        !self.egress_isolated
    }

    /// See [`Segment::open_egress`].
    pub fn open_ingress(&self) -> bool {
        !self.ingress_isolated
    }
}

/// A connection from one segment's pods to another's listening ports that the policies allow
/// or leave undecided.
#[derive(Debug, Clone)]
pub struct Link {
    /// Source segment.
    pub from: usize,
    /// Destination segment.
    pub to: usize,
    /// Yes, or Unknown (never No: denied pairs are no link).
    pub answer: Answer,
    /// Ports and the policies that decide, in words (shared with the decision kept in
    /// [`Decided`]: a link is copied once per pair of segments it joins).
    pub evidence: Arc<str>,
}

/// The segments of a cluster and the links between them.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// The segments, in a stable order.
    pub segments: Vec<Segment>,
    /// Allowed or undecided connections between segments other than open → open.
    pub links: Vec<Link>,
    /// Why open → open connections are only possible, not certain (plugin policies), if so.
    pub open_notes: Vec<String>,
}

/// The links decided under one [`Model`], kept for its next [`Model::reach_with`]: a link is a
/// function of its two segments' names, stand-ins (the source's first member's pods; the
/// destination's first listening member's pods and ports) and whether ports decide, so between
/// segments with all of those unchanged it is not decided again. Valid under one model: a
/// caller whose policies or Namespace labels change starts a new one, or forgets the links of
/// the namespaces whose policies or read labels changed ([`Decided::forget_namespaces`]; a
/// link reads nothing of the other members of its segments, which every policy treats as it
/// treats the stand-ins).
#[derive(Debug, Clone, Default)]
pub struct Decided {
    /// Each segment seen, as a link reads it, by number.
    ids: HashMap<Stand, u32>,
    /// The decisions, by (source, destination) numbers: the link, or none (denied).
    links: HashMap<(u32, u32), Option<Decision>>,
    /// The number the next segment seen gets (never one given before).
    next: u32,
}

/// A link decided: its answer and evidence (shared with every [`Link`] it gives).
type Decision = (Answer, Arc<str>);

/// What a link reads of a segment (see [`Decided`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Stand {
    name: String,
    source: Pods,
    target: Option<(Pods, Vec<(u16, String)>)>,
    by_port: bool,
}

/// A [`Stand`] borrowed from a reach's segments, to look one up without copying it: its
/// fields hash as the owned ones do, in the same order.
#[derive(Debug, Clone, Copy, Hash)]
struct StandRef<'a> {
    name: &'a str,
    source: &'a Pods,
    target: Option<(&'a Pods, &'a [(u16, String)])>,
    by_port: bool,
}

impl StandRef<'_> {
    fn to_owned(self) -> Stand {
        Stand {
            name: self.name.to_string(),
            source: self.source.clone(),
            target: self
                .target
                .map(|(pods, listens)| (pods.clone(), listens.to_vec())),
            by_port: self.by_port,
        }
    }
}

impl hashbrown::Equivalent<Stand> for StandRef<'_> {
    fn equivalent(&self, stand: &Stand) -> bool {
        self.name == stand.name
            && *self.source == stand.source
            && self.by_port == stand.by_port
            && match (&self.target, &stand.target) {
                (None, None) => true,
                (Some((pods, listens)), Some((p, l))) => *pods == p && *listens == l.as_slice(),
                _ => false,
            }
    }
}

impl Decided {
    /// Forgets the links whose source or destination stand-in is in one of `namespaces` (a
    /// link reads the policies and labels of its two stand-ins' namespaces and no other's — but
    /// under Calico, whose NetworkSets read their own namespace's labels:
    /// [`Model::links_read_other_namespaces`] — so when only those changed, the other links hold
    /// under the model with the new policies or labels).
    pub fn forget_namespaces(&mut self, namespaces: &BTreeSet<String>) {
        if namespaces.is_empty() {
            return;
        }
        self.forget(|stand, _| {
            namespaces.contains(&stand.source.namespace)
                || stand
                    .target
                    .as_ref()
                    .is_some_and(|(pods, _)| namespaces.contains(&pods.namespace))
        });
    }

    /// Forgets the segments `gone` says (by stand-in and number) and the links of each.
    fn forget(&mut self, gone: impl Fn(&Stand, u32) -> bool) {
        let mut forgotten: hashbrown::HashSet<u32> = hashbrown::HashSet::new();
        self.ids.retain(|stand, id| {
            let forget = gone(stand, *id);
            if forget {
                forgotten.insert(*id);
            }
            !forget
        });
        if !forgotten.is_empty() {
            self.links
                .retain(|(a, b), _| !forgotten.contains(a) && !forgotten.contains(b));
        }
    }

    fn id(&mut self, stand: StandRef<'_>) -> u32 {
        if let Some(id) = self.ids.get(&stand) {
            return *id;
        }
        self.next += 1;
        self.ids.insert(stand.to_owned(), self.next - 1);
        self.next - 1
    }

    /// Forgets the segments not in `current` once those outnumber them (the decisions stay
    /// about as many as the current segments' pairs, not as many as every segment ever seen).
    fn forget_all_but(&mut self, current: &[u32]) {
        if self.ids.len() <= 2 * current.len() + 64 {
            return;
        }
        let keep: hashbrown::HashSet<u32> = current.iter().copied().collect();
        self.forget(|_, id| !keep.contains(&id));
    }
}

/// What tells pods apart to the policies (borrowed from the model and the members: it orders
/// as the owned strings would).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a> {
    /// The namespace, where it has policies (every namespace, where Cilium's do).
    namespace: Option<&'a str>,
    /// The ServiceAccount, where Cilium's policies may read it.
    service_account: Option<&'a str>,
    /// Namespace labels on the keys namespace selectors read; the name label only where some
    /// selector names the namespace (an unknown namespace's one label is its name).
    namespace_labels: BTreeMap<&'a str, &'a str>,
    /// Whether the Namespace object is known.
    namespace_known: bool,
    labels: BTreeMap<&'a str, &'a str>,
    host_network: bool,
    /// For each ipBlock of the model, whether it admits the pods' address (`None`: unknown).
    blocks: Option<Vec<bool>>,
    /// Whether some rule names ports for these pods as destinations.
    by_port: bool,
    /// Named container ports and listening ports, where some rule names ports.
    ports: Vec<(&'a str, u16, &'a str)>,
    listens: Vec<(u16, &'a str)>,
}

impl Model {
    /// Segments the members and decides the links between them (see the module docs).
    pub fn reach<M: std::borrow::Borrow<Member>>(&self, members: &[M]) -> Reach {
        self.reach_with(members, &mut Decided::default())
    }

    /// [`Model::reach`], taking the links already decided under this model from `decided` and
    /// keeping the new ones there.
    pub fn reach_with<M: std::borrow::Borrow<Member>>(
        &self,
        members: &[M],
        decided: &mut Decided,
    ) -> Reach {
        let members: Vec<&Member> = members.iter().map(|m| m.borrow()).collect();
        let mut pod_keys = BTreeSet::new();
        let namespace_keys = self.namespace_keys();
        let mut blocks = Vec::new();
        // Ports tell destinations apart where a rule names ports: every destination when some
        // egress rule does, else the pods a policy with such an ingress rule selects.
        let mut egress_port_rules = false;
        let mut policy_namespaces = BTreeSet::new();
        // Cilium's selectors read a pod's namespace, its namespace's labels and its
        // ServiceAccount: where the cluster has Cilium policies, those tell pods apart too.
        let cilium = self.policies.iter().any(|p| p.cilium);
        // Calico's selectors read a pod's namespace (and its labels), its ServiceAccount (and
        // its labels) and its labels; its rules addresses and ports.
        let (calico_namespaces, calico_accounts) =
            self.calico.as_ref().map_or((false, false), |c| {
                (c.reads_namespaces(), c.reads_service_accounts())
            });
        if let Some(c) = &self.calico {
            policy_namespaces.extend(c.policy_namespaces());
            pod_keys.extend(c.pod_keys());
            blocks.extend(c.blocks().into_iter().map(|b| (b, Vec::new())));
            egress_port_rules |= c.rules_read_ports();
        }
        for p in &self.policies {
            policy_namespaces.insert(p.namespace.as_str());
            pod_keys.extend(p.selects.keys().map(str::to_string));
            egress_port_rules |= p
                .egress
                .iter()
                .flatten()
                .chain(&p.egress_deny)
                .any(|r| r.ports.is_some());
            let rules = p.ingress.iter().chain(p.egress.iter()).flatten();
            for rule in rules.chain(&p.ingress_deny).chain(&p.egress_deny) {
                for peer in rule.peers.iter().flatten() {
                    match peer {
                        Peer::Pods { pods, .. } => {
                            pod_keys.extend(pods.iter().flat_map(|s| s.keys().map(str::to_string)));
                        }
                        Peer::Endpoints { selector, .. } => {
                            pod_keys.extend(selector.keys().map(str::to_string));
                        }
                        Peer::Block {
                            cidr,
                            except,
                            pods: true,
                        } => blocks.push((*cidr, except.clone())),
                        Peer::Block { pods: false, .. }
                        | Peer::Entity(_)
                        | Peer::Undecided(_)
                        | Peer::Invalid => {}
                    }
                }
            }
        }
        // What namespace selectors read of a namespace's labels: the keys they name, and its
        // name only where one names it (every other name answers every selector on the name
        // label alike).
        let named = self.namespaces_named();
        let read = |(k, v): &(&str, &str)| {
            namespace_keys.contains(*k) && (*k != NAMESPACE_NAME_LABEL || named.contains(v))
        };
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by(|a, b| members[*a].pods.reference.cmp(&members[*b].pods.reference));
        // Whether a namespace's object is known matters only to selectors on other labels than
        // its name (those are unknown for a namespace without one).
        let unknown_matters = namespace_keys.iter().any(|k| k != NAMESPACE_NAME_LABEL);
        let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for i in order {
            let m = &members[i];
            let p = &m.pods;
            let (namespace_labels, namespace_known) = match self.namespaces.get(&p.namespace) {
                Some(labels) => (
                    (labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                        .filter(read)
                        .collect(),
                    true,
                ),
                // (An unknown namespace's one label is its name.)
                None => (
                    [(NAMESPACE_NAME_LABEL, p.namespace.as_str())]
                        .into_iter()
                        .filter(read)
                        .collect(),
                    false,
                ),
            };
            let ports_decide = egress_port_rules
                || self.policies_in(&p.namespace).any(|q| {
                    q.ingress
                        .iter()
                        .flatten()
                        .chain(&q.ingress_deny)
                        .any(|r| r.ports.is_some())
                        && self.selects(q, p)
                });
            let key = Key {
                // A ServiceAccount is its namespace and name (its labels are the pair's).
                namespace: (cilium
                    || calico_namespaces
                    || calico_accounts
                    || policy_namespaces.contains(p.namespace.as_str()))
                .then_some(p.namespace.as_str()),
                service_account: (cilium || calico_accounts).then_some(p.service_account.as_str()),
                namespace_labels,
                namespace_known: namespace_known || !unknown_matters,
                labels: project(&p.labels, &pod_keys),
                host_network: p.host_network,
                by_port: ports_decide,
                blocks: match (blocks.is_empty(), p.ip) {
                    (true, _) => Some(Vec::new()),
                    (false, None) => None,
                    (false, Some(ip)) => Some(
                        blocks
                            .iter()
                            .map(|(c, except)| {
                                c.contains(ip) && !except.iter().any(|e| e.contains(ip))
                            })
                            .collect(),
                    ),
                },
                ports: if ports_decide {
                    let mut ports: Vec<(&str, u16, &str)> = p
                        .ports
                        .iter()
                        .map(|(name, port, protocol)| (name.as_str(), *port, protocol.as_str()))
                        .collect();
                    ports.sort();
                    ports
                } else {
                    Vec::new()
                },
                listens: if ports_decide {
                    let mut l: Vec<(u16, &str)> = m
                        .listens
                        .iter()
                        .map(|(port, protocol)| (*port, protocol.as_str()))
                        .collect();
                    l.sort();
                    l.dedup();
                    l
                } else {
                    Vec::new()
                },
            };
            groups.entry(key).or_default().push(i);
        }
        let mut segments: Vec<Segment> = Vec::with_capacity(groups.len());
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (key, members_of) in groups {
            let first = &members[members_of[0]].pods;
            // The namespace where policies tell it apart (its own, or its name label read by a
            // selector), else `*` with the namespace labels selectors read.
            let named = key
                .namespace
                .or_else(|| key.namespace_labels.get(NAMESPACE_NAME_LABEL).copied());
            let mut name = named.unwrap_or("*").to_string();
            let ns_labels: Vec<String> = key
                .namespace_labels
                .iter()
                .filter(|(k, _)| **k != NAMESPACE_NAME_LABEL)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if named.is_none() && !ns_labels.is_empty() {
                name.push_str(&format!("[{}]", ns_labels.join(",")));
            }
            if !key.labels.is_empty() {
                let l: Vec<String> = key.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                name.push_str(&format!("{{{}}}", l.join(",")));
            }
            if key.host_network {
                name.push_str(" hostNetwork");
            }
            // Pods told apart by their ports alone (where rules name ports) say which.
            if names.contains_key(&name) && !key.listens.is_empty() {
                let ports: Vec<String> = key
                    .listens
                    .iter()
                    .map(|(port, protocol)| format!("{port}/{protocol}"))
                    .collect();
                name.push_str(&format!(" ({})", ports.join(",")));
            }
            let seen = names.entry(name.clone()).or_default();
            *seen += 1;
            if *seen > 1 {
                name.push_str(&format!(" #{seen}"));
            }
            segments.push(Segment {
                name,
                egress_isolated: self.isolated(first, true),
                ingress_isolated: self.isolated(first, false),
                by_port: key.by_port,
                listener: members_of
                    .iter()
                    .copied()
                    .find(|i| !members[*i].listens.is_empty()),
                members: members_of,
            });
        }
        let mut links = Vec::new();
        // One member stands for its segment: as a source, and as a destination one that
        // listens (when no rule names its ports they do not decide; else all listen alike).
        let listener = |s: &Segment| s.listener.map(|i| members[i]);
        // (The stand-ins as parties, made when a link is decided, once each.)
        let mut sources: Vec<Option<Party>> = vec![None; segments.len()];
        let mut targets: Vec<Option<Party>> = vec![None; segments.len()];
        let ids: Vec<u32> = segments
            .iter()
            .map(|s| {
                decided.id(StandRef {
                    name: &s.name,
                    source: &members[s.members[0]].pods,
                    target: listener(s).map(|m| (&m.pods, &m.listens[..])),
                    by_port: s.by_port,
                })
            })
            .collect();
        for (si, s) in segments.iter().enumerate() {
            for (di, d) in segments.iter().enumerate() {
                if s.open_egress() && d.open_ingress() {
                    continue;
                }
                let Some(to) = listener(d) else {
                    continue;
                };
                let link = match decided.links.entry((ids[si], ids[di])) {
                    hashbrown::hash_map::Entry::Occupied(link) => link.into_mut(),
                    hashbrown::hash_map::Entry::Vacant(vacant) => {
                        let source = sources[si]
                            .get_or_insert_with(|| Party::Pods(members[s.members[0]].pods.clone()));
                        let target =
                            targets[di].get_or_insert_with(|| Party::Pods(to.pods.clone()));
                        let names = (s.name.as_str(), d.name.as_str());
                        let link = self.link(source, (target, &to.listens), names, d.by_port);
                        vacant.insert(link.map(|(answer, evidence)| (answer, evidence.into())))
                    }
                };
                if let Some((answer, evidence)) = link.clone() {
                    links.push(Link {
                        from: si,
                        to: di,
                        answer,
                        evidence,
                    });
                }
            }
        }
        decided.forget_all_but(&ids);
        let open_notes = self.plugin_note().into_iter().collect();
        Reach {
            segments,
            links,
            open_notes,
        }
    }

    /// Whether some policy isolates the pods in a direction.
    /// (Or some deny rule may refuse some of it: then too each connection is decided.)
    fn isolated(&self, pods: &Pods, egress: bool) -> bool {
        if self
            .calico
            .as_ref()
            .is_some_and(|c| c.isolates(&self.namespaces, pods, egress))
        {
            return true;
        }
        self.policies_in(&pods.namespace).any(|p| {
            let denies = if egress {
                !p.egress_deny.is_empty()
            } else {
                !p.ingress_deny.is_empty()
            };
            (p.isolates(egress) || denies) && self.selects(p, pods)
        })
    }

    /// The answer and evidence for a link from `from`'s pods to `to`'s listening ports, if the
    /// policies allow one or leave it undecided. Where no rule names
    /// ports for the destination, one port decides for all.
    fn link(
        &self,
        source: &Party,
        (target, listens): (&Party, &[(u16, String)]),
        (from_name, to_name): (&str, &str),
        port_rules: bool,
    ) -> Option<(Answer, String)> {
        let mut allowed = Vec::new();
        let mut undecided = Vec::new();
        let mut decided_by: Option<(Side, Side)> = None;
        let mut notes: Vec<String> = Vec::new();
        let ports = if port_rules {
            listens
        } else {
            &listens[..listens.len().min(1)]
        };
        for (port, protocol) in ports {
            // Most pairs of isolated segments are denied: decide cheaply first.
            if self.answer(source, target, *port, protocol) == Answer::No {
                continue;
            }
            let v = self.connect(source, target, *port, protocol);
            let label = if port_rules {
                format!("{port}/{protocol}")
            } else {
                "every port".to_string()
            };
            match v.answer {
                Answer::Yes => {
                    allowed.push(label);
                    if decided_by.is_none() {
                        decided_by =
                            Some((v.egress.unwrap_or_default(), v.ingress.unwrap_or_default()));
                    }
                }
                Answer::Unknown => {
                    undecided.push(label);
                    for n in v.notes {
                        if !notes.contains(&n) {
                            notes.push(n);
                        }
                    }
                }
                Answer::No => {}
            }
        }
        let side = |s: &Side, what: &str, name: &str| {
            if s.isolated_by.is_empty() {
                format!("no policy isolates {name}'s {what}")
            } else {
                format!("{what} of {name} allowed by {}", s.allowed_by.join(", "))
            }
        };
        let (answer, evidence) = match (allowed.is_empty(), decided_by) {
            (false, Some((egress, ingress))) => (
                Answer::Yes,
                format!(
                    "pods of {from_name} may connect to {to_name} on {}: {}; {}",
                    allowed.join(", "),
                    side(&egress, "egress", from_name),
                    side(&ingress, "ingress", to_name)
                ),
            ),
            _ if !undecided.is_empty() => (
                Answer::Unknown,
                format!(
                    "pods of {from_name} may connect to {to_name} on {} (not decidable: {})",
                    undecided.join(", "),
                    notes.join("; ")
                ),
            ),
            _ => return None,
        };
        Some((answer, evidence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;
    use crate::netpol::tests::{cluster, members, policy_sets};

    /// A segment seen before is found by its borrowed stand-in ([`StandRef`] hashes and compares
    /// as [`Stand`]): reaching the same members under the same model again numbers no segment
    /// anew and decides no link anew.
    #[test]
    fn segments_seen_before_are_found_by_their_borrowed_stand_ins() {
        for set in &policy_sets() {
            let c = cluster(set);
            let inv = Inventory::new(&c);
            let model = Model::of(&inv);
            let ms = members(&inv);
            let mut decided = Decided::default();
            let first = model.reach_with(&ms, &mut decided);
            let (segments, links, next) = (decided.ids.len(), decided.links.len(), decided.next);
            assert_eq!(segments, first.segments.len(), "under {set}");
            let again = model.reach_with(&ms, &mut decided);
            assert_eq!(format!("{first:?}"), format!("{again:?}"));
            assert_eq!(
                (decided.ids.len(), decided.links.len(), decided.next),
                (segments, links, next),
                "under {set}"
            );
        }
    }
}
