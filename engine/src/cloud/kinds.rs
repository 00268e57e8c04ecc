//! The synthetic kinds that carry cloud provider documents in a snapshot (`apiVersion:
//! cloud.kspm.io/v1`): names only, so that the object model and the parser can know them
//! without depending on how the documents are read ([`super::documents`]).

/// `apiVersion` of every synthetic cloud object.
pub const CLOUD_API_VERSION: &str = "cloud.kspm.io/v1";

/// `DescribeCluster` → `cluster`.
pub const EKS_CLUSTER: &str = "EksCluster";
/// `DescribeNodegroup` → `nodegroup`.
pub const EKS_NODEGROUP: &str = "EksNodegroup";
/// `DescribeAccessEntry` → `accessEntry`.
pub const EKS_ACCESS_ENTRY: &str = "EksAccessEntry";
/// `ListAssociatedAccessPolicies` answer (named after its `principalArn`).
pub const EKS_ACCESS_POLICIES: &str = "EksAssociatedAccessPolicies";
/// `DescribePodIdentityAssociation` → `association`.
pub const EKS_POD_IDENTITY: &str = "EksPodIdentityAssociation";
/// One `ec2:DescribeLaunchTemplateVersions` version (named `<template id>:<version>`).
pub const EC2_LAUNCH_TEMPLATE_VERSION: &str = "Ec2LaunchTemplateVersion";
/// One page of `iam:GetAccountAuthorizationDetails` (named `<account>:<page>`).
pub const AWS_AUTHORIZATION_DETAILS: &str = "AwsAuthorizationDetails";
/// `gcloud container clusters describe --format json` (the GKE `Cluster`).
pub const GKE_CLUSTER: &str = "GkeCluster";
/// An IAM policy of a project, service account, folder or organization (named `projects/<p>`,
/// `projects/<p>/serviceAccounts/<email>`, `folders/<id>` or `organizations/<id>`, from its path:
/// under `cloud/gcp/<project>/`, or `cloud/gcp/folders/<id>.json`,
/// `cloud/gcp/organizations/<id>.json`).
pub const GCP_IAM_POLICY: &str = "GcpIamPolicy";
/// A role definition (`gcloud iam roles describe`), named by the role.
pub const GCP_ROLE: &str = "GcpRole";
/// A project's place in the resource hierarchy: its folders and organization, nearest first
/// (Resource Manager `projects.getAncestry`, or `gcloud projects get-ancestors --format json`),
/// named `projects/<p>`.
pub const GCP_ANCESTRY: &str = "GcpAncestry";
/// `az aks show` (the ARM `ManagedCluster`).
pub const AKS_CLUSTER: &str = "AksCluster";
/// One Azure role assignment (`az role assignment list --all`, or ARM `value[]`).
pub const AZURE_ROLE_ASSIGNMENT: &str = "AzureRoleAssignment";
/// One Azure role definition.
pub const AZURE_ROLE_DEFINITION: &str = "AzureRoleDefinition";
/// One user-assigned managed identity (`az identity list`).
pub const AZURE_MANAGED_IDENTITY: &str = "AzureManagedIdentity";
/// One federated identity credential of a managed identity.
pub const AZURE_FEDERATED_CREDENTIAL: &str = "AzureFederatedCredential";

/// Every synthetic cloud kind (all cluster-scoped).
pub const CLOUD_KINDS: &[&str] = &[
    EKS_CLUSTER,
    EKS_NODEGROUP,
    EKS_ACCESS_ENTRY,
    EKS_ACCESS_POLICIES,
    EKS_POD_IDENTITY,
    EC2_LAUNCH_TEMPLATE_VERSION,
    AWS_AUTHORIZATION_DETAILS,
    GKE_CLUSTER,
    GCP_IAM_POLICY,
    GCP_ROLE,
    GCP_ANCESTRY,
    AKS_CLUSTER,
    AZURE_ROLE_ASSIGNMENT,
    AZURE_ROLE_DEFINITION,
    AZURE_MANAGED_IDENTITY,
    AZURE_FEDERATED_CREDENTIAL,
];

/// Kinds that describe an account, project or subscription rather than one cluster: they are
/// joined fleet-wide, wherever they were found.
pub const IAM_KINDS: &[&str] = &[
    AWS_AUTHORIZATION_DETAILS,
    GCP_IAM_POLICY,
    GCP_ROLE,
    GCP_ANCESTRY,
    AZURE_ROLE_ASSIGNMENT,
    AZURE_ROLE_DEFINITION,
    AZURE_MANAGED_IDENTITY,
    AZURE_FEDERATED_CREDENTIAL,
];
