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
# Security group
################################################################################

resource "aws_security_group" "ec2" {
  name        = "${local.name}-ec2"
  description = "Demo EC2 instance: SSH from the operator CIDR only"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${local.name}-ec2"
  }
}

# Rules as separate resources (not inline blocks) so each one is reviewed, scanned and changed
# on its own.
resource "aws_vpc_security_group_ingress_rule" "ec2_ssh" {
  security_group_id = aws_security_group.ec2.id
  description       = "SSH from the operator CIDR (never 0.0.0.0/0: policy/network.rego)"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = var.ssh_ingress_cidr

  tags = {
    Name = "${local.name}-ec2-ssh"
  }
}

# Dev only: unrestricted egress so the demo box can reach package mirrors and the internet.
# Trivy reports this as AWS-0104 (CRITICAL) on dev; prod limits egress to the VPC and S3.
resource "aws_vpc_security_group_egress_rule" "ec2_all" {
  security_group_id = aws_security_group.ec2.id
  description       = "Dev: all outbound traffic"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"

  tags = {
    Name = "${local.name}-ec2-egress"
  }
}

################################################################################
# EC2 instance
################################################################################

resource "aws_instance" "this" {
  ami                         = data.aws_ami.al2023.id
  instance_type               = var.instance_type
  subnet_id                   = aws_subnet.public[0].id
  vpc_security_group_ids      = [aws_security_group.ec2.id]
  associate_public_ip_address = true # dev demo: reachable over SSH from ssh_ingress_cidr
  key_name                    = var.ssh_key_name

  # IMDSv2 costs nothing even in dev; hop limit 1 keeps the token on the instance.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Encrypted with the AWS-managed aws/ebs key; prod uses a customer-managed key.
  root_block_device {
    encrypted             = true
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
}
