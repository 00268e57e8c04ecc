//! One rule kind for the checks that read one document per object — a provider's description of
//! a cluster (EKS, GKE, AKS) or a node's kubelet configuration. A family's rule reads the
//! document and says what is wrong with the evidence; [`hits`] turns every rule of the four
//! families into hits, and `document_run!` names one check function per rule.

use super::{Context, Evidence, Hit};
use crate::object::Object;
use serde_json::Value;

/// The hits of `rule` over every object of `kind`: `body` picks the object's document (none: the
/// object says nothing to assess), `rule` reads it and gives (message, evidence) per thing wrong.
pub(super) fn hits<'a, I>(
    ctx: &Context<'a>,
    kind: &str,
    body: impl Fn(&'a Object) -> Option<&'a Value>,
    rule: impl Fn(&'a Object, &'a Value) -> I,
) -> Vec<Hit<'a>>
where
    I: IntoIterator<Item = (String, Evidence)>,
{
    ctx.inv
        .of_kind(kind)
        .iter()
        .filter_map(|o| body(o).map(|b| (*o, b)))
        .flat_map(|(o, b)| {
            rule(o, b).into_iter().map(move |(message, evidence)| Hit {
                severity: None,
                object: o,
                message,
                evidence: vec![evidence],
            })
        })
        .collect()
}

/// `document_run!(name, rule)`: the check function `name` that runs `rule` through the family
/// module's own `hits` (its document kind and its rules' shape).
macro_rules! document_run {
    ($name:ident, $rule:ident) => {
        fn $name<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
            hits(ctx, $rule)
        }
    };
}
