################################################################################
# Project and location
################################################################################

variable "project_id" {
  description = "ID of the GCP project that holds every resource in this root (set TF_VAR_project_id in CI)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "GCP region for the subnet, Cloud Router and NAT."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like a GCP region, e.g. us-central1."
  }
}

variable "zone" {
  description = "GCP zone for the VM and the (zonal) GKE cluster. Must be inside region."
  type        = string
  default     = "us-central1-a"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", var.zone))
    error_message = "zone must look like a GCP zone, e.g. us-central1-a."
  }
}

variable "name_prefix" {
  description = "Prefix for every resource name. At most 20 characters so that derived names (service account IDs are limited to 30) stay valid."
  type        = string
  default     = "gitops-infra-dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 4-20 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

################################################################################
# Network
################################################################################

variable "subnet_cidr" {
  description = "Primary IPv4 range of the subnet (VM and GKE nodes). Also allowed to reach the GKE control plane."
  type        = string
  default     = "10.10.0.0/20"

  validation {
    condition = can(cidrhost(var.subnet_cidr, 0)) && can(regex(
      "^(10\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|192\\.168\\.)", var.subnet_cidr
    ))
    error_message = "subnet_cidr must be a valid private RFC 1918 IPv4 CIDR block (it is also a GKE master authorized network)."
  }
}

variable "pods_cidr" {
  description = "Secondary range of the subnet used for GKE Pod IPs (VPC-native cluster)."
  type        = string
  default     = "10.12.0.0/14"

  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be a valid IPv4 CIDR block."
  }
}

variable "services_cidr" {
  description = "Secondary range of the subnet used for GKE Service IPs."
  type        = string
  default     = "10.16.0.0/20"

  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be a valid IPv4 CIDR block."
  }
}

################################################################################
# GKE
################################################################################

variable "master_ipv4_cidr_block" {
  description = "The /28 range for the GKE control plane's private endpoint. Must not overlap any other range in the VPC."
  type        = string
  default     = "172.16.0.0/28"

  validation {
    condition     = can(cidrhost(var.master_ipv4_cidr_block, 0)) && endswith(var.master_ipv4_cidr_block, "/28")
    error_message = "master_ipv4_cidr_block must be a valid /28 IPv4 CIDR block."
  }
}

variable "additional_master_authorized_networks" {
  description = "Networks allowed to reach the GKE control plane besides the subnet itself (always allowed), e.g. a peered CI runner VPC. Private (RFC 1918) ranges only: Trivy GCP-0053 fails on any public CIDR, and the endpoint is private anyway."
  type = list(object({
    cidr_block   = string
    display_name = string
  }))
  default = []

  validation {
    condition = alltrue([
      for n in var.additional_master_authorized_networks :
      can(cidrhost(n.cidr_block, 0)) &&
      can(regex("^(10\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|192\\.168\\.)", n.cidr_block))
    ])
    error_message = "Every additional_master_authorized_networks cidr_block must be a valid private RFC 1918 CIDR (10/8, 172.16/12, 192.168/16)."
  }
}

variable "enable_private_endpoint" {
  description = "Expose the GKE control plane on its private IP only. Keep true: CI kubectl/helm then has to run inside the VPC (same rule as the AWS prod EKS endpoint)."
  type        = bool
  default     = true
}

variable "release_channel" {
  description = "GKE release channel; GKE upgrades the control plane and nodes within it."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE", "EXTENDED"], var.release_channel)
    error_message = "release_channel must be one of RAPID, REGULAR, STABLE, EXTENDED."
  }
}

variable "deletion_protection" {
  description = "Block `terraform destroy` of the GKE cluster. Set to false (and apply) before an intended teardown."
  type        = bool
  default     = true
}

variable "gke_machine_type" {
  description = "Machine type of the GKE node pool. Approved sizes only (shared with the OPA compute policy)."
  type        = string
  default     = "e2-medium"

  validation {
    condition     = contains(["e2-micro", "e2-small", "e2-medium"], var.gke_machine_type)
    error_message = "gke_machine_type must be one of the approved GCP sizes: e2-micro, e2-small, e2-medium."
  }
}

variable "node_image_repositories" {
  description = "Artifact Registry repositories the GKE nodes may pull images from (roles/artifactregistry.reader on each repository, never project-wide). project null means var.project_id."
  type = list(object({
    project    = optional(string)
    location   = string
    repository = string
  }))
  default = []

  validation {
    condition = alltrue([
      for repo in var.node_image_repositories :
      can(regex("^[a-z0-9-]+$", repo.location)) && can(regex("^[a-z]([a-z0-9-]*[a-z0-9])?$", repo.repository))
    ])
    error_message = "Each node_image_repositories entry needs a location such as europe-west1 (or a multi-region such as us) and a repository name of lowercase letters, digits and hyphens."
  }
}

variable "gke_node_count" {
  description = "Number of nodes in the GKE node pool (zonal cluster, so this is the total)."
  type        = number
  default     = 1

  validation {
    condition     = var.gke_node_count >= 1 && var.gke_node_count <= 5 && floor(var.gke_node_count) == var.gke_node_count
    error_message = "gke_node_count must be a whole number from 1 to 5."
  }
}

variable "gke_disk_size_gb" {
  description = "Boot disk size of each GKE node, in GB."
  type        = number
  default     = 50

  validation {
    condition     = var.gke_disk_size_gb >= 20 && var.gke_disk_size_gb <= 200
    error_message = "gke_disk_size_gb must be between 20 and 200."
  }
}

################################################################################
# Compute instance
################################################################################

variable "vm_count" {
  description = "Number of VMs to create: 0 while GCP is scaffolded (nothing to pay for), 1 once activated."
  type        = number
  default     = 0

  validation {
    condition     = contains([0, 1], var.vm_count)
    error_message = "vm_count must be 0 or 1."
  }
}

variable "vm_machine_type" {
  description = "Machine type of the VM. Approved sizes only (shared with the OPA compute policy)."
  type        = string
  default     = "e2-micro"

  validation {
    condition     = contains(["e2-micro", "e2-small", "e2-medium"], var.vm_machine_type)
    error_message = "vm_machine_type must be one of the approved GCP sizes: e2-micro, e2-small, e2-medium."
  }
}

variable "vm_image" {
  description = "Boot image of the VM (project/family). It must support Shielded VM (secure boot, vTPM)."
  type        = string
  default     = "debian-cloud/debian-12"

  validation {
    condition     = can(regex("^[a-z0-9-]+/[a-z0-9-]+$", var.vm_image))
    error_message = "vm_image must be written as <image-project>/<image-family>, e.g. debian-cloud/debian-12."
  }
}

variable "vm_disk_size_gb" {
  description = "Boot disk size of the VM, in GB."
  type        = number
  default     = 10

  validation {
    condition     = var.vm_disk_size_gb >= 10 && var.vm_disk_size_gb <= 100
    error_message = "vm_disk_size_gb must be between 10 and 100."
  }
}
