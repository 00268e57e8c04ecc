# Deploys `kspm serve` onto a Kubernetes cluster (kspm-service.yaml.tftpl: Namespace with
# restricted Pod Security, ServiceAccount wired to the cloud identity, ConfigMap with kspm.toml,
# hardened Deployment, Service, NetworkPolicy). The database URL (it may hold a password) comes
# from an existing Secret; tenant tokens are in the config only as SHA-256 hashes.

terraform {
  required_version = ">= 1.5"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.25"
    }
  }
}

variable "namespace" {
  description = "Namespace to create for kspm."
  type        = string
  default     = "kspm"
}

variable "service_account" {
  description = "ServiceAccount kspm runs as (the subject of the cloud identities' trust)."
  type        = string
  default     = "kspm"
}

variable "image" {
  description = "kspm image, pinned (built from the repository's Dockerfile), e.g. registry.example.com/kspm@sha256:..."
  type        = string
}

variable "replicas" {
  description = "Replicas (more than one needs PostgreSQL: they lease scan jobs through it)."
  type        = number
  default     = 2
}

variable "config" {
  description = "kspm.toml: [service], [[tenant]] with token_sha256, [[tenant.target]] with [tenant.target.aws|gcp|azure]."
  type        = string
}

variable "database_secret" {
  description = "Existing Secret in the namespace whose key `url` is the database URL (postgres://...)."
  type        = string
  default     = "kspm-database"
}

variable "cloud_identity" {
  description = "ServiceAccount annotations for the cloud identity: eks.amazonaws.com/role-arn (../aws-central-role), iam.gke.io/gcp-service-account (../gcp-collector), azure.workload.identity/client-id (../azure-collector)."
  type        = map(string)
  default     = {}
}

locals {
  rendered = templatefile("${path.module}/kspm-service.yaml.tftpl", {
    namespace                   = var.namespace
    service_account             = var.service_account
    service_account_annotations = jsonencode(var.cloud_identity)
    config                      = jsonencode(var.config)
    image                       = var.image
    replicas                    = var.replicas
    database_secret             = var.database_secret
  })
  documents = [for d in split("\n---\n", local.rendered) : yamldecode(d)]
}

resource "kubernetes_manifest" "kspm" {
  for_each = { for d in local.documents : "${d.kind}/${d.metadata.name}" => d }
  manifest = each.value
}

output "grpc_address" {
  description = "In-cluster gRPC address of the service."
  value       = "kspm.${var.namespace}.svc:50051"
}
