# kspm for an Azure tenant: one managed identity with the collector role on every subscription,
# federated to kspm's ServiceAccount on AKS (workload identity).

terraform {
  required_version = ">= 1.5"
  required_providers {
    azurerm    = { source = "hashicorp/azurerm", version = ">= 3.90" }
    kubernetes = { source = "hashicorp/kubernetes", version = ">= 2.25" }
  }
}

provider "azurerm" {
  features {}
}

variable "subscription_ids" {
  description = "Subscriptions to scan."
  type        = list(string)
}

variable "kspm_cluster_oidc_issuer" {
  description = "oidcIssuerProfile.issuerURL of the AKS cluster kspm runs on."
  type        = string
}

variable "image" {
  description = "kspm image (pinned by digest)."
  type        = string
}

module "collector" {
  source              = "../../modules/azure-collector"
  resource_group_name = "rg-security"
  location            = "westeurope"
  subscription_ids    = var.subscription_ids
  workload_identity = {
    issuer          = var.kspm_cluster_oidc_issuer
    namespace       = "kspm"
    service_account = "kspm"
  }
}

module "service" {
  source         = "../../modules/kspm-service"
  image          = var.image
  cloud_identity = { "azure.workload.identity/client-id" = module.collector.client_id }
  config         = <<-TOML
    [service]
    listen = "0.0.0.0:50051"
    # In-cluster plaintext behind the mesh or an ingress that terminates TLS; or set tls_cert/tls_key.
    grpc_plaintext = true

    [[tenant]]
    name = "security"
    token_sha256 = ["<sha256 of the API token>"]

    [[tenant.target]]
    name = "azure"
    interval = "1h"
    [tenant.target.azure]
    subscriptions = ${jsonencode(var.subscription_ids)}
  TOML
}
