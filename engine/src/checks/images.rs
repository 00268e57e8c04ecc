//! Image checks: mutable tags, digests, registry allow-list, pull policy.

use super::pod_security::WORKLOAD_KINDS;
use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::options::Profile;
use crate::severity::Severity;
use serde_json::Value;

pub use crate::image::{parse_image, ImageRef};

fn each_image<'a>(
    ctx: &Context<'a>,
    mut f: impl FnMut(
        &crate::inventory::PodTemplate<'a>,
        &crate::inventory::ContainerRef<'a>,
        &'a str,
    ) -> Option<(String, Evidence)>,
) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            let image = c.image();
            if let Some((message, ev)) = f(&t, &c, image) {
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message,
                    evidence: vec![ev],
                });
            }
        }
    }
    hits
}

fn mutable_tag<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    each_image(ctx, |t, c, image| {
        let r = parse_image(image);
        if r.valid_digest().is_some() || image.is_empty() {
            return None;
        }
        let why = match r.tag {
            None => "has no tag (pulls `latest`)",
            Some("latest") => "uses the `latest` tag",
            Some(_) => return None,
        };
        Some((
            format!("container `{}` image {image} {why}", c.name),
            Evidence::new(t.container_path(c, "image"), image),
        ))
    })
}

fn not_pinned<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    each_image(ctx, |t, c, image| {
        let r = parse_image(image);
        if image.is_empty() || r.valid_digest().is_some() {
            return None;
        }
        Some((
            match r.digest {
                Some(d) => format!(
                    "container `{}` image {image} has a malformed digest `{d}` (expected sha256: and 64 hex digits): it pins nothing",
                    c.name
                ),
                None => format!(
                    "container `{}` image {image} is not pinned by digest",
                    c.name
                ),
            },
            Evidence::new(t.container_path(c, "image"), image),
        ))
    })
}

/// An image reference, or a registry prefix, spelled out the way the runtime resolves it: the
/// registry host in lower case, Docker Hub's aliases (`index.docker.io`,
/// `registry-1.docker.io`) as `docker.io`, Hub names without a registry under `docker.io`,
/// and (for an `image`, not a prefix) official images under `library/` (`nginx:1` →
/// `docker.io/library/nginx:1`).
fn canonical_ref(s: &str, image: bool) -> String {
    let s = s.trim_end_matches('/');
    let is_host = |h: &str| h.contains('.') || h.contains(':') || h == "localhost";
    let (host, path) = match s.split_once('/') {
        Some((first, rest)) if is_host(first) => (first.to_ascii_lowercase(), rest.to_string()),
        // No slash: a registry (`myreg.io`, `myreg.io:5000`, `localhost`) or a Hub image
        // (`nginx`, `nginx:1.27`): the part before any `:` decides.
        None if {
            let base = s.split([':', '@']).next().unwrap_or(s);
            base.contains('.') || base == "localhost"
        } =>
        {
            (s.to_ascii_lowercase(), String::new())
        }
        _ => ("docker.io".to_string(), s.to_string()),
    };
    let host = match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    };
    let repo_end = path.find([':', '@']).unwrap_or(path.len());
    let path =
        if image && host == "docker.io" && !path.is_empty() && !path[..repo_end].contains('/') {
            format!("library/{path}")
        } else {
            path
        };
    if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// Whether `image` comes from registry prefix `prefix`, both as [`canonical_ref`] spells them;
/// the prefix must end where a path segment, tag or digest does (`myreg.io` does not match
/// `myreg.io.evil.com/x`).
fn from_registry(image: &str, prefix: &str) -> bool {
    canonical_ref(image, true)
        .strip_prefix(canonical_ref(prefix, false).as_str())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', ':', '@']))
}

fn registry_blocked<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let blocked = &ctx.options.blocked_registries;
    each_image(ctx, |t, c, image| {
        let prefix = blocked.iter().find(|b| from_registry(image, b))?;
        Some((
            format!(
                "container `{}` image {image} comes from blocked registry {prefix}",
                c.name
            ),
            Evidence::new(t.container_path(c, "image"), image),
        ))
    })
}

fn registry_not_allowed<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let allowed = &ctx.options.allowed_registries;
    if allowed.is_empty() {
        return Vec::new();
    }
    each_image(ctx, |t, c, image| {
        let r = parse_image(image);
        if allowed.iter().any(|a| from_registry(image, a)) {
            return None;
        }
        Some((
            format!(
                "container `{}` image {image} comes from {}, which is not an allowed registry",
                c.name, r.registry
            ),
            Evidence::new(t.container_path(c, "image"), image),
        ))
    })
}

fn deprecated_registry<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    each_image(ctx, |t, c, image| {
        (parse_image(image).registry == "k8s.gcr.io").then(|| {
            (format!("container `{}` image {image} comes from the frozen k8s.gcr.io registry (use registry.k8s.io)", c.name), Evidence::new(t.container_path(c, "image"), image))
        })
    })
}

