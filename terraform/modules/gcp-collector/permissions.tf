# The GCP permissions kspm's collector uses — exactly the lists in collectors/src/cloud/gcp.rs
# (ACTIONS, HIERARCHY_ACTIONS). tests/terraform.rs fails if they differ.
locals {
  kspm_collector_permissions = [
    "resourcemanager.projects.get",
    "resourcemanager.projects.getIamPolicy",
    "container.clusters.list",
    "iam.serviceAccounts.list",
    "iam.serviceAccounts.getIamPolicy",
    "iam.roles.get",
  ]
  # The folders' and the organization's IAM policies, which every project below inherits. Google
  # refuses these in a project-level custom role, so only the organization-wide grant has them;
  # with per-project grants kspm reports inherited IAM as not assessed.
  kspm_hierarchy_permissions = [
    "resourcemanager.folders.getIamPolicy",
    "resourcemanager.organizations.getIamPolicy",
  ]
}
