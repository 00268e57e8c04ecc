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
//! other pairs, each decided by [`Model::connect`] on the destination's listening ports, and
//! given as one row per source segment.

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

/// A connection from one segment's pods (the row's: see [`Reach::links`]) to another's
/// listening ports that the policies allow or leave undecided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The destination segment's name.
    pub to: Arc<str>,
    /// Yes, or Unknown (never No: denied pairs are no link).
    pub answer: Answer,
    /// Ports and the policies that decide, in words (shared with the decision kept in
    /// [`Decided`]).
    pub evidence: Arc<str>,
}

/// The segments of a cluster and the links between them.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// The segments, in a stable order.
    pub segments: Vec<Segment>,
    /// Each segment's links as the source (by the segment's position), in the segments'
    /// order: the allowed or undecided connections other than open → open. A row is shared with
    /// the one kept in [`Decided`], and given again, shared, by the next reach when the
    /// segment's destinations are unchanged, or when the destinations it has links to keep
    /// their numbers and no other destination gives a link.
    pub links: Vec<Arc<[Link]>>,
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
/// treats the stand-ins), and puts them back when it goes back to the model they were decided
/// under ([`Decided::put_back`]).
///
/// Each source segment's row of links is kept too, with the destinations it was decided
/// against: a segment whose destinations are the same (by number, in order) gets the same row
/// again without asking a decision per pair. A number is never given to another segment, and
/// is live only while its decisions hold (forgotten, or put back with the model they were made
/// under), so a row that names a forgotten segment is never the same again until the decisions
/// it was made of hold again.
#[derive(Debug, Clone, Default)]
pub struct Decided {
    /// Each segment seen, as a link reads it, by number.
    ids: HashMap<Stand, Number>,
    /// The decisions, by source number, then destination number: the link, or none (denied).
    /// (By source first, so that forgetting a few segments asks each source for them instead
    /// of walking every pair.)
    links: HashMap<Number, HashMap<Number, Option<Decision>>>,
    /// Each source segment's last row, by its number.
    rows: HashMap<Number, Row>,
    /// The number the next segment seen gets (never one given before).
    next: Number,
}

/// A source segment's links ([`Reach::links`]) and the destinations they were decided against.
#[derive(Debug, Clone)]
struct Row {
    /// The destinations asked, by number, in order.
    to: Arc<[Number]>,
    /// For each destination asked, the index of its link in `links` ([`DENIED`]: none).
    at: Vec<u32>,
    links: Arc<[Link]>,
}

/// A segment's number in [`Decided`] (never given to another segment: 64 bits do not run out
/// however many reviews renumber a namespace's segments).
type Number = u64;

/// No link (in [`Row::at`]).
const DENIED: u32 = u32::MAX;

/// Where each destination a source asks now was in a kept row's destinations ([`DENIED`]: in
/// none), by (that list's address, whether the source's egress is open): most rows kept share
/// one list, so this is worked out once per list. (The list is held, so that its address names
/// it while the map lives.)
type Positions = HashMap<(*const Number, bool), (Arc<[Number]>, Vec<u32>)>;

/// A destination's link in a row being made: none, the kept row's (by index), or decided.
enum Chosen {
    Denied,
    Kept(u32),
    Decided(Link),
}

/// What [`Decided::forget_namespaces`] forgot: segments, the decisions from them, those to
/// them from others, and rows.
#[derive(Debug, Default)]
pub struct Forgotten {
    ids: Vec<(Stand, Number)>,
    sources: Vec<(Number, HashMap<Number, Option<Decision>>)>,
    pairs: Vec<((Number, Number), Option<Decision>)>,
    rows: Vec<(Number, Row)>,
}

/// A link decided: its answer and evidence (shared with every [`Link`] it gives).
type Decision = (Answer, Arc<str>);

