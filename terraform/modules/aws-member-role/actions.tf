# The AWS API actions kspm's collector calls in a member account — exactly the lists in
# collectors/src/cloud/aws.rs (ACTIONS) and, in the account that lists the organization,
# collectors/src/cloud/aws/organization.rs (ORGANIZATION_ACTIONS). tests/terraform.rs fails if
# they differ.
locals {
  kspm_collector_actions = [
    "sts:GetCallerIdentity",
    "ec2:DescribeRegions",
    "ec2:DescribeLaunchTemplateVersions",
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "eks:ListAccessEntries",
    "eks:DescribeAccessEntry",
    "eks:ListAssociatedAccessPolicies",
    "eks:ListPodIdentityAssociations",
    "eks:DescribePodIdentityAssociation",
    "iam:GetAccountAuthorizationDetails",
  ]
  # Only with list_organization_accounts (the management or a delegated administrator account).
  kspm_organization_actions = ["organizations:ListAccounts"]
}