fn pull_policy<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    each_image(ctx, |t, c, image| {
        let policy = c.container.get("imagePullPolicy").and_then(Value::as_str);
        let r = parse_image(image);
        // The API server defaults to Always for `latest`/untagged images; otherwise IfNotPresent.
        let effective = policy.unwrap_or(
            if r.valid_digest().is_none() && matches!(r.tag, None | Some("latest")) {
                "Always"
            } else {
                "IfNotPresent"
            },
        );
        (effective != "Always" && r.valid_digest().is_none()).then(|| {
            (format!("container `{}` pulls with {effective}: a node's cached image is used without re-checking the registry", c.name), Evidence::new(t.container_path(c, "imagePullPolicy"), policy.map(|p| Value::String(p.into())).unwrap_or(Value::Null)))
        })
    })
}

/// The image checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-I-001",
        title: "Image uses a mutable tag (latest or none)",
        severity: Severity::Medium,
        description: "`latest` (or no tag) means the running code changes whenever the registry changes, without review, and cannot be traced to a build.",
        remediation: "Pin a version tag, better a digest (`image@sha256:...`).",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N12"), c(Soc2, "CC8.1"), c(PciDss, "6.3.2"), c(Iso27001, "A.8.32"), c(Nist800190, "4.1.5")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: mutable_tag,
    },
    Check {
        id: "KSPM-I-002",
        title: "Image not pinned by digest",
        severity: Severity::Info,
        description: "Tags can be moved to other images; only a digest identifies exactly what runs.",
        remediation: "Reference images as `repo:tag@sha256:...` (admission tools can resolve tags to digests).",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N12"), c(Soc2, "CC8.1"), c(Iso27001, "A.8.32"), c(Nist800190, "4.1.5")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: not_pinned,
    },
    Check {
        id: "KSPM-I-003",
        title: "Image from a registry that is not allowed",
        severity: Severity::High,
        description: "Images from registries outside the organisation's allow-list bypass its scanning and provenance controls. Active only when allowed registries are configured (`--allowed-registry`).",
        remediation: "Mirror the image into an approved registry and reference it from there.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.5.1"), c(CisEks, "5.1.4"), c(CisGke, "5.1.4"), c(CisAks, "5.1.4"), c(NsaCisa, "N12"), c(Soc2, "CC8.1"), c(PciDss, "6.3.2"), c(Iso27001, "A.8.32"), c(Nist800190, "4.2.2")],
        profile: Profile::Security,
        needs: Needs::AllowedRegistries,
        run: registry_not_allowed,
    },
    Check {
        id: "KSPM-I-006",
        title: "Image from a blocked registry",
        severity: Severity::High,
        description: "The organisation has blocked this registry (a public hub, a compromised or retired mirror): images from it bypass its provenance controls whatever the allow-list says. Active only when blocked registries are configured (`--blocked-registry`).",
        remediation: "Mirror the image into an approved registry and reference it from there.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.5.1"), c(CisEks, "5.1.4"), c(CisGke, "5.1.4"), c(CisAks, "5.1.4"), c(NsaCisa, "N12"), c(Soc2, "CC8.1"), c(PciDss, "6.3.2"), c(Iso27001, "A.8.32"), c(Nist800190, "4.2.2")],
        profile: Profile::Security,
        needs: Needs::BlockedRegistries,
        run: registry_blocked,
    },
    Check {
        id: "KSPM-I-004",
        title: "Image from the deprecated k8s.gcr.io registry",
        severity: Severity::Low,
        description: "k8s.gcr.io is frozen: images there receive no security fixes.",
        remediation: "Use registry.k8s.io.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N25"), c(Iso27001, "A.8.8"), c(Nist800190, "4.1.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: deprecated_registry,
    },
    Check {
        id: "KSPM-I-005",
        title: "Image pull policy is not Always",
        severity: Severity::Info,
        description: "With IfNotPresent or Never a node reuses its cached image, so a pod can run an image it would not be allowed to pull (credentials are not re-checked).",
        remediation: "Set `imagePullPolicy: Always`, or pin images by digest.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(Iso27001, "A.8.9")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: pull_policy,
    },
];

#[cfg(test)]
mod registry_tests {
    use super::*;

    /// Registry prefixes match at a boundary, on the registry as the runtime resolves it.
    #[test]
    fn registry_prefixes_match_at_a_boundary() {
        assert!(from_registry("myreg.io/team/app:1", "myreg.io"));
        assert!(from_registry("myreg.io/team/app:1", "myreg.io/"));
        assert!(from_registry("myreg.io/team/app:1", "myreg.io/team"));
        assert!(!from_registry("myreg.io.evil.com/x:1", "myreg.io"));
        assert!(!from_registry("myreg.io/teams/app:1", "myreg.io/team"));
        assert!(from_registry("MyReg.IO/team/app:1", "myreg.io"));
        for hub in [
            "nginx:1",
            "library/nginx:1",
            "index.docker.io/library/nginx:1",
            "registry-1.docker.io/nginx",
            "docker.io/nginx@sha256:abc",
        ] {
            assert!(from_registry(hub, "docker.io/"), "{hub}");
            assert!(from_registry(hub, "docker.io/library/"), "{hub}");
        }
        assert!(from_registry("bitnami/redis:7", "docker.io/bitnami"));
        assert!(!from_registry("bitnami/redis:7", "docker.io/library"));
        assert!(!from_registry("ghcr.io/x/y:1", "docker.io/"));
        assert!(from_registry("localhost:5000/x:1", "localhost:5000"));
    }
}

#[cfg(test)]
pub(crate) mod cases;