/// What a link reads of a segment (see [`Decided`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Stand {
    /// (Shared with the links to it: [`Link::to`].)
    name: Arc<str>,
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
            name: Arc::from(self.name),
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
        self.name == &*stand.name
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
    ///
    /// Returns what it forgot, for [`Decided::put_back`].
    pub fn forget_namespaces(&mut self, namespaces: &BTreeSet<String>) -> Forgotten {
        if namespaces.is_empty() {
            return Forgotten::default();
        }
        self.forget(|stand, _| {
            namespaces.contains(&stand.source.namespace)
                || stand
                    .target
                    .as_ref()
                    .is_some_and(|(pods, _)| namespaces.contains(&pods.namespace))
        })
    }

    /// Puts back what [`Decided::forget_namespaces`] forgot, once the policies and labels
    /// they were decided under are back (an update undone): first forgetting the same
    /// namespaces' segments again (those decided since, under what is undone). The segments
    /// get their numbers back and every link its evidence: their own rows are given again, and
    /// the rows that asked them are made again from the decisions, none decided anew.
    ///
    /// (Segments forgotten meanwhile for being too many, [`Decided::forget_all_but`], stay
    /// forgotten: the decisions between them and the ones put back are not put back.)
    pub fn put_back(&mut self, namespaces: &BTreeSet<String>, forgotten: Forgotten) {
        drop(self.forget_namespaces(namespaces));
        self.ids.extend(forgotten.ids);
        let live: hashbrown::HashSet<Number> = self.ids.values().copied().collect();
        for (source, mut decisions) in forgotten.sources {
            decisions.retain(|destination, _| live.contains(destination));
            self.links.insert(source, decisions);
        }
        for ((source, destination), decision) in forgotten.pairs {
            if let Some(decisions) = self.links.get_mut(&source) {
                decisions.insert(destination, decision);
            }
        }
        self.rows.extend(forgotten.rows);
    }

    /// Forgets the segments `gone` says (by stand-in and number) and the links of each;
    /// returns them.
    fn forget(&mut self, gone: impl Fn(&Stand, Number) -> bool) -> Forgotten {
        let mut forgotten = Forgotten::default();
        let mut numbers: hashbrown::HashSet<Number> = hashbrown::HashSet::new();
        for (stand, id) in self.ids.extract_if(|stand, id| gone(stand, *id)) {
            numbers.insert(id);
            forgotten.ids.push((stand, id));
        }
        if !numbers.is_empty() {
            forgotten.sources = (self.links)
                .extract_if(|source, _| numbers.contains(source))
                .collect();
            for (source, decisions) in &mut self.links {
                let pair = |(destination, decision)| ((*source, destination), decision);
                if numbers.len() < decisions.len() {
                    let taken = numbers.iter().filter_map(|d| decisions.remove_entry(d));
                    forgotten.pairs.extend(taken.map(pair));
                } else {
                    let taken = decisions.extract_if(|d, _| numbers.contains(d));
                    forgotten.pairs.extend(taken.map(pair));
                }
            }
            // (A row that asked a forgotten destination is not the same again while that
            // destination is forgotten: it is replaced when its source is reached again.)
            forgotten.rows = (self.rows)
                .extract_if(|source, _| numbers.contains(source))
                .collect();
        }
        forgotten
    }

    /// How many pairs of segments are decided.
    #[cfg(test)]
    fn decisions(&self) -> usize {
        self.links.values().map(HashMap::len).sum()
    }

    /// The segment's number and its name (the one every link to it shares).
    fn id(&mut self, stand: StandRef<'_>) -> (Number, Arc<str>) {
        if let Some((seen, id)) = self.ids.get_key_value(&stand) {
            return (*id, Arc::clone(&seen.name));
        }
        self.next += 1;
        let stand = stand.to_owned();
        let name = Arc::clone(&stand.name);
        self.ids.insert(stand, self.next - 1);
        (self.next - 1, name)
    }

    /// Forgets the segments not in `current` once those outnumber them (the decisions stay
    /// about as many as the current segments' pairs, not as many as every segment ever seen).
    fn forget_all_but(&mut self, current: &[Number]) {
        if self.ids.len() <= 2 * current.len() + 64 {
            return;
        }
        let keep: hashbrown::HashSet<Number> = current.iter().copied().collect();
        drop(self.forget(|_, id| !keep.contains(&id)));
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
    /// selector names the namespace (an unknown namespace's one label is its name). Read once
    /// per namespace: its members share them.
    namespace_labels: Shared<'a, BTreeMap<&'a str, &'a str>>,
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

/// A value borrowed by many keys: equal to itself without comparing its content, and ordered
/// by its content otherwise.
#[derive(Debug, Clone)]
struct Shared<'a, T>(&'a T);

