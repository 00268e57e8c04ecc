# kspm's collector identity on Azure (CLOUD.md §3.5): a user-assigned managed identity with a
# custom role holding exactly the collector's ARM reads (actions.tf) and, for Azure RBAC for
# Kubernetes clusters, read data actions on every Kubernetes object except Secrets, assigned on
# each subscription. The one credential-returning action, listClusterUserCredential, is in a
# second role assigned only on Entra-integrated clusters (`entra_clusters`, or
# ../azure-cluster-access per other subscription): on a cluster without Entra integration it
# returns an admin certificate, so a subscription-wide grant would make the collector's token
# cluster-admin of every such cluster. Optionally federated to the kspm service's KSA (AKS
# workload identity).

terraform {
  required_version = ">= 1.5"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 3.90"
    }
  }
}

variable "resource_group_name" {
  description = "Resource group for the identity."
  type        = string
}

variable "location" {
  description = "Region of the identity."
  type        = string
}

variable "subscription_ids" {
  description = "Subscriptions kspm reads."
  type        = list(string)
}

variable "entra_clusters" {
  description = "Entra-integrated AKS clusters in the provider's subscription whose Kubernetes API kspm reads ({ name, resource_group_name }); each gets the credential role (see ../azure-cluster-access; the plan fails for a cluster without Entra integration). Clusters left out are reported from ARM only."
  type = list(object({
    name                = string
    resource_group_name = string
  }))
  default = []
}

variable "workload_identity" {
  description = "The kspm service's Kubernetes identity, when it runs on AKS: { issuer = <oidcIssuerProfile.issuerURL>, namespace, service_account }."
  type = object({
    issuer          = string
    namespace       = string
    service_account = string
  })
  default = null
}

resource "azurerm_user_assigned_identity" "kspm" {
  name                = "kspm-collector"
  resource_group_name = var.resource_group_name
  location            = var.location
}

resource "azurerm_role_definition" "collector" {
  name              = "kspm collector"
  scope             = "/subscriptions/${var.subscription_ids[0]}"
  description       = "kspm: read managed clusters, role assignments and identities; read Kubernetes objects except Secrets"
  assignable_scopes = [for s in var.subscription_ids : "/subscriptions/${s}"]
  permissions {
    actions          = local.kspm_collector_actions
    data_actions     = ["Microsoft.ContainerService/managedClusters/*/read"]
    not_data_actions = ["Microsoft.ContainerService/managedClusters/secrets/read"]
  }
}

resource "azurerm_role_assignment" "collector" {
  for_each = toset(var.subscription_ids)
  scope    = "/subscriptions/${each.value}"
  # The definition's ID as seen from the assignment's own subscription: ARM reads it back so,
  # and another subscription's prefix would make every plan replace the assignment.
  role_definition_id = "/subscriptions/${each.value}/providers/Microsoft.Authorization/roleDefinitions/${azurerm_role_definition.collector.role_definition_id}"
  principal_id       = azurerm_user_assigned_identity.kspm.principal_id
}

resource "azurerm_role_definition" "cluster_credential" {
  name              = "kspm collector: Entra cluster credential"
  scope             = "/subscriptions/${var.subscription_ids[0]}"
  description       = "kspm: the address and CA of an Entra-integrated AKS cluster's API server (assign on such clusters only)"
  assignable_scopes = [for s in var.subscription_ids : "/subscriptions/${s}"]
  permissions {
    actions = local.kspm_cluster_credential_actions
  }
}

module "entra_clusters" {
  source             = "../azure-cluster-access"
  principal_id       = azurerm_user_assigned_identity.kspm.principal_id
  role_definition_id = azurerm_role_definition.cluster_credential.role_definition_resource_id
  clusters           = var.entra_clusters
}

resource "azurerm_federated_identity_credential" "kspm" {
  count               = var.workload_identity == null ? 0 : 1
  name                = "kspm-service"
  resource_group_name = var.resource_group_name
  parent_id           = azurerm_user_assigned_identity.kspm.id
  issuer              = var.workload_identity.issuer
  subject             = "system:serviceaccount:${var.workload_identity.namespace}:${var.workload_identity.service_account}"
  audience            = ["api://AzureADTokenExchange"]
}

output "client_id" {
  description = "Annotate the kspm ServiceAccount with it (azure.workload.identity/client-id) and set AZURE_CLIENT_ID."
  value       = azurerm_user_assigned_identity.kspm.client_id
}

output "cluster_credential_role_id" {
  description = "The credential role, for ../azure-cluster-access in other subscriptions."
  value       = azurerm_role_definition.cluster_credential.role_definition_resource_id
}

output "principal_id" {
  description = "Object ID to bind in clusters using Kubernetes RBAC (subject of ../kubernetes-collector-rbac)."
  value       = azurerm_user_assigned_identity.kspm.principal_id
}
