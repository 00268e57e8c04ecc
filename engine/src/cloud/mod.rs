//! Cloud identity semantics, pure (the cloud collectors fetch the documents). Today: [`aws_auth`]
//! (the EKS aws-auth ConfigMap) and
//! [`aws_iam`], the policy evaluator behind the cross-layer edges (IRSA and Pod Identity trusts,
//! node roles, admin classification).

pub mod aws_auth;
pub mod aws_iam;
