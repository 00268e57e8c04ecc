# kspm for an AWS organization: the central role in the account where kspm runs (on EKS), a
# read-only member role in each account to scan (one provider alias per account here; a
# CloudFormation StackSet of the same role across the organization works as well) — the
# management account's also allowed to list the organization's accounts — the collector RBAC
# in each EKS cluster, and the service.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws        = { source = "hashicorp/aws", version = ">= 5.40" }
    kubernetes = { source = "hashicorp/kubernetes", version = ">= 2.25" }
  }
}

variable "external_id" {
  description = "Shared secret between kspm and the member roles (also in kspm.toml)."
  type        = string
  sensitive   = true
}

variable "kspm_cluster_oidc_provider_arn" {
  description = "IAM OIDC provider of the EKS cluster kspm runs on."
  type        = string
}

variable "kspm_cluster_oidc_issuer" {
  description = "Its issuer host/path (oidc.eks.<region>.amazonaws.com/id/<ID>)."
  type        = string
}

variable "image" {
  description = "kspm image (pinned by digest)."
  type        = string
}

provider "aws" {
  alias  = "security"
  region = "us-east-1"
}

provider "aws" {
  alias  = "prod"
  region = "us-east-1"
  assume_role {
    role_arn = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"
  }
}

provider "aws" {
  alias  = "management"
  region = "us-east-1"
}

module "central" {
  source            = "../../modules/aws-central-role"
  providers         = { aws = aws.security }
  oidc_provider_arn = var.kspm_cluster_oidc_provider_arn
  oidc_issuer       = var.kspm_cluster_oidc_issuer
  # The member role in every account of the organization.
  member_role_arns = ["arn:aws:iam::*:role/KspmReadOnly"]
}

module "management_account" {
  source                     = "../../modules/aws-member-role"
  providers                  = { aws = aws.management }
  central_role_arn           = module.central.role_arn
  external_id                = var.external_id
  list_organization_accounts = true
}

module "prod_account" {
  source           = "../../modules/aws-member-role"
  providers        = { aws = aws.prod }
  central_role_arn = module.central.role_arn
  external_id      = var.external_id
  eks_clusters     = ["prod-eu"]
}

# In each scanned EKS cluster (its kubernetes provider configured elsewhere):
# module "collector_rbac" { source = "../../modules/kubernetes-collector-rbac" }

module "service" {
  source         = "../../modules/kspm-service"
  image          = var.image
  cloud_identity = { "eks.amazonaws.com/role-arn" = module.central.role_arn }
  config         = <<-TOML
    [service]
    listen = "0.0.0.0:50051"
    # In-cluster plaintext behind the mesh or an ingress that terminates TLS; or set tls_cert/tls_key.
    grpc_plaintext = true
    metrics_listen = "0.0.0.0:9464"

    [[tenant]]
    name = "security"
    token_sha256 = ["<sha256 of the API token>"]

    [[tenant.target]]
    name = "aws"
    interval = "1h"
    [tenant.target.aws]
    regions = ["us-east-1", "eu-west-1"]
    # Every active account of the organization, through its KspmReadOnly role.
    [tenant.target.aws.organization]
    member_role = "KspmReadOnly"
    external_id = "<same as var.external_id>"
    management_role_arn = "${module.management_account.role_arn}"
  TOML
}
