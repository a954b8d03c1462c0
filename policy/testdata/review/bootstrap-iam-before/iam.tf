################################################################################
# Lookups
################################################################################

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id

  # Every sub claim prefix the trust policies accept (see github_oidc_subject_format). The
  # conditional keeps a null ID from ever being interpolated when the immutable form is off.
  github_subject_prefixes = concat(
    contains(["legacy", "both"], var.github_oidc_subject_format) ? ["repo:${var.github_org}/${var.github_repo}"] : [],
    contains(["immutable", "both"], var.github_oidc_subject_format) ? ["repo:${var.github_org}@${var.github_org_id}/${var.github_repo}@${var.github_repo_id}"] : [],
  )

  # AWS managed policies the stacks may attach to their own roles (EKS cluster and nodes, SSM on
  # the prod admin instance). Anything else is refused by the deploy role's AttachRolePolicy.
  attachable_managed_policy_arns = [for p in [
    "AmazonEKSClusterPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
  ] : "arn:${local.partition}:iam::aws:policy/${p}"]

  # Per environment: what the deploy role of that environment may touch.
  deploy = { for env in var.environments : env => {
    # IAM roles and instance profiles the env stack creates: gitops-infra-<env>-*. The deploy
    # roles themselves (gitops-infra-deploy-<env>) are outside this pattern, so a deploy role can
    # never edit itself or the other environment's role.
    role_arns             = "arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${env}-*"
    instance_profile_arns = "arn:${local.partition}:iam::${local.account_id}:instance-profile/gitops-infra-${env}-*"
    eks_arns = [
      "arn:${local.partition}:eks:${var.region}:${local.account_id}:cluster/gitops-infra-${env}",
      # nodegroup/, access-entry/, addon/ ... all of the form <type>/<cluster name>/...
      "arn:${local.partition}:eks:${var.region}:${local.account_id}:*/gitops-infra-${env}/*",
    ]
    log_group_arns = [
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/eks/gitops-infra-${env}/*",
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vpc-flow-logs/gitops-infra-${env}",
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vpc-flow-logs/gitops-infra-${env}:*",
    ]
    state_key = "aws/${env}/terraform.tfstate"
    # Resources tagged with another environment are off limits (explicit Deny).
    other_environments = sort(setsubtract(["dev", "prod"], [env]))
  } }
}

################################################################################
# Permissions boundary for workload roles
################################################################################

# Every role a deploy role creates must carry this boundary (iam:PermissionsBoundary condition
# below). Without it, iam:CreateRole + iam:PutRolePolicy + iam:PassRole on gitops-infra-* would
# let a compromised pipeline mint a role with any permission and hand it to EC2. With it, the
# most such a role can ever do is what EKS clusters, EKS nodes, SSM-managed instances and VPC
# flow logs need: no IAM, no S3, no Secrets Manager, no KMS administration.
data "aws_iam_policy_document" "workload_boundary" {
  statement {
    sid = "WorkloadServices"
    actions = [
      # EKS control plane (AmazonEKSClusterPolicy) and VPC CNI (AmazonEKS_CNI_Policy)
      "ec2:*",
      "elasticloadbalancing:*",
      "autoscaling:Describe*",
      "autoscaling:UpdateAutoScalingGroup",
      # Nodes (AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryPullOnly)
      "eks:DescribeCluster",
      "eks-auth:AssumeRoleForPodIdentity",
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:BatchImportUpstreamImage",
      "ecr:GetAuthorizationToken",
      "ecr:GetDownloadUrlForLayer",
      # Session Manager on the admin instance (AmazonSSMManagedInstanceCore)
      "ssm:DescribeAssociation",
      "ssm:DescribeDocument",
      "ssm:GetDeployablePatchSnapshotForInstance",
      "ssm:GetDocument",
      "ssm:GetManifest",
      "ssm:GetParameter",
      "ssm:GetParameters",
      "ssm:ListAssociations",
      "ssm:ListInstanceAssociations",
      "ssm:PutComplianceItems",
      "ssm:PutConfigurePackageResult",
      "ssm:PutInventory",
      "ssm:UpdateAssociationStatus",
      "ssm:UpdateInstanceAssociationStatus",
      "ssm:UpdateInstanceInformation",
      "ssmmessages:*",
      "ec2messages:*",
      # VPC flow logs role
      "logs:CreateLogStream",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
      # EKS Secrets encryption (cluster role) and encrypted volumes
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:ListGrants",
    ]
    resources = ["*"]
  }

  # AmazonEKSClusterPolicy creates the Elastic Load Balancing service-linked role on first use.
  statement {
    sid       = "LoadBalancerServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "workload_boundary" {
  name        = "gitops-infra-workload-boundary"
  description = "Permissions boundary of every IAM role the gitops-infra deploy roles create"
  policy      = data.aws_iam_policy_document.workload_boundary.json

  tags = {
    Name = "gitops-infra-workload-boundary"
  }
}

################################################################################
# Deploy roles (one per environment)
################################################################################

# Trust: only GitHub Actions jobs of this repository that run in the matching GitHub
# environment (jobs with `environment: prod` get sub = repo:...:environment:prod). Both claims
# are matched with StringEquals; ForAllValues is never used in an Allow (it is true when the
# claim is absent).
data "aws_iam_policy_document" "deploy_trust" {
  for_each = local.deploy

  statement {
    sid     = "GitHubActionsEnvironment"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [for prefix in local.github_subject_prefixes : "${prefix}:environment:${each.key}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  for_each = local.deploy

  name               = "gitops-infra-deploy-${each.key}"
  description        = "GitHub Actions (OIDC) deploy role for terraform/aws/${each.key}"
  assume_role_policy = data.aws_iam_policy_document.deploy_trust[each.key].json
  # EKS creation and version upgrades can take most of an hour; the workflow asks for up to this
  # (configure-aws-credentials role-duration-seconds, default 3600).
  max_session_duration = 7200

  tags = {
    Name = "gitops-infra-deploy-${each.key}"
  }
}

################################################################################
# Inline policy: tfbackendstate
################################################################################

# Exactly this environment's state object, its S3 lock file (<key>.tflock) and the lock table
# (lock item <bucket>/<key> and digest item <bucket>/<key>-md5), plus the state KMS key through
# S3 and DynamoDB only.
data "aws_iam_policy_document" "tfbackendstate" {
  for_each = local.deploy

  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadWriteState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/${each.value.state_key}"]
  }

  statement {
    sid       = "S3LockFile"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/${each.value.state_key}.tflock"]
  }

  statement {
    sid       = "DynamoDBLock"
    actions   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  statement {
    sid       = "StateKeyViaS3AndDynamoDB"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.state.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com", "dynamodb.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "tfbackendstate" {
  for_each = local.deploy

  name   = "tfbackendstate"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.tfbackendstate[each.key].json
}

################################################################################
# Inline policy: ec2_vpc
################################################################################

data "aws_iam_policy_document" "ec2_vpc" {
  for_each = local.deploy

  statement {
    sid       = "Read"
    actions   = ["ec2:Describe*", "ec2:GetLaunchTemplateData", "ec2:GetManagedPrefixListEntries"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }

  # What network.tf and main.tf manage: VPC, subnets, gateways, routes, security groups,
  # endpoints, flow logs, launch templates and instances.
  statement {
    sid = "ManageNetworkAndInstances"
    actions = [
      "ec2:AllocateAddress",
      "ec2:AssociateAddress",
      "ec2:AssociateIamInstanceProfile",
      "ec2:AssociateRouteTable",
      "ec2:AttachInternetGateway",
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateFlowLogs",
      "ec2:CreateInternetGateway",
      "ec2:CreateLaunchTemplate",
      "ec2:CreateLaunchTemplateVersion",
      "ec2:CreateNatGateway",
      "ec2:CreateRoute",
      "ec2:CreateRouteTable",
      "ec2:CreateSecurityGroup",
      "ec2:CreateSubnet",
      "ec2:CreateTags",
      "ec2:CreateVpc",
      "ec2:CreateVpcEndpoint",
      "ec2:DeleteFlowLogs",
      "ec2:DeleteInternetGateway",
      "ec2:DeleteLaunchTemplate",
      "ec2:DeleteLaunchTemplateVersions",
      "ec2:DeleteNatGateway",
      "ec2:DeleteRoute",
      "ec2:DeleteRouteTable",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteSubnet",
      "ec2:DeleteTags",
      "ec2:DeleteVpc",
      "ec2:DeleteVpcEndpoints",
      "ec2:DetachInternetGateway",
      "ec2:DisassociateAddress",
      "ec2:DisassociateIamInstanceProfile",
      "ec2:DisassociateRouteTable",
      "ec2:ModifyInstanceAttribute",
      "ec2:ModifyInstanceMetadataOptions",
      "ec2:ModifyLaunchTemplate",
      "ec2:ModifySecurityGroupRules",
      "ec2:ModifySubnetAttribute",
      "ec2:ModifyVolume",
      "ec2:ModifyVpcAttribute",
      "ec2:ModifyVpcEndpoint",
      "ec2:ReleaseAddress",
      "ec2:ReplaceIamInstanceProfileAssociation",
      "ec2:ReplaceRoute",
      "ec2:ReplaceRouteTableAssociation",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:RunInstances",
      "ec2:StartInstances",
      "ec2:StopInstances",
      "ec2:TerminateInstances",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }

  # Default tags put environment=<env> on everything the stacks create: the dev role cannot
  # touch prod-tagged resources and vice versa. (An absent tag does not match, so untagged
  # sub-resources such as routes stay manageable.)
  statement {
    sid       = "DenyOtherEnvironments"
    effect    = "Deny"
    actions   = ["ec2:*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = each.value.other_environments
    }
  }
}

resource "aws_iam_role_policy" "ec2_vpc" {
  for_each = local.deploy

  name   = "ec2_vpc"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.ec2_vpc[each.key].json
}

################################################################################
# Inline policy: eks_access
################################################################################

# The EKS cluster and everything it depends on outside EC2: its IAM roles (under the
# boundary), KMS keys and log groups.
data "aws_iam_policy_document" "eks_access" {
  for_each = local.deploy

  statement {
    sid = "ManageCluster"
    actions = [
      "eks:AssociateAccessPolicy",
      "eks:AssociateEncryptionConfig",
      "eks:CreateAccessEntry",
      "eks:CreateCluster",
      "eks:CreateNodegroup",
      "eks:DeleteAccessEntry",
      "eks:DeleteCluster",
      "eks:DeleteNodegroup",
      "eks:DescribeAccessEntry",
      "eks:DescribeCluster",
      "eks:DescribeNodegroup",
      "eks:DescribeUpdate",
      "eks:DisassociateAccessPolicy",
      "eks:ListAccessEntries",
      "eks:ListAssociatedAccessPolicies",
      "eks:ListNodegroups",
      "eks:ListTagsForResource",
      "eks:ListUpdates",
      "eks:TagResource",
      "eks:UntagResource",
      "eks:UpdateAccessEntry",
      "eks:UpdateClusterConfig",
      "eks:UpdateClusterVersion",
      "eks:UpdateNodegroupConfig",
      "eks:UpdateNodegroupVersion",
    ]
    resources = each.value.eks_arns
  }

  # Creating, changing or deleting policies of a role requires the role to carry the boundary.
  statement {
    sid = "RolesUnderBoundary"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
    ]
    resources = [each.value.role_arns]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.workload_boundary.arn]
    }
  }

  statement {
    sid       = "AttachApprovedManagedPolicies"
    actions   = ["iam:AttachRolePolicy"]
    resources = [each.value.role_arns]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.workload_boundary.arn]
    }

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = local.attachable_managed_policy_arns
    }
  }

  statement {
    sid = "RoleHousekeeping"
    actions = [
      "iam:DeleteRole",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:ListRoleTags",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = [each.value.role_arns]
  }

  statement {
    sid = "InstanceProfiles"
    actions = [
      "iam:AddRoleToInstanceProfile",
      "iam:CreateInstanceProfile",
      "iam:DeleteInstanceProfile",
      "iam:GetInstanceProfile",
      "iam:ListInstanceProfileTags",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:TagInstanceProfile",
      "iam:UntagInstanceProfile",
    ]
    resources = [each.value.instance_profile_arns]
  }

  statement {
    sid       = "PassWorkloadRoles"
    actions   = ["iam:PassRole"]
    resources = [each.value.role_arns]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["eks.amazonaws.com", "ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
    }
  }

  # First cluster / node group in an account creates these service-linked roles.
  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "autoscaling.amazonaws.com"]
    }
  }

  # KMS keys have random IDs, so they are scoped by the environment tag that default_tags puts
  # on them at creation.
  statement {
    sid       = "CreateEnvironmentKeys"
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid = "ManageEnvironmentKeys"
    actions = [
      "kms:CreateAlias",
      "kms:Decrypt",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:EnableKeyRotation",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:ReEncrypt*",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["arn:${local.partition}:kms:${var.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }
  }

  # EKS (Secrets encryption) and EC2 (encrypted volumes) create grants on the caller's behalf.
  statement {
    sid       = "GrantsForAwsServices"
    actions   = ["kms:CreateGrant"]
    resources = ["arn:${local.partition}:kms:${var.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid       = "EnvironmentAliases"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = ["arn:${local.partition}:kms:${var.region}:${local.account_id}:alias/gitops-infra-${each.key}-*"]
  }

  statement {
    sid       = "ListWithoutResource"
    actions   = ["kms:ListAliases", "logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid = "EnvironmentLogGroups"
    actions = [
      "logs:AssociateKmsKey",
      "logs:CreateLogGroup",
      "logs:DeleteLogGroup",
      "logs:DeleteRetentionPolicy",
      "logs:DisassociateKmsKey",
      "logs:ListTagsForResource",
      "logs:ListTagsLogGroup",
      "logs:PutRetentionPolicy",
      "logs:TagLogGroup",
      "logs:TagResource",
      "logs:UntagLogGroup",
      "logs:UntagResource",
    ]
    resources = each.value.log_group_arns
  }

  statement {
    sid       = "DenyOtherEnvironments"
    effect    = "Deny"
    actions   = ["eks:*", "kms:*", "logs:*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = each.value.other_environments
    }
  }
}

resource "aws_iam_role_policy" "eks_access" {
  for_each = local.deploy

  name   = "eks_access"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.eks_access[each.key].json
}

################################################################################
# Inline policy: SecretsManager
################################################################################

# Read-only, and only secrets named gitops-infra/<env>/... (e.g. values the workflow needs at
# run time). The stacks create no secrets.
data "aws_iam_policy_document" "secrets_manager" {
  for_each = local.deploy

  statement {
    sid       = "ReadEnvironmentSecrets"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${var.region}:${local.account_id}:secret:gitops-infra/${each.key}/*"]
  }
}

resource "aws_iam_role_policy" "secrets_manager" {
  for_each = local.deploy

  name   = "SecretsManager"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.secrets_manager[each.key].json
}
