################################################################################
# Secrets encryption key
################################################################################

# Envelope encryption of Kubernetes Secrets (Trivy AWS-0039). Default key policy: the cluster
# role gets use of the key through IAM (below) and EKS's own grant.
resource "aws_kms_key" "eks" {
  description             = "${local.name}: EKS Secrets envelope encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = {
    Name = "${local.name}-eks"
  }
}

resource "aws_kms_alias" "eks" {
  name          = "alias/${local.name}-eks"
  target_key_id = aws_kms_key.eks.key_id
}

################################################################################
# Cluster IAM role
################################################################################

data "aws_iam_policy_document" "cluster_assume_role" {
  statement {
    sid     = "EKSClusterAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name                  = "${local.name}-eks-cluster"
  description           = "EKS control plane role for ${local.name}"
  assume_role_policy    = data.aws_iam_policy_document.cluster_assume_role.json
  permissions_boundary  = local.permissions_boundary_arn
  force_detach_policies = true

  tags = {
    Name = "${local.name}-eks-cluster"
  }
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "${local.aws_managed_policy_prefix}/AmazonEKSClusterPolicy"
}

data "aws_iam_policy_document" "cluster_encryption" {
  statement {
    sid = "UseSecretsEncryptionKey"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ListGrants",
      "kms:DescribeKey",
    ]
    resources = [aws_kms_key.eks.arn]
  }
}

resource "aws_iam_role_policy" "cluster_encryption" {
  name   = "secrets-encryption"
  role   = aws_iam_role.cluster.id
  policy = data.aws_iam_policy_document.cluster_encryption.json
}

################################################################################
# Node IAM role
################################################################################

data "aws_iam_policy_document" "node_assume_role" {
  statement {
    sid     = "EKSNodeAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name                  = "${local.name}-eks-node"
  description           = "EKS managed node group role for ${local.name}"
  assume_role_policy    = data.aws_iam_policy_document.node_assume_role.json
  permissions_boundary  = local.permissions_boundary_arn
  force_detach_policies = true

  tags = {
    Name = "${local.name}-eks-node"
  }
}

# The three policies EKS documents for AL2023 managed nodes; PullOnly is the narrower successor
# of AmazonEC2ContainerRegistryReadOnly.
resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
  ])

  role       = aws_iam_role.node.name
  policy_arn = "${local.aws_managed_policy_prefix}/${each.value}"
}

################################################################################
# Cluster security group
################################################################################

# Attached to the control-plane ENIs next to the cluster security group EKS creates itself
# (outside Terraform, attached only to those AWS-managed ENIs). Nodes get only the node group
# below (set in the launch template), so these two groups carry all control-plane <-> node
# traffic, and no rule this stack owns is addressed to 0.0.0.0/0.
resource "aws_security_group" "cluster" {
  name        = "${local.name}-eks-cluster"
  description = "EKS control plane: API from nodes and the admin instance; calls to kubelets and webhooks"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${local.name}-eks-cluster"
  }
}

resource "aws_vpc_security_group_ingress_rule" "cluster_api_from_nodes" {
  security_group_id            = aws_security_group.cluster.id
  description                  = "Kubernetes API from nodes"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.node.id

  tags = {
    Name = "${local.name}-eks-api-from-nodes"
  }
}

resource "aws_vpc_security_group_ingress_rule" "cluster_api_from_admin" {
  security_group_id            = aws_security_group.cluster.id
  description                  = "Kubernetes API from the admin instance (kubectl over SSM)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.ec2.id

  tags = {
    Name = "${local.name}-eks-api-from-admin"
  }
}

resource "aws_vpc_security_group_egress_rule" "cluster_to_nodes_https" {
  security_group_id            = aws_security_group.cluster.id
  description                  = "Control plane to admission webhooks served on 443"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.node.id

  tags = {
    Name = "${local.name}-eks-to-nodes-https"
  }
}

resource "aws_vpc_security_group_egress_rule" "cluster_to_nodes_ephemeral" {
  security_group_id            = aws_security_group.cluster.id
  description                  = "Control plane to kubelet (10250) and webhooks/metrics on high ports"
  ip_protocol                  = "tcp"
  from_port                    = 1025
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.node.id

  tags = {
    Name = "${local.name}-eks-to-nodes-ephemeral"
  }
}

################################################################################
# Node security group
################################################################################

resource "aws_security_group" "node" {
  name        = "${local.name}-eks-node"
  description = "EKS nodes: from the control plane and each other; out to the VPC and S3 only"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${local.name}-eks-node"
  }
}

resource "aws_vpc_security_group_ingress_rule" "node_from_cluster_https" {
  security_group_id            = aws_security_group.node.id
  description                  = "Control plane to admission webhooks served on 443"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.cluster.id

  tags = {
    Name = "${local.name}-eks-node-from-cluster-https"
  }
}

resource "aws_vpc_security_group_ingress_rule" "node_from_cluster_ephemeral" {
  security_group_id            = aws_security_group.node.id
  description                  = "Control plane to kubelet (10250) and webhooks/metrics on high ports"
  ip_protocol                  = "tcp"
  from_port                    = 1025
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.cluster.id

  tags = {
    Name = "${local.name}-eks-node-from-cluster-ephemeral"
  }
}

