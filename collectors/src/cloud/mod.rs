//! Cloud collectors (EKS, GKE, AKS). Today: the EKS bearer token, generated in-process from IAM
//! credentials the way `aws eks get-token` does (see [`eks_token`]).

pub mod eks_token;
