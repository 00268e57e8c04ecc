//! Cloud collectors. AWS: discovery of accounts, regions and EKS clusters with their IAM
//! ([`aws`], JSON shapes in [`aws_json`]), the EKS bearer token generated in-process from IAM
//! credentials the way `aws eks get-token` does ([`eks_token`]), and the read of each
//! discovered cluster ([`eks_cluster`]). GKE and AKS: not yet.

pub mod aws;
pub mod aws_json;
pub mod eks_cluster;
pub mod eks_token;
