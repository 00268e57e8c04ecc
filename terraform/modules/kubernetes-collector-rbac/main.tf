# The collector's in-cluster read access (deploy/collector-rbac.yaml, the same file
# `kspm collector-rbac` prints): a read-only ClusterRole without Secret values, bound to the
# group `kspm:collectors` (EKS access entries map the collector role to it) and to any extra
# subjects (a GKE service account e-mail, an Entra object ID).

terraform {
  required_version = ">= 1.5"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.25"
    }
  }
}

variable "extra_subjects" {
  description = "More subjects of the binding: [{ kind = \"User\" | \"Group\", name = \"...\" }]."
  type = list(object({
    kind = string
    name = string
  }))
  default = []
}

variable "kubelet_config" {
  description = "Grant get on nodes/proxy to read kubelet settings (CIS 4.2.x). It reaches every kubelet GET endpoint, exec over WebSocket included: set false to leave it out, and run the collector with --no-kubelet-config."
  type        = bool
  default     = true
}

locals {
  documents = [for d in split("\n---\n", file("${path.module}/../../../deploy/collector-rbac.yaml")) : yamldecode(d)]
  full_role = [for d in local.documents : d if d.kind == "ClusterRole"][0]
  role = merge(local.full_role, {
    rules = [for r in local.full_role.rules : r if var.kubelet_config || !contains(try(r.resources, []), "nodes/proxy")]
  })
  binding = [for d in local.documents : d if d.kind == "ClusterRoleBinding"][0]
}

resource "kubernetes_manifest" "role" {
  manifest = local.role
}

resource "kubernetes_manifest" "binding" {
  manifest = merge(local.binding, {
    subjects = concat(local.binding.subjects, [
      for s in var.extra_subjects : { apiGroup = "rbac.authorization.k8s.io", kind = s.kind, name = s.name }
    ])
  })
  depends_on = [kubernetes_manifest.role]
}
