# kspm's collector on Entra-integrated AKS clusters: the role holding only
# listClusterUserCredential (../azure-collector's `cluster_credential_role_id`) assigned on each
# cluster, never on a subscription or resource group. On an Entra-integrated cluster that
# credential is a kubeconfig with the API server's address and CA and an exec plug-in — no
# secret; on a cluster without Entra integration it is an admin certificate, so the plan fails
# for such a cluster instead of assigning. Entra integration cannot be turned off again, so an
# assignment made here stays harmless.
#
# The clusters are read with the azurerm provider passed in: instantiate the module once per
# subscription (a provider alias each) for clusters outside the default one.

terraform {
  required_version = ">= 1.5"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 3.90"
    }
  }
}

variable "principal_id" {
  description = "Object ID of kspm's collector identity (../azure-collector's principal_id)."
  type        = string
}

variable "role_definition_id" {
  description = "The credential role (../azure-collector's cluster_credential_role_id)."
  type        = string
}

variable "clusters" {
  description = "Entra-integrated AKS clusters of the provider's subscription whose Kubernetes API kspm reads."
  type = list(object({
    name                = string
    resource_group_name = string
  }))
}

data "azurerm_kubernetes_cluster" "cluster" {
  for_each            = { for c in var.clusters : "${c.resource_group_name}/${c.name}" => c }
  name                = each.value.name
  resource_group_name = each.value.resource_group_name
}

resource "azurerm_role_assignment" "credential" {
  for_each           = data.azurerm_kubernetes_cluster.cluster
  scope              = each.value.id
  # The definition's ID as seen from the cluster's subscription (ARM reads it back so; another
  # subscription's prefix would make every plan replace the assignment).
  role_definition_id = "/subscriptions/${split("/", each.value.id)[2]}/providers/Microsoft.Authorization/roleDefinitions/${regex("[^/]+$", var.role_definition_id)}"
  principal_id       = var.principal_id
  lifecycle {
    precondition {
      condition     = length(each.value.azure_active_directory_role_based_access_control) > 0
      error_message = "AKS cluster ${each.key} is not integrated with Entra ID: its user credential is an admin certificate, which kspm's collector must not be able to fetch. Enable Entra integration (az aks update --enable-aad) or leave the cluster out; kspm then reports it from ARM only."
    }
  }
}

output "assignments" {
  description = "The role assignment per cluster (resource group/name)."
  value       = { for k, a in azurerm_role_assignment.credential : k => a.id }
}
