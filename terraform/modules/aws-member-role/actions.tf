# The AWS API actions kspm's collector calls in a member account — exactly the list in
# collectors/src/cloud/aws.rs (ACTIONS). tests/terraform.rs fails if the two differ.
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
}
