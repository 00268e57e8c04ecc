//! Container images: a reference split as the runtimes split it, and the images kspm
//! recognises by name (the community ingress-nginx controller) — one reading for the image
//! checks, the network checks and drift.

use crate::inventory::{ContainerRef, Inventory, PodTemplate};

/// An image reference split into registry, repository, tag and digest.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry host (`docker.io` when none is named).
    pub registry: &'a str,
    /// Everything before the tag/digest, as written.
    pub name: &'a str,
    /// Tag, if any.
    pub tag: Option<&'a str>,
    /// Digest, if any.
    pub digest: Option<&'a str>,
}

/// Parses `[registry/]repo[:tag][@digest]` the way container runtimes do: the first path
/// component is a registry only if it has a `.` or `:` or is `localhost`.
pub fn parse_image(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let registry = match name.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    };
    ImageRef {
        registry,
        name,
        tag,
        digest,
    }
}

impl ImageRef<'_> {
    /// The digest when it is a well-formed OCI digest of a registered algorithm (`sha256:` and
    /// 64 lowercase hex digits, `sha384:` 96, `sha512:` 128); a malformed one pins nothing (the
    /// runtime refuses to pull it, and it identifies no image).
    pub fn valid_digest(&self) -> Option<&str> {
        let (algorithm, hex) = self.digest?.split_once(':')?;
        let len = match algorithm {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => return None,
        };
        (hex.len() == len
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then_some(self.digest?)
    }

    /// Whether the repository is the community ingress-nginx controller
    /// (`…/ingress-nginx/controller` or its `-chroot` variant, from any registry or mirror;
    /// F5's `nginx/nginx-ingress` is another project).
    pub fn is_community_ingress_nginx(&self) -> bool {
        self.name.ends_with("ingress-nginx/controller")
            || self.name.ends_with("ingress-nginx/controller-chroot")
    }
}

/// `(major, minor, patch)` of a `vX.Y.Z` tag.
fn semver(tag: &str) -> Option<(u32, u32, u32)> {
    let t = tag.trim_start_matches('v');
    let core = t.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

/// A community ingress-nginx controller container ([`ImageRef::is_community_ingress_nginx`]).
pub(crate) struct IngressNginx<'a> {
    /// The pod template running it.
    pub template: PodTemplate<'a>,
    /// The container.
    pub container: ContainerRef<'a>,
    /// Its image reference.
    pub image: &'a str,
    /// Its tag.
    pub tag: Option<&'a str>,
    /// `(major, minor, patch)` from the tag, when it is a version.
    pub version: Option<(u32, u32, u32)>,
}

/// Every community ingress-nginx controller container of the inventory.
pub(crate) fn ingress_nginx_controllers<'a>(inv: &Inventory<'a>) -> Vec<IngressNginx<'a>> {
    let mut out = Vec::new();
    for t in inv.pod_templates() {
        for container in t.containers() {
            let image = container.image();
            let r = parse_image(image);
            if !r.is_community_ingress_nginx() {
                continue;
            }
            out.push(IngressNginx {
                template: t,
                container,
                image,
                tag: r.tag,
                version: r.tag.and_then(semver),
            });
        }
    }
    out
}

/// The IngressClass controller name an image implements.
pub fn ingress_controller(image: &str) -> Option<&'static str> {
    let name = image.split(['@']).next().unwrap_or(image);
    if parse_image(image).is_community_ingress_nginx() {
        Some("k8s.io/ingress-nginx")
    } else if name.contains("traefik") {
        Some("traefik.io/ingress-controller")
    } else if name.contains("haproxy") && name.contains("ingress") {
        Some("haproxy.org/ingress-controller/haproxy")
    } else if name.contains("kong") {
        Some("ingress-controllers.konghq.com/kong")
    } else if name.contains("contour") {
        Some("projectcontour.io/ingress-controller")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = parse_image("nginx");
        assert_eq!(
            (r.registry, r.name, r.tag, r.digest),
            ("docker.io", "nginx", None, None)
        );
        let r = parse_image("localhost:5000/team/app:1.2@sha256:abc");
        assert_eq!(
            (r.registry, r.name, r.tag, r.digest),
            (
                "localhost:5000",
                "localhost:5000/team/app",
                Some("1.2"),
                Some("sha256:abc")
            )
        );
        assert_eq!(r.valid_digest(), None);
        let good = format!("nginx@sha256:{}", "a".repeat(64));
        assert!(parse_image(&good).valid_digest().is_some());
        for bad in [
            format!("nginx@sha256:{}", "A".repeat(64)),
            format!("nginx@sha256:{}", "a".repeat(63)),
            format!("nginx@md5:{}", "a".repeat(32)),
            "nginx@sha256".to_string(),
        ] {
            assert_eq!(parse_image(&bad).valid_digest(), None, "{bad}");
        }
        let r = parse_image("registry.k8s.io/pause:3.9");
        assert_eq!((r.registry, r.tag), ("registry.k8s.io", Some("3.9")));
        let r = parse_image("library/redis:latest");
        assert_eq!((r.registry, r.tag), ("docker.io", Some("latest")));
    }

    #[test]
    fn one_reading_of_the_community_ingress_nginx_controller() {
        // The exposure (which IngressClass controller an image implements) and the
        // maintenance checks (retired, vulnerable versions) read the same rule.
        for image in [
            "registry.k8s.io/ingress-nginx/controller:v1.11.2@sha256:abc",
            "mirror.example.com:5000/ingress-nginx/controller-chroot:v1.12.1",
            "ingress-nginx/controller",
        ] {
            assert!(parse_image(image).is_community_ingress_nginx(), "{image}");
            assert_eq!(
                ingress_controller(image),
                Some("k8s.io/ingress-nginx"),
                "{image}"
            );
        }
        for image in [
            "nginx/nginx-ingress:3.4.0",
            "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.1",
            "example.com/ingress-nginx/controller-fips:v1",
            "nginx:1.27",
        ] {
            assert!(!parse_image(image).is_community_ingress_nginx(), "{image}");
            assert_ne!(
                ingress_controller(image),
                Some("k8s.io/ingress-nginx"),
                "{image}"
            );
        }
    }
}
