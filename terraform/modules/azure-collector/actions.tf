# The ARM actions kspm's collector uses — exactly the list in collectors/src/cloud/azure.rs
# (ACTIONS). tests/terraform.rs fails if the two differ.
locals {
  kspm_collector_actions = [
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.ContainerService/managedClusters/read",
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
  ]
}
