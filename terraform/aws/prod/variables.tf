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
  description = "Environment name; used in resource names. Fixed to \"prod\" because this root's default_tags say so."
  type        = string
  default     = "prod"

  validation {
    condition     = var.environment == "prod"
    error_message = "This is the prod root (its default_tags carry environment = prod); use terraform/aws/dev for dev."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC. Keep dev and prod disjoint so they can be peered later. Also the only destination (besides S3) that prod security groups may send to."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    # try(): HCL's && does not short-circuit, so a value without "/" must not reach split()[1].
    condition     = can(cidrnetmask(var.vpc_cidr)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false)
    error_message = "vpc_cidr must be an IPv4 CIDR between /16 and /24 (the sizes a VPC accepts)."
  }
}

variable "public_subnet_cidrs" {
  description = "IPv4 CIDRs of the two public subnets (NAT gateway and internet-facing load balancers only; nothing gets a public IP), one per AZ."
  type        = list(string)
  default     = ["10.20.0.0/24", "10.20.1.0/24"]

  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0)) && can(cidrnetmask(c))])
    error_message = "public_subnet_cidrs must hold exactly two IPv4 CIDRs (one per availability zone)."
  }
}

variable "private_subnet_cidrs" {
  description = "IPv4 CIDRs of the two private subnets (EC2 instance, EKS control-plane ENIs, nodes, VPC endpoints), one per AZ. Sized for VPC CNI pod IPs."
  type        = list(string)
  default     = ["10.20.16.0/20", "10.20.32.0/20"]

  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0)) && can(cidrnetmask(c))])
    error_message = "private_subnet_cidrs must hold exactly two IPv4 CIDRs (one per availability zone)."
  }
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

################################################################################
# EC2
################################################################################

variable "instance_type" {
  description = "EC2 instance type of the in-VPC admin instance. Must be on the approved list enforced by policy/compute.rego."
  type        = string
  default     = "t3.micro"

  validation {
    condition     = contains(["t3.micro", "t3.small", "t3.medium"], var.instance_type)
    error_message = "instance_type must be one of the approved types: t3.micro, t3.small, t3.medium."
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

variable "node_group_size" {
  description = "Managed node group scaling: min, desired and max node counts."
  type = object({
    min     = number
    desired = number
    max     = number
  })
  default = {
    min     = 2
    desired = 2
    max     = 4
  }

  validation {
    condition     = var.node_group_size.min >= 1 && var.node_group_size.min <= var.node_group_size.desired && var.node_group_size.desired <= var.node_group_size.max && var.node_group_size.max <= 10
    error_message = "node_group_size must satisfy 1 <= min <= desired <= max <= 10."
  }
}

variable "node_volume_size" {
  description = "Root volume size of each EKS node, in GiB (AL2023 EKS AMIs need at least 20)."
  type        = number
  default     = 20

  validation {
    condition     = var.node_volume_size >= 20 && var.node_volume_size <= 200
    error_message = "node_volume_size must be between 20 and 200 GiB."
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
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}
