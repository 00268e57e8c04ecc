//! The metadata checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::snapshot::Provider;
use serde_json::json;

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            provider: Provider::Eks,
            ..case(
                "KSPM-N-020",
                vec![
                    nodegroup(json!({"launchTemplate": {"id": "lt-1", "version": "1"}})),
                    launch_template("lt-1", 1, json!({"HttpTokens": "optional"})),
                    deployment(json!({"app": "web"})),
                    // The node role is cluster admin: what the fleet's graph judges.
                    aws_auth("- rolearn: arn:aws:iam::111122223333:role/node\n  username: node\n  groups: [system:masters]\n"),
                ],
                vec![
                    nodegroup(json!({"launchTemplate": {"id": "lt-1", "version": "1"}})),
                    launch_template("lt-1", 1, json!({"HttpTokens": "optional"})),
                    deployment(json!({"app": "web"})),
                    aws_auth("- rolearn: arn:aws:iam::111122223333:role/node\n  username: node\n  groups: [system:masters]\n"),
                    // Egress denied to everything, the metadata server included.
                    netpol(json!({}), json!(["Egress"]), json!({})),
                ],
            )
        },
    ]
}
