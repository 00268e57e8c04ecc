//! Nodes: the kubelet credentials every node holds, and self-managed control-plane nodes (NODE_CREDENTIALS, CONTROL_PLANE_NODE).

use super::*;
use crate::pointer::Pointer as _;

/// The label EKS puts on a managed node group's nodes: the group's name.
pub(crate) const EKS_NODEGROUP_LABEL: &str = "eks.amazonaws.com/nodegroup";
/// The label GKE puts on a node pool's nodes: the pool's name.
pub(crate) const GKE_NODEPOOL_LABEL: &str = "cloud.google.com/gke-nodepool";

/// Whether a Node has an external address (`status.addresses` of type `ExternalIP`): its
/// NodePorts then face the internet.
pub(crate) fn has_external_ip(node: &Object) -> bool {
    node.body
        .at("/status/addresses")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|x| x.get("type").and_then(Value::as_str) == Some("ExternalIP"))
        })
}

/// What a namespace part reads of a Node object; everything else of it (its name as a graph
/// node, its kubelet's identity, its role labels, its instance role) is the cluster part's.
/// Pods reach nodes by `spec.nodeName`, a string: a namespace part reads a Node only for the
/// pool its placed pods run in (the node's pool labels) and whether the cluster's NodePorts
/// face the internet (some node's external address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// The node's name.
    pub name: String,
    /// The values of the pool labels, in the order of [`EKS_NODEGROUP_LABEL`],
    /// [`GKE_NODEPOOL_LABEL`].
    pub pools: [Option<String>; 2],
    /// [`has_external_ip`].
    pub external_ip: bool,
}

impl NodeView {
    /// `node`'s view, or `None` when it is not a Node.
    pub fn of(node: &Object) -> Option<NodeView> {
        (node.kind == "Node").then(|| NodeView {
            name: node.name.clone(),
            pools: [EKS_NODEGROUP_LABEL, GKE_NODEPOOL_LABEL].map(|l| node.labels.get(l).cloned()),
            external_ip: has_external_ip(node),
        })
    }
}

impl ClusterBuilder<'_, '_> {
    pub(super) fn nodes(&mut self) {
        let any = self.n("Node:*", NodeKind::Node);
        let nodes: Vec<&Object> = self.inv.of_kind("Node").to_vec();
        if nodes.iter().any(|n| has_external_ip(n)) {
            self.g.node(None, "Internet", NodeKind::Internet);
        }
        if nodes.is_empty() {
            // No Node objects (manifests): whichever node it is, its kubelet is in system:nodes.
            let nodes_group = self.n("Group:system:nodes", NodeKind::Group);
            self.g.edge(
                any,
                nodes_group,
                T::NODE_CREDENTIALS,
                "kubelet credentials of whichever node it is (group system:nodes; the Node authorizer limits them to its own pods' objects)",
            );
        }
        for node in nodes {
            let idx = self.n(&node.node_ref(), NodeKind::Node);
            self.g.edge(any, idx, T::INCLUDES, "any schedulable node");
            let kubelet = self.n(&format!("User:system:node:{}", node.name), NodeKind::User);
            self.g.edge(
                idx,
                kubelet,
                T::NODE_CREDENTIALS,
                format!(
                    "kubelet credentials of node {} (user system:node:{}, group system:nodes)",
                    node.name, node.name
                ),
            );
            let nodes_group = self.n("Group:system:nodes", NodeKind::Group);
            self.g.edge(
                kubelet,
                nodes_group,
                T::MEMBER_OF,
                "kubelet identities are in system:nodes",
            );
            let control_plane = [
                "node-role.kubernetes.io/control-plane",
                "node-role.kubernetes.io/master",
            ]
            .iter()
            .find(|l| node.labels.contains_key(**l));
            if let (Some(label), Provider::Generic) = (control_plane, self.cluster.info.provider) {
                let admin = self.n("ClusterAdmin", NodeKind::ClusterAdmin);
                self.g.edge(idx, admin, T::CONTROL_PLANE_NODE, format!("node labelled {label}: it holds the control plane's credentials (self-managed cluster)"));
            }
        }
    }
}
