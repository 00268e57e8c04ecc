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

variable "tls_secret" {
  description = "Existing kubernetes.io/tls Secret in the namespace, mounted read-only at /etc/kspm/tls (tls.crt, tls.key): set tls_cert and tls_key in the config to those files. Needed by the admission webhook."
  type        = string
  default     = ""
}

variable "admission_port" {
  description = "Port of the admission webhook (the config's admission_listen = \"0.0.0.0:<port>\"); 0 leaves it off. When on, the Service kspm gets port 443 to it and the NetworkPolicy admits it. Register it in each watched cluster with ../kspm-admission-webhook."
  type        = number
  default     = 0
  validation {
    condition     = var.admission_port == 0 || (var.admission_port > 1024 && var.admission_port < 65536)
    error_message = "admission_port is 0 (off) or an unprivileged port (the container runs as non-root)."
  }
}

locals {
  admission = var.admission_port > 0
  container_ports = concat(
    [{ name = "grpc", containerPort = 50051 }, { name = "metrics", containerPort = 9464 }],
    local.admission ? [{ name = "admission", containerPort = var.admission_port }] : [],
  )
  volume_mounts = concat(
    [{ name = "config", mountPath = "/etc/kspm", readOnly = true }, { name = "tmp", mountPath = "/tmp" }],
    var.tls_secret != "" ? [{ name = "tls", mountPath = "/etc/kspm/tls", readOnly = true }] : [],
  )
  volumes = concat(
    [{ name = "config", configMap = { name = "kspm-config" } }, { name = "tmp", emptyDir = {} }],
    var.tls_secret != "" ? [{ name = "tls", secret = { secretName = var.tls_secret } }] : [],
  )
  service_ports = concat(
    [{ name = "grpc", port = 50051, targetPort = "grpc" }],
    local.admission ? [{ name = "admission", port = 443, targetPort = "admission" }] : [],
  )
  # The API servers of the watched clusters call the webhook from outside the namespace.
  ingress = concat(
    [{ ports = [{ port = 50051 }] }],
    local.admission ? [{ ports = [{ port = var.admission_port }] }] : [],
  )
}

locals {
  rendered = templatefile("${path.module}/kspm-service.yaml.tftpl", {
    container_ports             = jsonencode(local.container_ports)
    volume_mounts               = jsonencode(local.volume_mounts)
    volumes                     = jsonencode(local.volumes)
    service_ports               = jsonencode(local.service_ports)
    ingress                     = jsonencode(local.ingress)
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

output "admission_address" {
  description = "In-cluster address of the admission webhook (null when off); an API server outside the cluster needs it exposed (a LoadBalancer or Ingress with TLS passthrough)."
  value       = local.admission ? "https://kspm.${var.namespace}.svc:443" : null
}

output "grpc_address" {
  description = "In-cluster gRPC address of the service."
  value       = "kspm.${var.namespace}.svc:50051"
}
