//! Cloud identity semantics, pure (the cloud collectors fetch the documents): [`aws_iam`], the
//! IAM policy evaluator behind the cross-layer edges (IRSA and Pod Identity trusts, node roles,
//! admin classification); [`aws_auth`], the EKS aws-auth ConfigMap; [`eks_access`], access
//! entries, access policies as synthetic RBAC, and the authentication mode deciding between them.

pub mod aws_account;
pub mod aws_auth;
pub mod aws_iam;
pub mod eks_access;