resource "aws_vpc_security_group_ingress_rule" "node_from_nodes" {
  security_group_id            = aws_security_group.node.id
  description                  = "Node to node and pod to pod (CoreDNS, services)"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.node.id

  tags = {
    Name = "${local.name}-eks-node-from-nodes"
  }
}

# Egress stays inside the VPC (control plane ENIs, other nodes, interface endpoints) plus S3 for
# ECR image layers. There is deliberately no 0.0.0.0/0 rule (Trivy AWS-0104, CRITICAL): images
# from public registries must come through ECR (e.g. a pull-through cache), not the NAT gateway.
resource "aws_vpc_security_group_egress_rule" "node_to_vpc" {
  security_group_id = aws_security_group.node.id
  description       = "All traffic inside the VPC"
  ip_protocol       = "-1"
  cidr_ipv4         = var.vpc_cidr

  tags = {
    Name = "${local.name}-eks-node-to-vpc"
  }
}

resource "aws_vpc_security_group_egress_rule" "node_to_s3" {
  security_group_id = aws_security_group.node.id
  description       = "HTTPS to S3 (ECR image layers) via the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id

  tags = {
    Name = "${local.name}-eks-node-to-s3"
  }
}

################################################################################
# Control-plane logs
################################################################################

# Created before the cluster so EKS does not create it itself, unencrypted and never expiring.
resource "aws_cloudwatch_log_group" "eks" {
  name              = local.eks_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn

  tags = {
    Name = local.eks_log_group_name
  }
}

################################################################################
# Cluster
################################################################################

resource "aws_eks_cluster" "this" {
  name     = local.name
  role_arn = aws_iam_role.cluster.arn
  version  = var.kubernetes_version

  # All five control-plane log types (Trivy AWS-0038).
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  # Access entries only: no aws-auth ConfigMap, and the creator (the CI deploy role) gets no
  # implicit cluster-admin. Admins are granted explicitly below.
  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = false
  }

  # Private endpoint only (Trivy AWS-0040/0041): the API is reachable from inside the VPC alone.
  vpc_config {
    subnet_ids              = aws_subnet.private[*].id
    security_group_ids      = [aws_security_group.cluster.id]
    endpoint_private_access = true
    endpoint_public_access  = false
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = aws_kms_key.eks.arn
    }
  }

  # Standard support only: at end of standard support EKS upgrades the cluster instead of
  # billing extended support (6x the hourly price). Plan the 1.35 -> 1.36 upgrade before 2027-03-27.
  upgrade_policy {
    support_type = "STANDARD"
  }

  tags = {
    Name = local.name
  }

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_iam_role_policy.cluster_encryption,
    aws_cloudwatch_log_group.eks,
  ]
}

################################################################################
# Node launch template
################################################################################

# default_tags do not reach instances and volumes that the node group's Auto Scaling group
# launches; tag_specifications copy them (plus Name) so nodes carry the required tags too.
data "aws_default_tags" "current" {}

resource "aws_launch_template" "node" {
  name                   = "${local.name}-eks-node"
  description            = "EKS managed nodes of ${local.name}: IMDSv2 only, encrypted root volume, node security group"
  update_default_version = true

  # Only the node group: EKS then does not add its allow-all cluster security group to nodes.
  vpc_security_group_ids = [aws_security_group.node.id]

  # IMDSv2 only (Trivy AWS-0130). Hop limit 1: pods (not on the host network) cannot reach the
  # node role's credentials, so they must use IRSA or EKS Pod Identity.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Encrypted with the account's default EBS key. A customer-managed key here would also need the
  # AWSServiceRoleForAutoScaling service-linked role in its key policy, which does not exist in a
  # fresh account until the first Auto Scaling group is created (the key policy would then be
  # rejected). Nodes are stateless; the admin instance's volume uses the CMK.
  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.node_volume_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(data.aws_default_tags.current.tags, { Name = "${local.name}-eks-node" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(data.aws_default_tags.current.tags, { Name = "${local.name}-eks-node" })
  }

  tags = {
    Name = "${local.name}-eks-node"
  }
}

################################################################################
# Managed node group
################################################################################

resource "aws_eks_node_group" "this" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${local.name}-default"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.private[*].id

  # No AL2 AMIs exist for Kubernetes >= 1.33: AL2023 is the only Amazon Linux choice. The launch
  # template sets no image, so EKS still picks and updates the AMI.
  ami_type       = "AL2023_x86_64_STANDARD"
  capacity_type  = "ON_DEMAND"
  instance_types = ["t3.medium"]

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }

  scaling_config {
    min_size     = var.node_group_size.min
    desired_size = var.node_group_size.desired
    max_size     = var.node_group_size.max
  }

  update_config {
    max_unavailable = 1
  }

  tags = {
    Name = "${local.name}-default"
  }

  # Nodes need the endpoints (ECR, EC2, STS, S3) to join, and the IAM policies to pull images.
  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_vpc_endpoint.interface,
    aws_vpc_endpoint.s3,
  ]
}

################################################################################
# Access entries
################################################################################

resource "aws_eks_access_entry" "admin" {
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = var.admin_principal_arn
  type          = "STANDARD"

  tags = {
    Name = "${local.name}-admin"
  }
}

resource "aws_eks_access_policy_association" "admin" {
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_eks_access_entry.admin.principal_arn
  policy_arn    = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}
