# Read-only role kspm assumes in a member account (CLOUD.md §1.1): trusted by the central kspm
# role only, with an external ID; allowed exactly the collector's reads (actions.tf); and, per
# EKS cluster, an access entry mapping it to the Kubernetes group the collector ClusterRole is
# bound to (see ../kubernetes-collector-rbac) — no access policy, so no Secret value is readable.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
  }
}

variable "central_role_arn" {
  description = "ARN of the central kspm role (the service's identity) allowed to assume this role."
  type        = string
}

variable "external_id" {
  description = "External ID the central role must present (kspm.toml: [[aws.account]] external_id)."
  type        = string
  sensitive   = true
}

variable "role_name" {
  description = "Name of the read-only role."
  type        = string
  default     = "KspmReadOnly"
}

variable "eks_clusters" {
  description = "EKS clusters (names, in this provider's region) to give the role Kubernetes read access through an access entry. Their authentication mode must include API."
  type        = list(string)
  default     = []
}

variable "list_organization_accounts" {
  description = "In the organization's management account (or a delegated administrator account): also allow organizations:ListAccounts, so kspm lists the organization's accounts through this role (kspm.toml: [aws.organization] management_role_arn = this role)."
  type        = bool
  default     = false
}

variable "kubernetes_group" {
  description = "Kubernetes group the access entries map the role to; the collector ClusterRole is bound to it."
  type        = string
  default     = "kspm:collectors"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.central_role_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

resource "aws_iam_role" "kspm" {
  name                 = var.role_name
  description          = "kspm read-only collector"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "read" {
  # checkov:skip=CKV_AWS_356: List/Describe/GetAccountAuthorizationDetails are account-wide reads over every cluster and region, and organizations:ListAccounts has no resource type; there is no narrower resource.
  statement {
    sid       = "KspmCollectorReads"
    actions   = local.kspm_collector_actions
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = var.list_organization_accounts ? [1] : []
    content {
      sid       = "KspmListOrganizationAccounts"
      actions   = local.kspm_organization_actions
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "read" {
  name   = "kspm-collector-reads"
  role   = aws_iam_role.kspm.id
  policy = data.aws_iam_policy_document.read.json
}

resource "aws_eks_access_entry" "kspm" {
  for_each          = toset(var.eks_clusters)
  cluster_name      = each.value
  principal_arn     = aws_iam_role.kspm.arn
  kubernetes_groups = [var.kubernetes_group]
  type              = "STANDARD"
}

output "role_arn" {
  description = "ARN to list in kspm.toml ([[aws.account]] role_arn; with list_organization_accounts, [aws.organization] management_role_arn)."
  value       = aws_iam_role.kspm.arn
}
