//! AWS Organizations discovery: the accounts of an organization, listed with
//! `organizations:ListAccounts` from the management account or a delegated administrator (the
//! ambient credentials, or a role assumed there), each active one read through a role of one
//! name assumed in it. Suspended, closed and closing accounts are not read; an account whose
//! role cannot be assumed is a gap of that account, never an abort.

use super::{account_config, err, AwsAccount, AwsOptions};
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};
use tracing::info;

/// The actions organization discovery calls in the management or delegated administrator
/// account (besides `sts:AssumeRole` on the role there and `sts:GetCallerIdentity`).
pub const ORGANIZATION_ACTIONS: &[&str] = &["organizations:ListAccounts"];

/// Where an organization's accounts are listed and how each is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOrganization {
    /// The role name assumed in every active account (`KspmReadOnly`).
    pub member_role: String,
    /// External ID the roles' trust policies require (the member roles' and the management
    /// role's).
    pub external_id: Option<String>,
    /// A role in the management account or a delegated administrator account that may call
    /// `organizations:ListAccounts`; none: the ambient credentials call it.
    pub management_role_arn: Option<String>,
}

/// Whether Organizations says the account is active: `State` (the current field) when given,
/// else the older `Status`.
fn active(a: &Account) -> bool {
    match a.state() {
        Some(s) => *s == AccountState::Active,
        #[allow(deprecated)]
        None => a.status() == Some(&AccountStatus::Active),
    }
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`, …).
fn partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// The accounts of the organization to read: one per active account, the member role of the
/// caller's partition assumed with the external ID. The error names the call and what to do.
pub async fn accounts(opts: &AwsOptions, org: &AwsOrganization) -> Result<Vec<AwsAccount>, String> {
    if !valid_role_name(&org.member_role) {
        return Err(format!(
            "[aws.organization] member_role `{}` is not an IAM role name (with its path, if any), e.g. KspmReadOnly",
            org.member_role
        ));
    }
    let home = opts
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let caller = AwsAccount {
        role_arn: org.management_role_arn.clone(),
        external_id: org.external_id.clone(),
    };
    let config = account_config(opts, &caller, &home).await?;
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| format!("sts:GetCallerIdentity: {}", err(e)))?;
    let partition = partition(identity.arn().unwrap_or_default()).to_string();
    let client = aws_sdk_organizations::Client::new(&config);
    let mut pages = client.list_accounts().into_paginator().send();
    let mut out = Vec::new();
    let mut skipped = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "organizations:ListAccounts: {}; call it from the management account or a delegated administrator (management_role_arn)",
                err(e)
            )
        })?;
        for a in page.accounts() {
            let Some(id) = a.id().filter(|id| !id.is_empty()) else {
                continue;
            };
            if !active(a) {
                skipped += 1;
                continue;
            }
            out.push(AwsAccount {
                role_arn: Some(format!(
                    "arn:{partition}:iam::{id}:role/{}",
                    org.member_role
                )),
                external_id: org.external_id.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.role_arn.cmp(&b.role_arn));
    out.dedup();
    info!(
        accounts = out.len(),
        not_active = skipped,
        "AWS Organizations accounts listed"
    );
    Ok(out)
}

/// An IAM role name, optionally after its path (`ops/KspmReadOnly`): the characters IAM allows.
fn valid_role_name(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or("");
    !base.is_empty()
        && base.len() <= 64
        && !name.starts_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
}

/// The account a role ARN is in.
pub(crate) fn account_of(role_arn: &str) -> Option<&str> {
    role_arn.split(':').nth(4).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_accounts_come_from_the_arn() {
        assert_eq!(
            partition("arn:aws:sts::111122223333:assumed-role/r/s"),
            "aws"
        );
        assert_eq!(
            partition("arn:aws-us-gov:iam::111122223333:user/u"),
            "aws-us-gov"
        );
        assert_eq!(partition("arn:aws-cn:iam::111122223333:root"), "aws-cn");
        assert_eq!(partition(""), "aws");
        assert_eq!(
            account_of("arn:aws:iam::111122223333:role/KspmReadOnly"),
            Some("111122223333")
        );
        assert_eq!(account_of("KspmReadOnly"), None);
    }

    #[test]
    fn member_roles_are_role_names() {
        for ok in ["KspmReadOnly", "ops/KspmReadOnly", "a+b=c,d.e@f_g-h"] {
            assert!(valid_role_name(ok), "{ok}");
        }
        for bad in [
            "",
            "arn:aws:iam::1:role/x",
            "ops/",
            "/x",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(!valid_role_name(bad), "{bad}");
        }
    }

    #[test]
    fn only_active_accounts_are_read() {
        let state = |s: AccountState| Account::builder().id("1").state(s).build();
        assert!(active(&state(AccountState::Active)));
        for s in [
            AccountState::Suspended,
            AccountState::PendingClosure,
            AccountState::Closed,
        ] {
            assert!(!active(&state(s)));
        }
        #[allow(deprecated)]
        let status = |s: AccountStatus| Account::builder().id("1").status(s).build();
        assert!(active(&status(AccountStatus::Active)));
        assert!(!active(&status(AccountStatus::Suspended)));
        assert!(!active(&Account::builder().id("1").build()));
    }
}