impl<T: Ord> Ord for Shared<'_, T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if std::ptr::eq(self.0, other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(other.0)
        }
    }
}

impl<T: Ord> PartialOrd for Shared<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> PartialEq for Shared<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl<T: Ord> Eq for Shared<'_, T> {}

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
        // What namespace selectors read of each member's namespace, and whether its object is
        // known.
        let mut namespace_reads: HashMap<&str, (BTreeMap<&str, &str>, bool)> = HashMap::new();
        for m in &members {
            let namespace = m.pods.namespace.as_str();
            if namespace_reads.contains_key(namespace) {
                continue;
            }
            let reads = match self.namespaces.get(namespace) {
                Some(labels) => (
                    (labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                        .filter(read)
                        .collect(),
                    true,
                ),
                // (An unknown namespace's one label is its name.)
                None => (
                    [(NAMESPACE_NAME_LABEL, namespace)]
                        .into_iter()
                        .filter(read)
                        .collect(),
                    false,
                ),
            };
            namespace_reads.insert(namespace, reads);
        }
        let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for i in order {
            let m = &members[i];
            let p = &m.pods;
            let (namespace_labels, namespace_known) = &namespace_reads[p.namespace.as_str()];
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
                namespace_labels: Shared(namespace_labels),
                namespace_known: *namespace_known || !unknown_matters,
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
                .or_else(|| key.namespace_labels.0.get(NAMESPACE_NAME_LABEL).copied());
            let mut name = named.unwrap_or("*").to_string();
            let ns_labels: Vec<String> = key
                .namespace_labels
                .0
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
        // One member stands for its segment: as a source, and as a destination one that
        // listens (when no rule names its ports they do not decide; else all listen alike).
        let listener = |s: &Segment| s.listener.map(|i| members[i]);
        // (The stand-ins as parties, made when a link is decided, once each.)
        let mut sources: Vec<Option<Party>> = vec![None; segments.len()];
        let mut targets: Vec<Option<Party>> = vec![None; segments.len()];
        let (ids, names): (Vec<Number>, Vec<Arc<str>>) = segments
            .iter()
            .map(|s| {
                decided.id(StandRef {
                    name: &s.name,
                    source: &members[s.members[0]].pods,
                    target: listener(s).map(|m| (&m.pods, &m.listens[..])),
                    by_port: s.by_port,
                })
            })
            .unzip();
        // The destinations a source asks: those that listen, but for open → open pairs (drawn
        // through the hub). By position, and by number for the rows kept.
        let destinations = |open_egress: bool| -> (Vec<usize>, Arc<[Number]>) {
            let to: Vec<usize> = (0..segments.len())
                .filter(|d| {
                    segments[*d].listener.is_some() && !(open_egress && segments[*d].open_ingress())
                })
                .collect();
            let numbers = to.iter().map(|d| ids[*d]).collect();
            (to, numbers)
        };
        let every = destinations(false);
        let closed = if segments.iter().any(Segment::open_egress) {
            destinations(true)
        } else {
            (Vec::new(), Arc::from([]))
        };
        let mut positions = Positions::new();
        let mut links = Vec::with_capacity(segments.len());
        for (si, s) in segments.iter().enumerate() {
            let (to, numbers) = if s.open_egress() { &closed } else { &every };
            let kept = decided.rows.remove(&ids[si]);
            if let Some(row) = kept.as_ref().filter(|row| row.to == *numbers) {
                links.push(Arc::clone(&row.links));
                decided.rows.insert(ids[si], kept.expect("kept"));
                continue;
            }
            let was = kept.as_ref().map(|row| {
                (positions.entry((row.to.as_ptr(), s.open_egress())))
                    .or_insert_with(|| {
                        let old: HashMap<Number, u32> =
                            (row.to.iter()).zip(0u32..).map(|(d, i)| (*d, i)).collect();
                        let at = |d: &Number| old.get(d).copied().unwrap_or(DENIED);
                        (Arc::clone(&row.to), numbers.iter().map(at).collect())
                    })
                    .1
                    .as_slice()
            });
            // Each destination's link: the kept row's (by index), a decision, or none.
            let decisions = decided.links.entry(ids[si]).or_default();
            let mut chosen: Vec<Chosen> = Vec::with_capacity(to.len());
            for (j, &di) in to.iter().enumerate() {
                if let (Some(row), Some(was)) = (&kept, was) {
                    if was[j] != DENIED {
                        let at = row.at[was[j] as usize];
                        chosen.push(if at == DENIED {
                            Chosen::Denied
                        } else {
                            Chosen::Kept(at)
                        });
                        continue;
                    }
                }
                let d = &segments[di];
                let Some(target) = listener(d) else {
                    chosen.push(Chosen::Denied);
                    continue;
                };
                let link = match decisions.entry(ids[di]) {
                    hashbrown::hash_map::Entry::Occupied(link) => link.into_mut(),
                    hashbrown::hash_map::Entry::Vacant(vacant) => {
                        let source = sources[si]
                            .get_or_insert_with(|| Party::Pods(members[s.members[0]].pods.clone()));
                        let party =
                            targets[di].get_or_insert_with(|| Party::Pods(target.pods.clone()));
                        let names = (s.name.as_str(), d.name.as_str());
                        let link = self.link(source, (party, &target.listens), names, d.by_port);
                        vacant.insert(link.map(|(answer, evidence)| (answer, evidence.into())))
                    }
                };
                chosen.push(match link {
                    Some((answer, evidence)) => Chosen::Decided(Link {
                        to: Arc::clone(&names[di]),
                        answer: *answer,
                        evidence: Arc::clone(evidence),
                    }),
                    None => Chosen::Denied,
                });
            }
            // The kept row's links, all of them in order and no other, are the kept row
            // (shared, not copied).
            let mut next = 0;
            let same = kept.as_ref().is_some_and(|row| {
                chosen.iter().all(|c| match c {
                    Chosen::Denied => true,
                    Chosen::Kept(at) => {
                        next += 1;
                        *at == next - 1
                    }
                    Chosen::Decided(_) => false,
                }) && next == row.links.len() as u32
            });
            let mut index = 0;
            let at = (chosen.iter())
                .map(|c| match c {
                    Chosen::Denied => DENIED,
                    Chosen::Kept(_) | Chosen::Decided(_) => {
                        index += 1;
                        index - 1
                    }
                })
                .collect();
            let row: Arc<[Link]> = match kept {
                Some(row) if same => row.links,
                kept => {
                    let old = kept.as_ref().map_or(&[][..], |row| &row.links[..]);
                    (chosen.into_iter())
                        .filter_map(|c| match c {
                            Chosen::Denied => None,
                            Chosen::Kept(at) => Some(old[at as usize].clone()),
                            Chosen::Decided(link) => Some(link),
                        })
                        .collect()
                }
            };
            decided.rows.insert(
                ids[si],
                Row {
                    to: Arc::clone(numbers),
                    at,
                    links: Arc::clone(&row),
                },
            );
            links.push(row);
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

    /// Every link of two reaches' rows, by the segments' names: (source, destination) → the
    /// link.
    fn links_of(r: &Reach) -> BTreeMap<(&str, &str), &Link> {
        (r.segments.iter().zip(&r.links))
            .flat_map(|(s, row)| row.iter().map(move |l| ((s.name.as_str(), &*l.to), l)))
            .collect()
    }

    /// A source whose destinations are the same gets its row kept, shared; with a destination
    /// added (a workload with labels of its own, listening), a row whose linked destinations
    /// are all still asked and that the new one gives no link is the row kept, still shared
    /// (though its destinations changed); every other link is the kept one's (its
    /// destination's name and evidence shared), and the reach is the one decided afresh.
    #[test]
    fn rows_asking_the_same_destinations_are_shared_and_rows_merged_keep_their_links() {
        let extra = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: lone, namespace: ops}\nspec:\n  selector: {matchLabels: {app: lone}}\n  template:\n    metadata: {labels: {app: lone}}\n    spec: {containers: [{name: c, image: \"x:1\", ports: [{containerPort: 7000}]}]}\n---\n";
        let (mut shared, mut merged, mut kept_through) = (0, 0, 0);
        for set in &policy_sets() {
            let (c1, c2) = (cluster(set), cluster(&format!("{set}{extra}")));
            let (i1, i2) = (Inventory::new(&c1), Inventory::new(&c2));
            let (m1, m2) = (Model::of(&i1), Model::of(&i2));
            let (w1, w2) = (members(&i1), members(&i2));
            let mut decided = Decided::default();
            let first = m1.reach_with(&w1, &mut decided);
            let again = m1.reach_with(&w1, &mut decided);
            for (a, b) in first.links.iter().zip(&again.links) {
                assert!(Arc::ptr_eq(a, b), "under {set}");
            }
            let rows = decided.rows.clone();
            let next = m2.reach_with(&w2, &mut decided);
            assert_eq!(
                format!("{next:?}"),
                format!("{:?}", m2.reach(&w2)),
                "under {set}"
            );
            // Rows whose destinations changed and whose links did not: the row kept.
            for (source, row) in &decided.rows {
                if let Some(was) = rows.get(source).filter(|was| was.to != row.to) {
                    let linked_still_asked = (was.to.iter().zip(&was.at))
                        .all(|(d, at)| *at == DENIED || row.to.contains(d));
                    if linked_still_asked && *was.links == *row.links {
                        assert!(Arc::ptr_eq(&was.links, &row.links), "under {set}");
                        kept_through += usize::from(!row.links.is_empty());
                    }
                }
            }
            // (Without policies that read its labels it joins a segment.)
            if next.segments.len() == first.segments.len() {
                continue;
            }
            let before = links_of(&first);
            for (s, row) in next.segments.iter().zip(&next.links) {
                let Some(i) = first.segments.iter().position(|f| f.name == s.name) else {
                    continue;
                };
                let old = &first.links[i];
                if **old != **row {
                    merged += 1;
                }
                shared += usize::from(Arc::ptr_eq(old, row) && !row.is_empty());
                for l in row.iter() {
                    if let Some(kept) = before.get(&(s.name.as_str(), &*l.to)) {
                        assert!(Arc::ptr_eq(&kept.to, &l.to), "under {set}");
                        assert!(Arc::ptr_eq(&kept.evidence, &l.evidence), "under {set}");
                    }
                }
            }
        }
        assert!(
            shared > 0 && merged > 0 && kept_through > 0,
            "{shared} shared, {merged} merged, {kept_through} kept through a merge"
        );
    }

    /// What forgetting a namespace's segments forgot, put back with the policies it was
    /// decided under (an update undone), gives the reach before again with nothing decided or
    /// numbered anew, every link's destination name and evidence the ones before.
    #[test]
    fn decisions_put_back_give_the_reach_before_without_deciding_again() {
        let sets = policy_sets();
        // Every pair of sets, and each set with one more policy in shop (the segments of other
        // namespaces then stay as they were, and are asked of shop's renumbered ones).
        let more = crate::netpol::tests::np(
            "shop",
            "more",
            "{podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress], ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}",
        );
        let changes = (sets
            .iter()
            .flat_map(|a| sets.iter().map(move |b| (a.clone(), b.clone()))))
        .chain(sets.iter().map(|a| (a.clone(), format!("{a}{more}"))));
        let mut undone = 0;
        for (a, b) in changes {
            let (ca, cb) = (cluster(&a), cluster(&b));
            let (ia, ib) = (Inventory::new(&ca), Inventory::new(&cb));
            let (ma, mb) = (Model::of(&ia), Model::of(&ib));
            let (wa, wb) = (members(&ia), members(&ib));
            let Some(namespaces) = ma.policies_changed_in(&mb) else {
                continue;
            };
            if namespaces.is_empty() {
                continue;
            }
            let mut decided = Decided::default();
            let before = ma.reach_with(&wa, &mut decided);
            let forgotten = decided.forget_namespaces(&namespaces);
            let forgot = forgotten.pairs.iter().any(|(_, d)| d.is_some())
                && forgotten.sources.iter().any(|(_, d)| !d.is_empty());
            let during = mb.reach_with(&wb, &mut decided);
            assert_eq!(format!("{during:?}"), format!("{:?}", mb.reach(&wb)));
            decided.put_back(&namespaces, forgotten);
            let (next, pairs) = (decided.next, decided.decisions());
            let after = ma.reach_with(&wa, &mut decided);
            assert_eq!(
                format!("{after:?}"),
                format!("{before:?}"),
                "from {a} to {b}"
            );
            assert_eq!(decided.next, next, "nothing numbered anew, from {a} to {b}");
            assert_eq!(
                decided.decisions(),
                pairs,
                "nothing decided anew, from {a} to {b}"
            );
            let was = links_of(&before);
            for (key, l) in links_of(&after) {
                assert!(Arc::ptr_eq(&was[&key].to, &l.to), "from {a} to {b}");
                assert!(Arc::ptr_eq(&was[&key].evidence, &l.evidence));
            }
            undone += usize::from(forgot && !was.is_empty());
        }
        assert!(
            undone > 0,
            "some decisions to and from a forgotten segment were put back"
        );
    }

    /// Segments forgotten between forgetting a namespace's and putting them back (as
    /// [`Decided::forget_all_but`] may, for being too many) stay forgotten: nothing put back
    /// names them, and the reach after is still the one decided afresh.
    #[test]
    fn decisions_put_back_name_only_live_segments() {
        let sets = policy_sets();
        let mut dropped = 0;
        for a in &sets {
            for b in &sets {
                let (ca, cb) = (cluster(a), cluster(b));
                let (ia, ib) = (Inventory::new(&ca), Inventory::new(&cb));
                let (ma, mb) = (Model::of(&ia), Model::of(&ib));
                let (wa, wb) = (members(&ia), members(&ib));
                let Some(namespaces) = ma.policies_changed_in(&mb).filter(|n| !n.is_empty()) else {
                    continue;
                };
                let mut decided = Decided::default();
                let _ = ma.reach_with(&wa, &mut decided);
                let forgotten = decided.forget_namespaces(&namespaces);
                let _ = mb.reach_with(&wb, &mut decided);
                let outside = |stand: &Stand, _| !namespaces.contains(&stand.source.namespace);
                let gone = decided.forget(outside);
                let gone: hashbrown::HashSet<Number> = gone.ids.iter().map(|(_, n)| *n).collect();
                dropped += (forgotten.sources.iter())
                    .flat_map(|(_, decisions)| decisions.keys())
                    .chain(forgotten.pairs.iter().map(|((source, _), _)| source))
                    .filter(|n| gone.contains(*n))
                    .count();
                decided.put_back(&namespaces, forgotten);
                let live: hashbrown::HashSet<Number> = decided.ids.values().copied().collect();
                for (source, decisions) in &decided.links {
                    assert!(live.contains(source), "from {a} to {b}");
                    assert!(
                        decisions.keys().all(|d| live.contains(d)),
                        "from {a} to {b}"
                    );
                }
                assert!(
                    decided.rows.keys().all(|s| live.contains(s)),
                    "from {a} to {b}"
                );
                assert_eq!(
                    format!("{:?}", ma.reach_with(&wa, &mut decided)),
                    format!("{:?}", ma.reach(&wa)),
                    "from {a} to {b}"
                );
            }
        }
        assert!(
            dropped > 0,
            "some decision put back named a segment forgotten meanwhile"
        );
    }

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
            let (segments, links, next) = (decided.ids.len(), decided.decisions(), decided.next);
            assert_eq!(segments, first.segments.len(), "under {set}");
            let again = model.reach_with(&ms, &mut decided);
            assert_eq!(format!("{first:?}"), format!("{again:?}"));
            assert_eq!(
                (decided.ids.len(), decided.decisions(), decided.next),
                (segments, links, next),
                "under {set}"
            );
        }
    }
}
