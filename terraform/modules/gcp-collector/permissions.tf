# The GCP permissions kspm's collector uses — exactly the list in collectors/src/cloud/gcp.rs
# (ACTIONS). tests/terraform.rs fails if the two differ.
locals {
  kspm_collector_permissions = [
    "resourcemanager.projects.get",
    "resourcemanager.projects.getIamPolicy",
    "container.clusters.list",
    "iam.serviceAccounts.list",
    "iam.serviceAccounts.getIamPolicy",
    "iam.roles.get",
  ]
}
