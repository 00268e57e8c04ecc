# Registers kspm's admission webhook in one watched cluster: the ValidatingWebhookConfiguration
# that `kspm admission-config --format json` prints (fail-open `failurePolicy: Ignore`,
# `sideEffects: None`, v1 reviews, the resources kspm judges). The configuration comes from kspm
# itself, so the rules are written once, in the code; this module only installs it, with the
# kubernetes provider configured for the watched cluster.
#
#   kspm admission-config --url https://kspm.example.com --tenant acme --target prod \
#     --key-file webhook.key --ca-file ca.pem --format json > prod-webhook.json
#
# The URL inside holds the webhook's key: the variable is sensitive, and the configuration is
# readable only by those who may read ValidatingWebhookConfigurations (cluster administrators).

terraform {
  required_version = ">= 1.5"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.25"
    }
  }
}

variable "configuration" {
  description = "The JSON that `kspm admission-config --format json` prints for this cluster's target."
  type        = string
  sensitive   = true
  validation {
    condition     = try(jsondecode(var.configuration).kind, "") == "ValidatingWebhookConfiguration"
    error_message = "configuration is the JSON of a ValidatingWebhookConfiguration (kspm admission-config --format json)."
  }
}

resource "kubernetes_manifest" "webhook" {
  manifest = jsondecode(var.configuration)
}

output "name" {
  description = "Name of the ValidatingWebhookConfiguration."
  value       = nonsensitive(jsondecode(var.configuration).metadata.name)
}
