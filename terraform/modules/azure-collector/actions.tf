# The ARM actions kspm's collector uses — exactly the lists in collectors/src/cloud/azure.rs
# (ACTIONS, CLUSTER_CREDENTIAL_ACTIONS). tests/terraform.rs fails if they differ.
locals {
  # Granted on each subscription: reads only, none of them returns a credential.
  kspm_collector_actions = [
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.ContainerService/managedClusters/read",
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
  ]
  # Granted on each Entra-integrated cluster only (../azure-cluster-access): there the user
  # credential is a kubeconfig without a secret (the API server's address and CA); on a cluster
  # without Entra integration it would be an admin certificate.
  kspm_cluster_credential_actions = [
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
  ]
}
