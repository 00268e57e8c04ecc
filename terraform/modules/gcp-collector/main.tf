# kspm's collector identity on GCP (CLOUD.md §2.5): a service account with a custom role holding
# exactly the collector's cloud reads (permissions.tf), at organization scope (with the folders'
# and organization's IAM policies, which projects inherit) or project scope, plus
# roles/container.viewer for reading Kubernetes objects through GKE's IAM authorizer (it does not
# include Secret values). Optionally lets the kspm service's KSA act as it (Workload Identity).

terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0"
    }
  }
}

variable "project" {
  description = "Project that holds the collector service account."
  type        = string
}

variable "organization_id" {
  description = "Organization ID to grant the reads on (every project below it); null to grant per project."
  type        = string
  default     = null
}

variable "projects" {
  description = "Projects to grant the reads on when no organization is given."
  type        = list(string)
  default     = []
}

variable "workload_identity" {
  description = "The kspm service's Kubernetes identity, when it runs on GKE: { pool = \"<project>.svc.id.goog\", namespace, service_account }."
  type = object({
    pool            = string
    namespace       = string
    service_account = string
  })
  default = null
}

resource "google_service_account" "kspm" {
  project      = var.project
  account_id   = "kspm-collector"
  display_name = "kspm read-only collector"
}

locals {
  member = "serviceAccount:${google_service_account.kspm.email}"
}

resource "google_organization_iam_custom_role" "collector" {
  count       = var.organization_id == null ? 0 : 1
  org_id      = var.organization_id
  role_id     = "kspmCollector"
  title       = "kspm collector"
  permissions = concat(local.kspm_collector_permissions, local.kspm_hierarchy_permissions)
}

resource "google_organization_iam_member" "collector" {
  count  = var.organization_id == null ? 0 : 1
  org_id = var.organization_id
  role   = google_organization_iam_custom_role.collector[0].name
  member = local.member
}

resource "google_organization_iam_member" "kubernetes_read" {
  count  = var.organization_id == null ? 0 : 1
  org_id = var.organization_id
  role   = "roles/container.viewer"
  member = local.member
}

resource "google_project_iam_custom_role" "collector" {
  for_each    = var.organization_id == null ? toset(var.projects) : toset([])
  project     = each.value
  role_id     = "kspmCollector"
  title       = "kspm collector"
  permissions = local.kspm_collector_permissions
}

resource "google_project_iam_member" "collector" {
  for_each = google_project_iam_custom_role.collector
  project  = each.key
  role     = each.value.name
  member   = local.member
}

resource "google_project_iam_member" "kubernetes_read" {
  for_each = var.organization_id == null ? toset(var.projects) : toset([])
  project  = each.value
  role     = "roles/container.viewer"
  member   = local.member
}

resource "google_service_account_iam_member" "workload_identity" {
  count              = var.workload_identity == null ? 0 : 1
  service_account_id = google_service_account.kspm.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_identity.pool}[${var.workload_identity.namespace}/${var.workload_identity.service_account}]"
}

output "email" {
  description = "Annotate the kspm ServiceAccount with it (iam.gke.io/gcp-service-account)."
  value       = google_service_account.kspm.email
}
