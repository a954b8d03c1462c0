################################################################################
# EC2
################################################################################

output "instance_id" {
  description = "ID of the in-VPC admin instance (reach it with `aws ssm start-session`)."
  value       = aws_instance.this.id
}

output "private_ip" {
  description = "Private IPv4 address of the admin instance."
  value       = aws_instance.this.private_ip
}

# Same key as dev so the outputs artifact has one shape. An empty string, not null: Terraform
# drops root outputs whose value is null from state and from `terraform output -json`
# (hashicorp/terraform#34080), so a null here would make the key disappear.
output "public_ip" {
  description = "Always empty in prod: nothing gets a public IP. Present so dev and prod outputs have the same keys."
  value       = ""
}

output "ami_id" {
  description = "AL2023 AMI the instance was launched from."
  value       = aws_instance.this.ami
}

################################################################################
# EKS
################################################################################

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "Kubernetes API server endpoint (private: resolvable and reachable only inside the VPC)."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = aws_eks_cluster.this.arn
}

output "cluster_version" {
  description = "Kubernetes version of the EKS cluster."
  value       = aws_eks_cluster.this.version
}

output "cluster_security_group_id" {
  description = "Security group EKS created for the control plane (the stack's own groups are in cluster_additional_security_group_id and node_security_group_id)."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "cluster_additional_security_group_id" {
  description = "Security group this stack attaches to the control-plane ENIs."
  value       = aws_security_group.cluster.id
}

output "node_security_group_id" {
  description = "Security group of the managed nodes."
  value       = aws_security_group.node.id
}

output "cluster_certificate_authority_data" {
  description = "Base64 cluster CA certificate for kubeconfig. Marked sensitive so it stays out of plan output and the outputs artifact."
  value       = aws_eks_cluster.this.certificate_authority[0].data
  sensitive   = true
}

output "node_group_name" {
  description = "Name of the managed node group."
  value       = aws_eks_node_group.this.node_group_name
}

################################################################################
# Encryption and logging
################################################################################

output "eks_secrets_kms_key_arn" {
  description = "ARN of the KMS key that envelope-encrypts Kubernetes Secrets."
  value       = aws_kms_key.eks.arn
}

output "ebs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the admin instance's volumes."
  value       = aws_kms_key.ebs.arn
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}

################################################################################
# Network
################################################################################

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = aws_subnet.private[*].id
}

output "nat_public_ip" {
  description = "Elastic IP of the NAT gateway (the source address of private egress)."
  value       = aws_eip.nat.public_ip
}

output "region" {
  description = "AWS region of this stack."
  value       = var.region
}

output "environment" {
  description = "Environment of this stack."
  value       = var.environment
}
