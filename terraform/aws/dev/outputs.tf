################################################################################
# EC2
################################################################################

output "instance_id" {
  description = "ID of the demo EC2 instance."
  value       = aws_instance.this.id
}

output "public_ip" {
  description = "Public IPv4 address of the demo EC2 instance."
  value       = aws_instance.this.public_ip
}

output "private_ip" {
  description = "Private IPv4 address of the demo EC2 instance."
  value       = aws_instance.this.private_ip
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
  description = "Kubernetes API server endpoint (public and private in dev)."
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
  description = "Security group EKS created for the control plane and managed nodes."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
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
