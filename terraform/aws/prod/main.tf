################################################################################
# Shared locals and lookups
################################################################################

locals {
  # Every name starts with gitops-infra-<env>-: the deploy role may only create, modify and pass
  # IAM roles under that prefix (terraform/bootstrap), and EKS permissions are scoped the same way.
  name = "gitops-infra-${var.environment}"

  # Every IAM role this stack creates must carry this environment's boundary, or the deploy
  # role's iam:CreateRole is denied (terraform/bootstrap/iam.tf, iam_boundary.tf). The policy is
  # created by bootstrap, one per environment.
  permissions_boundary_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/gitops-infra-workload-boundary-${var.environment}"

  aws_managed_policy_prefix = "arn:${data.aws_partition.current.partition}:iam::aws:policy"

  # Known up front because the log KMS key policy names them before the groups exist.
  eks_log_group_name  = "/aws/eks/${local.name}/cluster"
  flow_log_group_name = "/aws/vpc-flow-logs/${local.name}"
}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

################################################################################
# AMI
################################################################################

# Amazon Linux 2 reached end of life on 2026-06-30; AL2023 is supported until 2029-06-30.
data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]

  filter {
    name   = "name"
    values = ["al2023-ami-2023.*-x86_64"]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

################################################################################
# EBS encryption key
################################################################################

# Customer-managed key for the instance's root volume. The default key policy (account root,
# delegating to IAM) is enough: EC2 uses the key through a grant made with the caller's rights.
resource "aws_kms_key" "ebs" {
  description             = "${local.name}: EBS volumes of the admin instance"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = {
    Name = "${local.name}-ebs"
  }
}

resource "aws_kms_alias" "ebs" {
  name          = "alias/${local.name}-ebs"
  target_key_id = aws_kms_key.ebs.key_id
}

################################################################################
# Security group
################################################################################

# No ingress at all: the instance is reached through SSM Session Manager, not SSH.
resource "aws_security_group" "ec2" {
  name        = "${local.name}-ec2"
  description = "In-VPC admin instance: no inbound, HTTPS out to the VPC and S3 only"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${local.name}-ec2"
  }
}

# Interface endpoints (SSM, STS, ECR...) and the private EKS API all live inside the VPC.
resource "aws_vpc_security_group_egress_rule" "ec2_https_vpc" {
  security_group_id = aws_security_group.ec2.id
  description       = "HTTPS to VPC endpoints and the private EKS API"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr

  tags = {
    Name = "${local.name}-ec2-https-vpc"
  }
}

# AL2023 package repositories are S3 buckets, reachable through the S3 gateway endpoint.
resource "aws_vpc_security_group_egress_rule" "ec2_https_s3" {
  security_group_id = aws_security_group.ec2.id
  description       = "HTTPS to S3 (dnf repositories) via the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id

  tags = {
    Name = "${local.name}-ec2-https-s3"
  }
}

################################################################################
# Instance IAM role (SSM)
################################################################################

data "aws_iam_policy_document" "ec2_assume_role" {
  statement {
    sid     = "EC2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ec2" {
  name                  = "${local.name}-ec2"
  description           = "Admin instance of ${local.name}: Session Manager only"
  assume_role_policy    = data.aws_iam_policy_document.ec2_assume_role.json
  permissions_boundary  = local.permissions_boundary_arn
  force_detach_policies = true

  tags = {
    Name = "${local.name}-ec2"
  }
}

resource "aws_iam_role_policy_attachment" "ec2_ssm" {
  role       = aws_iam_role.ec2.name
  policy_arn = "${local.aws_managed_policy_prefix}/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "ec2" {
  name = "${local.name}-ec2"
  role = aws_iam_role.ec2.name

  tags = {
    Name = "${local.name}-ec2"
  }
}

################################################################################
# EC2 instance
################################################################################

# Private admin host: the only place from which the private-only EKS API can be used by hand.
resource "aws_instance" "this" {
  ami                         = data.aws_ami.al2023.id
  instance_type               = var.instance_type
  subnet_id                   = aws_subnet.private[0].id
  vpc_security_group_ids      = [aws_security_group.ec2.id]
  associate_public_ip_address = false
  iam_instance_profile        = aws_iam_instance_profile.ec2.name

  # IMDSv2 only (Trivy AWS-0028); hop limit 1 keeps the token from leaving the instance.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Encrypted with the customer-managed key above (Trivy AWS-0131).
  root_block_device {
    encrypted             = true
    kms_key_id            = aws_kms_key.ebs.arn
    volume_type           = "gp3"
    delete_on_termination = true
  }

  tags = {
    Name = "${local.name}-ec2"
  }

  lifecycle {
    # A new AL2023 release must not silently replace the instance on the next promotion;
    # roll it deliberately with `terraform apply -replace=aws_instance.this`.
    ignore_changes = [ami]
  }

  # SSM registration needs the endpoints before the agent starts.
  depends_on = [aws_vpc_endpoint.interface]
}
