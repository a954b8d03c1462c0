################################################################################
# Deploy roles: EC2 (managed policy gitops-infra-deploy-<env>-ec2)
################################################################################

# What network.tf, main.tf and eks.tf of terraform/aws/<env> manage in EC2, and nothing else:
#
#   - reads in var.region;
#   - creating a resource only with the tag environment = <env> in the same request (tag on
#     create), one statement per group of create calls, each listing only the resource types
#     those calls create. (aws:RequestTag is a property of the request, not of a resource: a
#     statement that also listed, say, vpc/* would let CreateSubnet into another environment's
#     VPC just by tagging the new subnet.)
#   - every other write (and the existing resources a create call uses: the VPC of a subnet, the
#     subnet and security groups of an instance) only on resources already tagged
#     environment = <env>. Untagged resources (other teams', AWS-created defaults) and the other
#     environment's never match;
#   - instances only of the approved types (var.deploy_instance_types, the AWS list of
#     policy/data/approved_instance_types.yaml), from Amazon-owned AMIs;
#   - an explicit Deny on anything tagged with another environment, as a second line.

data "aws_iam_policy_document" "deploy_ec2" {
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

  # Resources created on their own (no existing resource is part of the call).
  statement {
    sid     = "CreateStandalone"
    actions = ["ec2:AllocateAddress", "ec2:CreateInternetGateway", "ec2:CreateLaunchTemplate", "ec2:CreateVpc"]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:elastic-ip/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:internet-gateway/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:launch-template/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:vpc/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  # Resources created inside a VPC (the VPC itself passes ManageEnvironmentResources).
  statement {
    sid     = "CreateInVpc"
    actions = ["ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet"]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:route-table/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:subnet/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  # Resources attached to existing ones (subnet, EIP, security group, VPC: all must pass
  # ManageEnvironmentResources).
  statement {
    sid = "CreateAttached"
    actions = [
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateFlowLogs",
      "ec2:CreateNatGateway",
      "ec2:CreateVpcEndpoint",
    ]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:natgateway/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group-rule/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:vpc-endpoint/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:vpc-flow-log/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  # New instances: tagged for this environment and of an approved type only.
  statement {
    sid     = "LaunchInstances"
    actions = ["ec2:RunInstances"]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:volume/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEquals"
      variable = "ec2:InstanceType"
      values   = var.deploy_instance_types
    }
  }

  # What an instance is launched from and into: Amazon's AMIs, and this environment's subnet,
  # security groups, launch template and key pair.
  statement {
    sid       = "LaunchFromAmazonImages"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:${local.partition}:ec2:${var.region}::image/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:Owner"
      values   = ["amazon"]
    }
  }

  statement {
    sid     = "LaunchIntoEnvironment"
    actions = ["ec2:RunInstances"]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:key-pair/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:launch-template/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:subnet/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = [each.key]
    }
  }

  # Everything the stacks change, attach or delete, and the existing resources a create call
  # names, only when already tagged for this environment. Re-tagging to another environment is
  # refused by the IfExists condition (a tag change without the environment key passes).
  statement {
    sid = "ManageEnvironmentResources"
    actions = [
      # the existing resources of create calls (the VPC of CreateSubnet, the subnet and EIP of
      # CreateNatGateway, the security group of AuthorizeSecurityGroupIngress, ...)
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
      # changes, attachments and deletions
      "ec2:AssociateAddress",
      "ec2:AssociateIamInstanceProfile",
      "ec2:AssociateRouteTable",
      "ec2:AttachInternetGateway",
      "ec2:CreateLaunchTemplateVersion",
      "ec2:CreateRoute",
      "ec2:CreateTags",
      "ec2:DeleteFlowLogs",
      "ec2:DeleteInternetGateway",
      "ec2:DeleteLaunchTemplate",
      "ec2:DeleteLaunchTemplateVersions",
      "ec2:DeleteNatGateway",
      "ec2:DeleteRoute",
      "ec2:DeleteRouteTable",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteSubnet",
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
      "ec2:StartInstances",
      "ec2:StopInstances",
      "ec2:TerminateInstances",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    # Every EC2 resource type: the tag condition decides. RunInstances is not among these actions
    # (LaunchInstances and LaunchIntoEnvironment decide it).
    resources = ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:*/*"]

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

  # Tags written by a create call above (tag on create), never on an existing resource:
  # ec2:CreateAction is only present when CreateTags runs as part of a create call.
  statement {
    sid       = "TagOnCreate"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:*/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = local.ec2_create_actions
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = [each.key]
    }
  }

  # Removing tags other than environment from this environment's resources.
  statement {
    sid       = "UntagEnvironmentResources"
    actions   = ["ec2:DeleteTags"]
    resources = ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:*/*"]

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
    sid       = "DenyOtherEnvironments"
    effect    = "Deny"
    actions   = ["ec2:*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = local.deploy[each.key].other_environments
    }
  }

  statement {
    sid       = "DenyCreatingForOtherEnvironments"
    effect    = "Deny"
    actions   = ["ec2:*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = local.deploy[each.key].other_environments
    }
  }
}

resource "aws_iam_policy" "deploy_ec2" {
  for_each = local.deploy

  name        = "gitops-infra-deploy-${each.key}-ec2"
  description = "EC2 permissions of the ${each.key} deploy role: environment-tagged resources and approved instance types only"
  policy      = data.aws_iam_policy_document.deploy_ec2[each.key].json

  tags = {
    Name = "gitops-infra-deploy-${each.key}-ec2"
  }
}
