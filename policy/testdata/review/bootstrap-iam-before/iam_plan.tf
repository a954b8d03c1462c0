################################################################################
# Read-only prod plan role (job prod-gates)
################################################################################

# The prod-gates job of .github/workflows/terraform.yaml runs `terraform plan -lock=false` on
# terraform/aws/prod BEFORE the approval on GitHub Environment prod, so the approver sees the
# plan. It declares no environment (prod environment secrets are released only after approval),
# so its token's sub is the branch subject, not :environment:prod, and it cannot use
# gitops-infra-deploy-prod. This role is what it assumes (AWS_ROLE_ARN_PROD_PLAN).
#
# - Read-only: no Put/Delete/Create/Update/Tag action anywhere below. It cannot write state or
#   take a lock. The job passes -lock=false for exactly this reason; without it the plan fails
#   (AccessDenied on <key>.tflock), and an apply can never run with this role.
# - No DynamoDB access either. The S3 backend reads the <bucket>/<key>-md5 digest item only to
#   detect stale state; when that read is denied Terraform logs a WARN (TF_LOG) and goes on (S3
#   reads are strongly consistent anyway).
# - No permissions boundary. The deploy roles carry none either. gitops-infra-workload-boundary
#   caps the roles the stacks create and allows neither IAM nor S3 reads, so it would break this
#   role.
# - Its name is outside gitops-infra-prod-*, so the prod deploy role cannot edit it.
# - Created only when var.environments lists prod. local.deploy["prod"] is read only inside
#   these count-guarded blocks.

locals {
  plan_prod_enabled = contains(var.environments, "prod")

  # Jobs on the main branch that declare no GitHub environment (legacy and/or immutable form).
  plan_prod_subjects = [for prefix in local.github_subject_prefixes : "${prefix}:ref:refs/heads/main"]
}

# Trust: StringEquals on aud and sub, the same shape as the deploy roles. Runs dispatched from
# any other branch get a different sub and are refused, so the prod gates fail for them.
data "aws_iam_policy_document" "plan_prod_trust" {
  count = local.plan_prod_enabled ? 1 : 0

  statement {
    sid     = "GitHubActionsMainBranch"
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
      values   = local.plan_prod_subjects
    }
  }
}

resource "aws_iam_role" "plan_prod" {
  count = local.plan_prod_enabled ? 1 : 0

  name               = "gitops-infra-plan-prod"
  description        = "GitHub Actions (OIDC) read-only role: terraform plan -lock=false of terraform/aws/prod (job prod-gates)"
  assume_role_policy = data.aws_iam_policy_document.plan_prod_trust[0].json
  # prod-gates has a 45-minute timeout; configure-aws-credentials asks for 1 hour by default.
  max_session_duration = 3600

  tags = {
    Name = "gitops-infra-plan-prod"
  }
}

################################################################################
# Inline policy: tfbackendstate_read
################################################################################

# The prod state object, read-only. Not its .tflock object, not the lock table, not other keys.
data "aws_iam_policy_document" "plan_prod_state" {
  count = local.plan_prod_enabled ? 1 : 0

  # The backend lists the bucket to enumerate workspaces (init, plan).
  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  # GetObject also authorises the HeadObject the backend sends first.
  statement {
    sid       = "ReadProdState"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.state.arn}/${local.deploy["prod"].state_key}"]
  }

  # Decrypting the SSE-KMS state object, only when S3 asks on the role's behalf.
  statement {
    sid       = "StateKeyDecryptViaS3"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.state.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "plan_prod_state" {
  count = local.plan_prod_enabled ? 1 : 0

  name   = "tfbackendstate_read"
  role   = aws_iam_role.plan_prod[0].id
  policy = data.aws_iam_policy_document.plan_prod_state[0].json
}

################################################################################
# Inline policy: refresh_read
################################################################################

# What `terraform plan` calls to refresh terraform/aws/prod (AWS provider 6.x), and nothing to
# change it. The stack reads its AMI through data "aws_ami" (ec2:DescribeImages), not SSM, and
# references no Secrets Manager secret, so neither service is granted. If that changes, add
# ssm:GetParameter on the parameter ARN, or secretsmanager:DescribeSecret on
# gitops-infra/prod/*, here.
data "aws_iam_policy_document" "plan_prod_refresh" {
  count = local.plan_prod_enabled ? 1 : 0

  # VPC, subnets, gateways, EIP, routes, security groups and rules, endpoints, flow log,
  # launch template, instance and volumes, AMI and AZ lookups. Most EC2 Describe calls do not
  # support resource-level permissions, so the scope is the region (as for the deploy roles).
  statement {
    sid       = "Ec2Describe"
    actions   = ["ec2:Describe*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }

  # Cluster gitops-infra-prod, its node group, access entries and access policy associations.
  statement {
    sid = "EksRead"
    actions = [
      "eks:DescribeAccessEntry",
      "eks:DescribeCluster",
      "eks:DescribeNodegroup",
      "eks:ListAccessEntries",
      "eks:ListAssociatedAccessPolicies",
      "eks:ListNodegroups",
      "eks:ListTagsForResource",
    ]
    resources = local.deploy["prod"].eks_arns
  }

  # Stack roles gitops-infra-prod-*: the role, its inline policies and attached managed policies
  # (aws_iam_role, aws_iam_role_policy, aws_iam_role_policy_attachment). GetRole also returns
  # the permissions boundary ARN, so the boundary policy itself is never read.
  statement {
    sid = "IamRolesRead"
    actions = [
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
      "iam:ListRoleTags",
    ]
    resources = [local.deploy["prod"].role_arns]
  }

  statement {
    sid       = "IamInstanceProfilesRead"
    actions   = ["iam:GetInstanceProfile", "iam:ListInstanceProfileTags"]
    resources = [local.deploy["prod"].instance_profile_arns]
  }

  # The stack's EBS, EKS and logs keys (random IDs, so scoped by the environment tag).
  # Metadata only: no Decrypt, Encrypt or GenerateDataKey.
  statement {
    sid = "KmsKeysRead"
    actions = [
      "kms:DescribeKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListResourceTags",
    ]
    resources = ["arn:${local.partition}:kms:${var.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = ["prod"]
    }
  }

  # aws_kms_alias and aws_cloudwatch_log_group are read through these list calls, which take
  # no resource ARN. They return names and metadata, never key material or log events.
  statement {
    sid       = "ListWithoutResource"
    actions   = ["kms:ListAliases", "logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "LogGroupTags"
    actions   = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
    resources = local.deploy["prod"].log_group_arns
  }
}

resource "aws_iam_role_policy" "plan_prod_refresh" {
  count = local.plan_prod_enabled ? 1 : 0

  name   = "refresh_read"
  role   = aws_iam_role.plan_prod[0].id
  policy = data.aws_iam_policy_document.plan_prod_refresh[0].json
}
