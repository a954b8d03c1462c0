################################################################################
# Availability zones
################################################################################

locals {
  # EKS rejects control-plane subnets in these zone IDs; excluding them keeps "the first two
  # AZs" valid whichever names the account maps to them.
  eks_unsupported_zone_ids = ["use1-az3", "usw1-az2", "cac1-az3"]

  azs = slice(data.aws_availability_zones.available.names, 0, 2)
}

data "aws_availability_zones" "available" {
  state            = "available"
  exclude_zone_ids = local.eks_unsupported_zone_ids

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

################################################################################
# VPC
################################################################################

resource "aws_vpc" "this" {
  cidr_block = var.vpc_cidr

  # Both are required for the EKS private endpoint to resolve inside the VPC.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = local.name
  }
}

# The VPC's default security group is not managed here. AWS creates it untagged with the VPC,
# and the deploy role may only change resources tagged environment = <env>
# (terraform/bootstrap/iam_ec2.tf), so adopting it (aws_default_security_group) would fail.
# Nothing in this stack uses it: every ENI gets an explicit group. Close it account-wide with
# the AWS Config rule vpc-default-security-group-closed (Security Hub EC2.2) instead.
#
# Earlier versions adopted it: forget it without touching it (its rules stay as they were).
removed {
  from = aws_default_security_group.this

  lifecycle {
    destroy = false
  }
}

################################################################################
# Internet gateway
################################################################################

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = local.name
  }
}

################################################################################
# Subnets
################################################################################

resource "aws_subnet" "public" {
  count = length(var.public_subnet_cidrs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.public_subnet_cidrs[count.index]
  availability_zone = local.azs[count.index]

  # Nothing in prod gets a public IP at launch (Trivy AWS-0164): the NAT gateway has its own EIP
  # and load balancers get theirs from AWS.
  map_public_ip_on_launch = false

  tags = {
    Name                     = "${local.name}-public-${local.azs[count.index]}"
    "kubernetes.io/role/elb" = "1" # internet-facing load balancers from the AWS LB controller
  }
}

resource "aws_subnet" "private" {
  count = length(var.private_subnet_cidrs)

  vpc_id                  = aws_vpc.this.id
  cidr_block              = var.private_subnet_cidrs[count.index]
  availability_zone       = local.azs[count.index]
  map_public_ip_on_launch = false

  tags = {
    Name                              = "${local.name}-private-${local.azs[count.index]}"
    "kubernetes.io/role/internal-elb" = "1"
  }
}

################################################################################
# NAT gateway
################################################################################

# One NAT gateway for both AZs: cheaper, at the cost of private egress depending on one AZ.
resource "aws_eip" "nat" {
  domain = "vpc"

  tags = {
    Name = "${local.name}-nat"
  }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public[0].id

  tags = {
    Name = local.name
  }

  depends_on = [aws_internet_gateway.this]
}

################################################################################
# Route tables
################################################################################

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${local.name}-public"
  }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${local.name}-private"
  }
}

resource "aws_route" "private_nat" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this.id
}

resource "aws_route_table_association" "private" {
  count = length(aws_subnet.private)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

################################################################################
# VPC endpoints
################################################################################

# Prod security groups send nothing to 0.0.0.0/0 (Trivy AWS-0104). Nodes and the admin instance
# reach AWS APIs through these endpoints instead of the NAT gateway:
#   ec2                          VPC CNI (ENI and IP management)
#   ecr.api, ecr.dkr (+ S3)      image pulls for add-ons and workloads (layers are served from S3)
#   sts                          IRSA / web-identity credentials for pods
#   ssm, ssmmessages, ec2messages  Session Manager on the admin instance (no SSH in prod)
# Cost: about 7.3 USD per endpoint per AZ per month (14 ENIs here); the S3 gateway endpoint is free.
locals {
  interface_endpoints = toset(["ec2", "ecr.api", "ecr.dkr", "sts", "ssm", "ssmmessages", "ec2messages"])
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]

  tags = {
    Name = "${local.name}-s3"
  }
}

resource "aws_security_group" "vpc_endpoints" {
  name        = "${local.name}-vpc-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${local.name}-vpc-endpoints"
  }
}

resource "aws_vpc_security_group_ingress_rule" "vpc_endpoints_https" {
  security_group_id = aws_security_group.vpc_endpoints.id
  description       = "HTTPS from the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr

  tags = {
    Name = "${local.name}-vpc-endpoints-https"
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoints

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${var.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.vpc_endpoints.id]
  private_dns_enabled = true

  tags = {
    Name = "${local.name}-${each.value}"
  }
}

################################################################################
# Log encryption key
################################################################################

# One key for the CloudWatch log groups of this stack (flow logs and EKS control-plane logs).
# CloudWatch Logs encrypts with the key itself, so the key policy must name the service, scoped
# to exactly these two log groups through the encryption context.
data "aws_iam_policy_document" "logs_kms" {
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsUse"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:${local.flow_log_group_name}",
        "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:${local.eks_log_group_name}",
      ]
    }
  }
}

resource "aws_kms_key" "logs" {
  description             = "${local.name}: CloudWatch log groups (VPC flow logs, EKS control-plane logs)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.logs_kms.json

  tags = {
    Name = "${local.name}-logs"
  }
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${local.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

################################################################################
# VPC flow logs
################################################################################

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = local.flow_log_group_name
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.logs.arn

  tags = {
    Name = local.flow_log_group_name
  }
}

data "aws_iam_policy_document" "flow_logs_assume_role" {
  statement {
    sid     = "VPCFlowLogsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    # Confused-deputy guard: only flow logs of this account may use the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:ec2:${var.region}:${data.aws_caller_identity.current.account_id}:vpc-flow-log/*"]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name                  = "${local.name}-vpc-flow-logs"
  description           = "Lets VPC flow logs of ${local.name} write to their log group"
  assume_role_policy    = data.aws_iam_policy_document.flow_logs_assume_role.json
  permissions_boundary  = local.permissions_boundary_arn
  force_detach_policies = true

  tags = {
    Name = "${local.name}-vpc-flow-logs"
  }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    sid = "WriteFlowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
    ]
    resources = [
      aws_cloudwatch_log_group.flow_logs.arn,
      "${aws_cloudwatch_log_group.flow_logs.arn}:*",
    ]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "this" {
  vpc_id                   = aws_vpc.this.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn             = aws_iam_role.flow_logs.arn
  max_aggregation_interval = 600

  tags = {
    Name = local.name
  }
}
