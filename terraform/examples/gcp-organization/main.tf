# kspm for a GCP organization: one collector service account granted the reads on the whole
# organization, used by kspm on GKE through Workload Identity.

terraform {
  required_version = ">= 1.5"
  required_providers {
    google     = { source = "hashicorp/google", version = ">= 5.0" }
    kubernetes = { source = "hashicorp/kubernetes", version = ">= 2.25" }
  }
}

variable "organization_id" {
  description = "Organization to scan."
  type        = string
}

variable "security_project" {
  description = "Project of the GKE cluster kspm runs on."
  type        = string
}

variable "image" {
  description = "kspm image (pinned by digest)."
  type        = string
}

module "collector" {
  source          = "../../modules/gcp-collector"
  project         = var.security_project
  organization_id = var.organization_id
  workload_identity = {
    pool            = "${var.security_project}.svc.id.goog"
    namespace       = "kspm"
    service_account = "kspm"
  }
}

module "service" {
  source         = "../../modules/kspm-service"
  image          = var.image
  cloud_identity = { "iam.gke.io/gcp-service-account" = module.collector.email }
  config         = <<-TOML
    [service]
    listen = "0.0.0.0:50051"
    # In-cluster plaintext behind the mesh or an ingress that terminates TLS; or set tls_cert/tls_key.
    grpc_plaintext = true

    [[tenant]]
    name = "security"
    token_sha256 = ["<sha256 of the API token>"]

    [[tenant.target]]
    name = "gcp"
    interval = "1h"
    [tenant.target.gcp]
  TOML
}
