//! Compliance frameworks and the control references that checks map to.

use serde::Serialize;

/// A compliance framework or benchmark that findings map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Framework {
    /// CIS Kubernetes Benchmark (v1.10 numbering).
    #[serde(rename = "cis-kubernetes")]
    CisKubernetes,
    /// CIS Amazon EKS Benchmark.
    #[serde(rename = "cis-eks")]
    CisEks,
    /// CIS Google GKE Benchmark.
    #[serde(rename = "cis-gke")]
    CisGke,
    /// CIS Azure AKS Benchmark.
    #[serde(rename = "cis-aks")]
    CisAks,
    /// NSA/CISA Kubernetes Hardening Guidance v1.2.
    #[serde(rename = "nsa-cisa")]
    NsaCisa,
    /// Kubernetes Pod Security Standards.
    #[serde(rename = "pss")]
    Pss,
    /// SOC 2 Trust Services Criteria.
    #[serde(rename = "soc2")]
    Soc2,
    /// PCI DSS v4.0.
    #[serde(rename = "pci-dss")]
    PciDss,
    /// HIPAA Security Rule (45 CFR 164).
    #[serde(rename = "hipaa")]
    Hipaa,
    /// ISO/IEC 27001:2022 Annex A.
    #[serde(rename = "iso-27001")]
    Iso27001,
    /// NIST SP 800-190 Application Container Security Guide.
    #[serde(rename = "nist-800-190")]
    Nist800190,
}

impl Framework {
    /// Every framework, in report order.
    pub const ALL: [Framework; 11] = [
        Framework::CisKubernetes,
        Framework::CisEks,
        Framework::CisGke,
        Framework::CisAks,
        Framework::NsaCisa,
        Framework::Pss,
        Framework::Soc2,
        Framework::PciDss,
        Framework::Hipaa,
        Framework::Iso27001,
        Framework::Nist800190,
    ];

    /// Stable identifier, as serialized.
    pub fn id(self) -> &'static str {
        match self {
            Framework::CisKubernetes => "cis-kubernetes",
            Framework::CisEks => "cis-eks",
            Framework::CisGke => "cis-gke",
            Framework::CisAks => "cis-aks",
            Framework::NsaCisa => "nsa-cisa",
            Framework::Pss => "pss",
            Framework::Soc2 => "soc2",
            Framework::PciDss => "pci-dss",
            Framework::Hipaa => "hipaa",
            Framework::Iso27001 => "iso-27001",
            Framework::Nist800190 => "nist-800-190",
        }
    }

    /// Human title.
    pub fn title(self) -> &'static str {
        match self {
            Framework::CisKubernetes => "CIS Kubernetes Benchmark v1.10",
            Framework::CisEks => "CIS Amazon EKS Benchmark v1.7",
            Framework::CisGke => "CIS Google GKE Benchmark v1.9",
            Framework::CisAks => "CIS Azure AKS Benchmark v1.8",
            Framework::NsaCisa => "NSA/CISA Kubernetes Hardening Guidance v1.2",
            Framework::Pss => "Kubernetes Pod Security Standards",
            Framework::Soc2 => "SOC 2 Trust Services Criteria",
            Framework::PciDss => "PCI DSS v4.0",
            Framework::Hipaa => "HIPAA Security Rule",
            Framework::Iso27001 => "ISO/IEC 27001:2022 Annex A",
            Framework::Nist800190 => "NIST SP 800-190",
        }
    }

    /// Whether the framework applies to a cluster on this provider (managed-service CIS
    /// benchmarks only apply to their own platform).
    pub fn applies_to(self, provider: crate::snapshot::Provider) -> bool {
        use crate::snapshot::Provider;
        match self {
            Framework::CisEks => provider == Provider::Eks,
            Framework::CisGke => provider == Provider::Gke,
            Framework::CisAks => provider == Provider::Aks,
            _ => true,
        }
    }
}

/// A reference from a check to one control of one framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Control {
    /// The framework.
    pub framework: Framework,
    /// The control's ID within the framework (e.g. `5.2.2`, `CC6.1`).
    pub id: &'static str,
}

/// Shorthand for building control lists in check metadata.
pub const fn c(framework: Framework, id: &'static str) -> Control {
    Control { framework, id }
}
