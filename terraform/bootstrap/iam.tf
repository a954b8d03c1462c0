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

  # EC2 create calls whose new resources must carry environment = <env> (tag on create): the
  # only calls ec2:CreateTags may tag a new resource for (iam_ec2.tf).
  ec2_create_actions = [
    "ec2:AllocateAddress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateFlowLogs",
    "ec2:CreateInternetGateway",
    "ec2:CreateLaunchTemplate",
    "ec2:CreateNatGateway",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateVpc",
    "ec2:CreateVpcEndpoint",
    "ec2:RunInstances",
  ]
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

# EC2 does not fit the inline-policy budget (10,240 characters per role): it is a managed
# policy of its own (iam_ec2.tf), attached here.
resource "aws_iam_role_policy_attachment" "deploy_ec2" {
  for_each = local.deploy

  role       = aws_iam_role.deploy[each.key].name
  policy_arn = aws_iam_policy.deploy_ec2[each.key].arn
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
    sid       = "DescribeLockTable"
    actions   = ["dynamodb:DescribeTable"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  # Only this environment's lock item and state digest: the table is shared, and without the
  # LeadingKeys condition one environment could delete the other's lock during an apply.
  # (ForAllValues is safe here: item operations always carry dynamodb:LeadingKeys, and the Null
  # condition refuses a request without it.)
  statement {
    sid       = "DynamoDBLockItems"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.lock.arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values = [
        "${aws_s3_bucket.state.id}/${each.value.state_key}",
        "${aws_s3_bucket.state.id}/${each.value.state_key}-md5",
      ]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
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
# Inline policy: eks_access
################################################################################

# The EKS cluster and everything it depends on outside EC2: its IAM roles (under this
# environment's boundary, tagged environment = <env>), KMS keys and log groups. Every ARN is
# spelled out with the environment so that policy/iam.rego can check it without a plan.
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
    resources = [
      "arn:${local.partition}:eks:${var.region}:${local.account_id}:cluster/gitops-infra-${each.key}",
      # nodegroup/, access-entry/, addon/ ... all of the form <type>/<cluster name>/...
      "arn:${local.partition}:eks:${var.region}:${local.account_id}:*/gitops-infra-${each.key}/*",
    ]
  }

  # A new role must carry this environment's boundary and the environment tag. TagRole is
  # what CreateRole with tags is authorised as; the name pattern keeps it off other roles.
  statement {
    sid       = "CreateRolesUnderBoundary"
    actions   = ["iam:CreateRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.workload_boundary[each.key].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "TagNewRoles"
    actions   = ["iam:TagRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  # Changing what a role may do requires the role to be this environment's and to keep this
  # environment's boundary. There is no DeleteRolePermissionsBoundary anywhere.
  statement {
    sid = "RolePoliciesUnderBoundary"
    actions = [
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.workload_boundary[each.key].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "AttachApprovedManagedPolicies"
    actions   = ["iam:AttachRolePolicy"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.workload_boundary[each.key].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = local.attachable_managed_policy_arns
    }
  }

  statement {
    sid = "ReadRoles"
    actions = [
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:ListRoleTags",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]
  }

  # Trust policy, description, deletion and tags of this environment's roles only: the role
  # must already be tagged environment = <env> and may not be re-tagged to another one.
  statement {
    sid = "ManageEnvironmentRoles"
    actions = [
      "iam:DeleteRole",
      "iam:TagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "UntagEnvironmentRoles"
    actions   = ["iam:UntagRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }

    condition {
      test     = "ForAllValues:StringNotEquals"
      variable = "aws:TagKeys"
      values   = ["environment"]
    }

    condition {
      test     = "Null"
      variable = "aws:TagKeys"
      values   = ["false"]
    }
  }

  statement {
    sid       = "CreateInstanceProfiles"
    actions   = ["iam:CreateInstanceProfile", "iam:TagInstanceProfile"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:instance-profile/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid = "ManageInstanceProfiles"
    actions = [
      "iam:AddRoleToInstanceProfile",
      "iam:DeleteInstanceProfile",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:UntagInstanceProfile",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:instance-profile/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "ReadInstanceProfiles"
    actions   = ["iam:GetInstanceProfile", "iam:ListInstanceProfileTags"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:instance-profile/gitops-infra-${each.key}-*"]
  }

  # Only this environment's roles, only to the services the stacks hand them to.
  statement {
    sid       = "PassEnvironmentRoles"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["eks.amazonaws.com", "ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
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
    resources = [
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/eks/gitops-infra-${each.key}/*",
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vpc-flow-logs/gitops-infra-${each.key}",
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vpc-flow-logs/gitops-infra-${each.key}:*",
    ]
  }

  statement {
    sid       = "DenyOtherEnvironments"
    effect    = "Deny"
    actions   = ["eks:*", "iam:*", "kms:*", "logs:*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = local.deploy[each.key].other_environments
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
