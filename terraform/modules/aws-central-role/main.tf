# The central kspm identity on AWS: an IRSA role for the kspm service's ServiceAccount, allowed
# only to assume the member accounts' read-only roles (../aws-member-role).

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
  }
}

variable "oidc_provider_arn" {
  description = "IAM OIDC provider ARN of the EKS cluster kspm runs on."
  type        = string
}

variable "oidc_issuer" {
  description = "Issuer host and path of that cluster (oidc.eks.<region>.amazonaws.com/id/<ID>, no https://)."
  type        = string
}

variable "namespace" {
  description = "Namespace of the kspm service."
  type        = string
  default     = "kspm"
}

variable "service_account" {
  description = "ServiceAccount of the kspm service."
  type        = string
  default     = "kspm"
}

variable "member_role_arns" {
  description = "Read-only roles kspm may assume (one per member account; for an organization's accounts, the member role in every account: arn:aws:iam::*:role/KspmReadOnly)."
  type        = list(string)
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "central" {
  name               = "kspm-central"
  description        = "kspm service: assumes the member accounts' read-only roles"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

# The central actions (collectors/src/cloud/aws.rs CENTRAL_ACTIONS), on the member roles only.
locals {
  kspm_central_actions = ["sts:AssumeRole"]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions   = local.kspm_central_actions
    resources = var.member_role_arns
  }
}

resource "aws_iam_role_policy" "assume" {
  name   = "kspm-assume-member-roles"
  role   = aws_iam_role.central.id
  policy = data.aws_iam_policy_document.assume.json
}

output "role_arn" {
  description = "Annotate the kspm ServiceAccount with it (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.central.arn
}
