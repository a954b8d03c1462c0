################################################################################
# IAM audit role (job policy: the AWS policy simulator)
################################################################################

# The policy job of .github/workflows/terraform.yaml asks AWS's own policy simulator whether
# the escalation paths of terraform/bootstrap/README.md ("What each role can do") are closed:
# iam:SimulatePrincipalPolicy on the deploy roles, and iam:SimulateCustomPolicy with each
# environment's boundary. This role can do exactly that and read the boundary documents; it
# changes nothing. Like gitops-infra-plan-prod it is trusted for jobs on main that declare no
# environment (AWS_ROLE_ARN_IAM_AUDIT, repository level). Its name is outside gitops-infra-<env>-*,
# so no deploy role can change it.

data "aws_iam_policy_document" "iam_audit_trust" {
  count = var.create_iam_audit_role ? 1 : 0

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
      values   = [for prefix in local.github_subject_prefixes : "${prefix}:ref:refs/heads/main"]
    }
  }
}

resource "aws_iam_role" "iam_audit" {
  count = var.create_iam_audit_role ? 1 : 0

  name                 = "gitops-infra-iam-audit"
  description          = "GitHub Actions (OIDC) read-only role: AWS policy simulator checks of the deploy roles and boundaries (job policy)"
  assume_role_policy   = data.aws_iam_policy_document.iam_audit_trust[0].json
  max_session_duration = 3600

  tags = {
    Name = "gitops-infra-iam-audit"
  }
}

data "aws_iam_policy_document" "iam_audit" {
  count = var.create_iam_audit_role ? 1 : 0

  statement {
    sid       = "SimulateDeployRoles"
    actions   = ["iam:GetContextKeysForPrincipalPolicy", "iam:SimulatePrincipalPolicy"]
    resources = [for role in aws_iam_role.deploy : role.arn]
  }

  # Custom-policy simulation names no resource (the policies are in the request).
  statement {
    sid       = "SimulateBoundaries"
    actions   = ["iam:GetContextKeysForCustomPolicy", "iam:SimulateCustomPolicy"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadBoundaries"
    actions   = ["iam:GetPolicy", "iam:GetPolicyVersion"]
    resources = [for policy in aws_iam_policy.workload_boundary : policy.arn]
  }
}

resource "aws_iam_role_policy" "iam_audit" {
  count = var.create_iam_audit_role ? 1 : 0

  name   = "simulate"
  role   = aws_iam_role.iam_audit[0].id
  policy = data.aws_iam_policy_document.iam_audit[0].json
}
