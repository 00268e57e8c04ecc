//! One RBAC PolicyRule and the authorizer's matching functions (`RuleAllows`).

use super::request::Request;
use std::fmt;

/// A PolicyRule as written in a Role or ClusterRole.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Rule {
    /// `verbs`.
    pub verbs: Vec<String>,
    /// `apiGroups` (`""` is the core group).
    pub api_groups: Vec<String>,
    /// `resources` (plural, lower case, `resource/subresource`).
    pub resources: Vec<String>,
    /// `resourceNames`; empty means all.
    pub resource_names: Vec<String>,
    /// `nonResourceURLs`.
    pub non_resource_urls: Vec<String>,
}

impl Rule {
    /// `VerbMatches`: exact or `*`.
    pub fn verb_matches(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    /// `APIGroupMatches`: exact or `*`.
    pub fn api_group_matches(&self, group: &str) -> bool {
        self.api_groups.iter().any(|g| g == "*" || g == group)
    }

    /// `ResourceMatches`: `*` matches every resource and subresource; `resource/sub` matches
    /// exactly; `*/sub` matches that subresource of every resource. Nothing else is a wildcard.
    pub fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            if r == "*" {
                return true;
            }
            if subresource.is_empty() {
                return r == resource;
            }
            match r.split_once('/') {
                Some((res, sub)) => sub == subresource && (res == resource || res == "*"),
                None => false,
            }
        })
    }

    /// `ResourceNameMatches`: no names means all; otherwise the request must name one exactly
    /// (so nameless requests — create, list, watch, deletecollection — never match).
    pub fn resource_name_matches(&self, name: Option<&str>) -> bool {
        self.resource_names.is_empty()
            || name.is_some_and(|n| self.resource_names.iter().any(|r| r == n))
    }

    /// `NonResourceURLMatches`: exact, `*`, or a trailing-`*` prefix.
    pub fn non_resource_url_matches(&self, path: &str) -> bool {
        self.non_resource_urls.iter().any(|u| {
            u == "*"
                || u == path
                || u.strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix))
        })
    }

    /// `RuleAllows`.
    pub fn allows(&self, req: &Request) -> bool {
        if !self.verb_matches(&req.verb) {
            return false;
        }
        match &req.path {
            Some(path) => self.non_resource_url_matches(path),
            None => {
                self.api_group_matches(&req.api_group)
                    && self.resource_matches(&req.resource, &req.subresource)
                    && self.resource_name_matches(req.name.as_deref())
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[String]| {
            v.iter()
                .map(|s| {
                    if s.is_empty() {
                        "\"\"".to_string()
                    } else {
                        s.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(f, "verbs=[{}]", list(&self.verbs))?;
        if !self.non_resource_urls.is_empty() {
            write!(f, " nonResourceURLs=[{}]", list(&self.non_resource_urls))?;
        }
        if !self.resources.is_empty() || !self.api_groups.is_empty() {
            write!(
                f,
                " apiGroups=[{}] resources=[{}]",
                list(&self.api_groups),
                list(&self.resources)
            )?;
        }
        if !self.resource_names.is_empty() {
            write!(f, " resourceNames=[{}]", list(&self.resource_names))?;
        }
        Ok(())
    }
}
