################################################################################
# Permissions boundary for workload roles (one per environment)
################################################################################

# Every role a deploy role creates must carry its own environment's boundary (the
# iam:PermissionsBoundary conditions in iam.tf), and the dev/prod stacks set
# permissions_boundary = gitops-infra-workload-boundary-<env> on every role they create.
#
# The boundary is the most such a role can ever do, whatever policies the deploy role attaches
# to it. Without it (or with one boundary shared by both environments, as before), the dev
# deploy role could create a role, give it ec2:*, kms:Decrypt or ssm:GetParameter on "*",
# launch an instance with it and reach prod through that instance. With it, a role created by
# the dev stack is limited to:
#
#   - reads that return no secrets (Describe*, the ECR pull API, eks:DescribeCluster);
#   - EC2 writes on resources tagged environment = dev or owned by the dev cluster (the tags
#     EKS and the VPC CNI put on what they manage: kubernetes.io/cluster/gitops-infra-dev,
#     cluster.k8s.amazonaws.com/name = gitops-infra-dev), and new ENIs, security groups and
#     volumes only when the create call tags them so;
#   - KMS use of keys tagged environment = dev only;
#   - SSM parameters under /aws/service/ (public AMI ids) and /gitops-infra/dev/ only, plus the
#     Session Manager agent's own channel and inventory calls;
#   - the dev cluster's Pod Identity and the dev flow-log group;
#   - no IAM, no STS, no S3, no Secrets Manager, no Elastic Load Balancing (Services of type
#     LoadBalancer need the AWS Load Balancer Controller with its own Pod Identity role, which
#     the stacks do not install), nothing on untagged resources.
#
# Untagged and other-environment EC2 resources are out of reach because every write statement
# below is conditioned on a tag naming this environment or its cluster, and an absent tag never
# matches StringEquals.

locals {
  # EC2 writes EKS control planes, managed nodes and the VPC CNI make on resources that already
  # exist (AmazonEKSClusterPolicy, AmazonEKS_CNI_Policy), allowed only on this environment's
  # resources (the statements below).
  boundary_ec2_writes = [
    "autoscaling:UpdateAutoScalingGroup",
    "ec2:Assign*",
    "ec2:Attach*",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateNetworkInterface*",
    "ec2:CreateRoute",
    "ec2:CreateSecurityGroup",
    "ec2:CreateTags",
    "ec2:CreateVolume",
    "ec2:Delete*",
    "ec2:Detach*",
    "ec2:Modify*",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:Unassign*",
  ]

  # Resources those controllers create, allowed only with a tag naming this environment or its
  # cluster in the request.
  boundary_ec2_creates = ["ec2:CreateNetworkInterface", "ec2:CreateSecurityGroup", "ec2:CreateVolume"]
}

data "aws_iam_policy_document" "workload_boundary" {
  for_each = local.deploy

  # Metadata only: no action here returns a secret, a parameter value or object data.
  statement {
    sid = "ReadMetadata"
    actions = [
      "autoscaling:Describe*",
      "ec2:Describe*",
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetAuthorizationToken",
      "ecr:GetDownloadUrlForLayer",
      "eks:DescribeCluster",
      "logs:DescribeLogGroups",
      "ssm:DescribeAssociation",
      "ssm:DescribeDocument",
      "ssm:GetDocument",
      "ssm:GetManifest",
      "ssm:ListAssociations",
      "ssm:ListInstanceAssociations",
    ]
    resources = ["*"]
  }

  # One statement per tag: IAM ORs statements and ANDs the conditions inside one. "This
  # environment's" EC2 resources are those tagged environment = <env> (the stacks' default_tags)
  # or owned by its cluster (kubernetes.io/cluster/<cluster>, set by EKS on its security group
  # and managed nodes; cluster.k8s.amazonaws.com/name, set by the VPC CNI on its ENIs).
  statement {
    sid       = "EnvironmentResources"
    actions   = local.boundary_ec2_writes
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "ClusterResources"
    actions   = local.boundary_ec2_writes
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/kubernetes.io/cluster/gitops-infra-${each.key}"
      values   = ["owned", "shared"]
    }
  }

  statement {
    sid       = "ClusterNetworkInterfaces"
    actions   = local.boundary_ec2_writes
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/cluster.k8s.amazonaws.com/name"
      values   = ["gitops-infra-${each.key}"]
    }
  }

  # New ENIs, security groups and volumes, only tagged for this environment or its cluster in
  # the same request (their subnet / VPC must pass the statements above).
  statement {
    sid     = "CreateEnvironmentResources"
    actions = local.boundary_ec2_creates
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:volume/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid     = "CreateClusterResources"
    actions = local.boundary_ec2_creates
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:volume/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes.io/cluster/gitops-infra-${each.key}"
      values   = ["owned", "shared"]
    }
  }

  statement {
    sid     = "CreateClusterNetworkInterfaces"
    actions = local.boundary_ec2_creates
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:volume/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/cluster.k8s.amazonaws.com/name"
      values   = ["gitops-infra-${each.key}"]
    }
  }

  # Tags written by a create call above, never on an existing resource (ec2:CreateAction is
  # only present when CreateTags runs as part of a create call).
  statement {
    sid     = "TagOnCreate"
    actions = ["ec2:CreateTags"]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:volume/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = local.boundary_ec2_creates
    }
  }

  statement {
    sid = "EnvironmentKeys"
    actions = [
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:ListGrants",
    ]
    resources = ["arn:${local.partition}:kms:${var.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }
  }

  statement {
    sid     = "EnvironmentParameters"
    actions = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = [
      "arn:${local.partition}:ssm:${var.region}::parameter/aws/service/*",
      "arn:${local.partition}:ssm:${var.region}:${local.account_id}:parameter/gitops-infra/${each.key}/*",
    ]
  }

  # The Session Manager agent reporting about its own instance (AmazonSSMManagedInstanceCore).
  statement {
    sid = "SessionManagerAgent"
    actions = [
      "ssm:GetDeployablePatchSnapshotForInstance",
      "ssm:PutComplianceItems",
      "ssm:PutConfigurePackageResult",
      "ssm:PutInventory",
      "ssm:UpdateAssociationStatus",
      "ssm:UpdateInstanceAssociationStatus",
      "ssm:UpdateInstanceInformation",
    ]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*",
      "arn:${local.partition}:ssm:${var.region}:${local.account_id}:*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }
  }

  # Session Manager's message channels have no resource-level permissions; they carry the
  # calling instance's own session.
  statement {
    sid = "SessionManagerChannels"
    actions = [
      "ec2messages:AcknowledgeMessage",
      "ec2messages:DeleteMessage",
      "ec2messages:FailMessage",
      "ec2messages:GetEndpoint",
      "ec2messages:GetMessages",
      "ec2messages:SendReply",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ClusterPodIdentity"
    actions   = ["eks-auth:AssumeRoleForPodIdentity"]
    resources = ["arn:${local.partition}:eks:${var.region}:${local.account_id}:cluster/gitops-infra-${each.key}"]
  }

  statement {
    sid = "EnvironmentFlowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = [
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vpc-flow-logs/gitops-infra-${each.key}",
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vpc-flow-logs/gitops-infra-${each.key}:*",
    ]
  }
}

resource "aws_iam_policy" "workload_boundary" {
  for_each = local.deploy

  name        = "gitops-infra-workload-boundary-${each.key}"
  description = "Permissions boundary of every IAM role the gitops-infra ${each.key} deploy role creates"
  policy      = data.aws_iam_policy_document.workload_boundary[each.key].json

  tags = {
    Name = "gitops-infra-workload-boundary-${each.key}"
  }
}
