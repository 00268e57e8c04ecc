//! Cloud collectors. AWS: discovery of accounts, regions and EKS clusters with their IAM
//! ([`aws`], JSON shapes in [`aws_json`]) and the EKS bearer token generated in-process from IAM
//! credentials the way `aws eks get-token` does ([`eks_token`]). GCP ([`gcp`]) and Azure
//! ([`azure`]): discovery over their REST APIs with a thin client ([`rest`]), Google tokens from
//! Application Default Credentials ([`google_adc`]), Entra ID tokens from `azure_identity`
//! ([`azure_credential`]). Each discovered
//! cluster is then read through its API server ([`cluster_read`]).

pub mod aws;
pub mod aws_json;
pub mod azure;
pub mod azure_credential;
pub mod cluster_read;
pub mod ec2;
pub mod eks_token;
pub mod gcp;
pub mod google_adc;
pub mod jwt;
pub mod rest;
