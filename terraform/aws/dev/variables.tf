################################################################################
# General
################################################################################

variable "region" {
  description = "AWS region for every resource in this stack (the state bucket region is fixed in backend.tf)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like us-east-1 or us-gov-west-1."
  }
}

variable "environment" {
  description = "Environment name; used in resource names. Fixed to \"dev\" because this root's default_tags say so."
  type        = string
  default     = "dev"

  validation {
    condition     = var.environment == "dev"
    error_message = "This is the dev root (its default_tags carry environment = dev); use terraform/aws/prod for prod."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC. Keep dev and prod disjoint so they can be peered later."
  type        = string
  default     = "10.10.0.0/16"

  validation {
    # try(): HCL's && does not short-circuit, so a value without "/" must not reach split()[1].
    condition     = can(cidrnetmask(var.vpc_cidr)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false)
    error_message = "vpc_cidr must be an IPv4 CIDR between /16 and /24 (the sizes a VPC accepts)."
  }
}

variable "public_subnet_cidrs" {
  description = "IPv4 CIDRs of the two public subnets (NAT gateway, demo EC2 instance, internet-facing load balancers), one per AZ."
  type        = list(string)
  default     = ["10.10.0.0/24", "10.10.1.0/24"]

  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0)) && can(cidrnetmask(c))])
    error_message = "public_subnet_cidrs must hold exactly two IPv4 CIDRs (one per availability zone)."
  }
}

variable "private_subnet_cidrs" {
  description = "IPv4 CIDRs of the two private subnets (EKS control-plane ENIs and nodes), one per AZ. Sized for VPC CNI pod IPs."
  type        = list(string)
  default     = ["10.10.16.0/20", "10.10.32.0/20"]

  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0)) && can(cidrnetmask(c))])
    error_message = "private_subnet_cidrs must hold exactly two IPv4 CIDRs (one per availability zone)."
  }
}

################################################################################
# EC2
################################################################################

variable "instance_type" {
  description = "EC2 instance type of the demo instance. Must be on the approved list enforced by policy/compute.rego."
  type        = string
  default     = "t3.micro"

  validation {
    condition     = contains(["t3.micro", "t3.small", "t3.medium"], var.instance_type)
    error_message = "instance_type must be one of the approved types: t3.micro, t3.small, t3.medium."
  }
}

variable "ssh_ingress_cidr" {
  description = "IPv4 CIDR allowed to SSH to the demo instance. Defaults to a documentation range (RFC 5737) so nothing is open until you set your own."
  type        = string
  default     = "203.0.113.0/24"

  validation {
    # cidrnetmask() only accepts IPv4, which is what the ingress rule's cidr_ipv4 takes.
    condition     = can(cidrhost(var.ssh_ingress_cidr, 0)) && can(cidrnetmask(var.ssh_ingress_cidr)) && !endswith(var.ssh_ingress_cidr, "/0")
    error_message = "ssh_ingress_cidr must be an IPv4 CIDR narrower than /0: SSH from anywhere (0.0.0.0/0, ::/0) is forbidden by policy/network.rego."
  }
}

variable "ssh_key_name" {
  description = "Name of an existing EC2 key pair for SSH to the demo instance; null launches without one (use EC2 Instance Connect)."
  type        = string
  default     = null

  validation {
    condition     = var.ssh_key_name == null || can(regex("^.{1,255}$", var.ssh_key_name))
    error_message = "ssh_key_name must be null or 1-255 characters."
  }
}

################################################################################
# EKS
################################################################################

variable "kubernetes_version" {
  description = "EKS Kubernetes version (1.35: standard support until 2027-03-27)."
  type        = string
  default     = "1.35"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.35."
  }
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "IPv4 CIDRs allowed to reach the public EKS API endpoint. Dev keeps the endpoint public so GitHub-hosted runners and laptops can reach it; IAM access entries still gate every request."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.cluster_endpoint_public_access_cidrs) > 0 && alltrue([for c in var.cluster_endpoint_public_access_cidrs : can(cidrhost(c, 0)) && can(cidrnetmask(c))])
    error_message = "cluster_endpoint_public_access_cidrs must be a non-empty list of IPv4 CIDRs."
  }
}

variable "node_group_size" {
  description = "Managed node group scaling: min, desired and max node counts."
  type = object({
    min     = number
    desired = number
    max     = number
  })
  default = {
    min     = 1
    desired = 2
    max     = 3
  }

  validation {
    condition     = var.node_group_size.min >= 1 && var.node_group_size.min <= var.node_group_size.desired && var.node_group_size.desired <= var.node_group_size.max && var.node_group_size.max <= 10
    error_message = "node_group_size must satisfy 1 <= min <= desired <= max <= 10."
  }
}

variable "admin_principal_arn" {
  description = "ARN of the IAM role or user granted cluster-admin through an EKS access entry (no aws-auth ConfigMap). Set it with TF_VAR_admin_principal_arn."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", var.admin_principal_arn))
    error_message = "admin_principal_arn must be an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/platform-admin."
  }
}

variable "log_retention_days" {
  description = "Retention of the EKS control-plane log group, in days."
  type        = number
  default     = 7

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}
