//! Nodes: the kubelet credentials every node holds, and self-managed control-plane nodes (NODE_CREDENTIALS, CONTROL_PLANE_NODE).

use super::*;

impl ClusterBuilder<'_, '_> {
    pub(super) fn nodes(&mut self) {
        let any = self.n("Node:*", NodeKind::Node);
        let nodes: Vec<&Object> = self.inv.of_kind("Node").to_vec();
        let external_ip = nodes.iter().any(|n| {
            n.body
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x.get("type").and_then(Value::as_str) == Some("ExternalIP"))
                })
        });
        if external_ip {
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
