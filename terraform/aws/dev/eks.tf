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
# Control-plane logs
################################################################################

# Created before the cluster so EKS does not create it itself with "never expire" retention.
resource "aws_cloudwatch_log_group" "eks" {
  name              = "/aws/eks/${local.name}/cluster"
  retention_in_days = var.log_retention_days

  tags = {
    Name = "/aws/eks/${local.name}/cluster"
  }
}

################################################################################
# Cluster
################################################################################

resource "aws_eks_cluster" "this" {
  name     = local.name
  role_arn = aws_iam_role.cluster.arn
  version  = var.kubernetes_version

  # Dev keeps the cheap, most useful three; prod ships all five.
  enabled_cluster_log_types = ["api", "audit", "authenticator"]

  # Access entries only: no aws-auth ConfigMap, and the creator (the CI deploy role) gets no
  # implicit cluster-admin. Admins are granted explicitly below.
  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = false
  }

  # Dev: public endpoint so GitHub-hosted runners and laptops reach the API (Trivy AWS-0040/0041
  # on dev). Nodes still use the private endpoint. Prod is private-only.
  vpc_config {
    subnet_ids              = aws_subnet.private[*].id
    endpoint_private_access = true
    endpoint_public_access  = true
    public_access_cidrs     = var.cluster_endpoint_public_access_cidrs
  }

  # Dev: no envelope encryption of Secrets with a KMS key (Trivy AWS-0039 on dev); prod has it.

  # Standard support only: at end of standard support EKS upgrades the cluster instead of
  # billing extended support (6x the hourly price).
  upgrade_policy {
    support_type = "STANDARD"
  }

  tags = {
    Name = local.name
  }

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_cloudwatch_log_group.eks,
  ]
}

################################################################################
# Managed node group
################################################################################

resource "aws_eks_node_group" "this" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${local.name}-default"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.private[*].id

  # No AL2 AMIs exist for Kubernetes >= 1.33: AL2023 is the only Amazon Linux choice.
  ami_type       = "AL2023_x86_64_STANDARD"
  capacity_type  = "ON_DEMAND"
  instance_types = ["t3.medium"]

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

  depends_on = [aws_iam_role_policy_attachment.node]
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
