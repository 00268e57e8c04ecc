# kspm for an Azure tenant: one managed identity with the collector role on every subscription,
# federated to kspm's ServiceAccount on AKS (workload identity); the credential role on the
# Entra-integrated clusters kspm reads (the default subscription's through the module, another
# subscription's through ../../modules/azure-cluster-access with that subscription's provider).

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

variable "entra_clusters" {
  description = "Entra-integrated AKS clusters of the default subscription whose Kubernetes API kspm reads."
  type        = list(object({ name = string, resource_group_name = string }))
  default     = []
}

variable "other_subscription" {
  description = "A second subscription (also in subscription_ids: the credential role is assignable only there) and its Entra-integrated clusters."
  type = object({
    id       = string
    clusters = list(object({ name = string, resource_group_name = string }))
  })
  default = null
}

provider "azurerm" {
  alias           = "other"
  subscription_id = var.other_subscription == null ? null : var.other_subscription.id
  features {}
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
  entra_clusters      = var.entra_clusters
  workload_identity = {
    issuer          = var.kspm_cluster_oidc_issuer
    namespace       = "kspm"
    service_account = "kspm"
  }
}

module "other_subscription_clusters" {
  source             = "../../modules/azure-cluster-access"
  providers          = { azurerm = azurerm.other }
  principal_id       = module.collector.principal_id
  role_definition_id = module.collector.cluster_credential_role_id
  clusters           = var.other_subscription == null ? [] : var.other_subscription.clusters
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
