################################################################################
# General
################################################################################

variable "environment" {
  description = "Environment name, written to the `environment` tag of every resource."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "location" {
  description = "Azure region for every resource, e.g. eastus."
  type        = string
  default     = "eastus"

  validation {
    condition     = can(regex("^[a-z]+[a-z0-9]*$", var.location))
    error_message = "location must be an Azure region name in lowercase without spaces, e.g. eastus or westeurope."
  }
}

variable "name_prefix" {
  description = "Prefix for every resource name (also the AKS DNS prefix)."
  type        = string
  default     = "gitops-infra-dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 4-24 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "encryption_at_host_enabled" {
  description = "Encrypt VM and AKS node temp disks and disk caches on the host. Needs the subscription feature Microsoft.Compute/EncryptionAtHost registered (README.md)."
  type        = bool
  default     = true
}

################################################################################
# Network
################################################################################

variable "vnet_cidr" {
  description = "Address space of the virtual network."
  type        = string
  default     = "10.30.0.0/16"

  validation {
    condition     = can(cidrhost(var.vnet_cidr, 0))
    error_message = "vnet_cidr must be a valid IPv4 CIDR block."
  }
}

variable "vm_subnet_cidr" {
  description = "Subnet of the Linux VM. Must be inside vnet_cidr."
  type        = string
  default     = "10.30.1.0/24"

  validation {
    condition     = can(cidrhost(var.vm_subnet_cidr, 0))
    error_message = "vm_subnet_cidr must be a valid IPv4 CIDR block."
  }
}

variable "aks_subnet_cidr" {
  description = "Subnet of the AKS nodes (Pods use the overlay aks_pod_cidr, not this subnet). Must be inside vnet_cidr."
  type        = string
  default     = "10.30.16.0/22"

  validation {
    condition     = can(cidrhost(var.aks_subnet_cidr, 0))
    error_message = "aks_subnet_cidr must be a valid IPv4 CIDR block."
  }
}

variable "ssh_allowed_cidr" {
  description = "The only source range allowed to SSH to the VM subnet (an office or bastion range). Never the internet: `*`, `0.0.0.0/0`, `::/0`, `Internet` and `Any` are rejected. The default is a documentation range (RFC 5737) that matches nobody."
  type        = string
  default     = "203.0.113.0/24"

  validation {
    condition     = !contains(["*", "0.0.0.0/0", "::/0", "internet", "any"], lower(trimspace(var.ssh_allowed_cidr)))
    error_message = "ssh_allowed_cidr must not be *, 0.0.0.0/0, ::/0, Internet or Any: SSH is never open to everyone."
  }

  validation {
    condition     = can(cidrhost(var.ssh_allowed_cidr, 0)) && try(tonumber(split("/", var.ssh_allowed_cidr)[1]) >= 8, false)
    error_message = "ssh_allowed_cidr must be a CIDR block (e.g. 198.51.100.0/24) with a prefix length of at least /8."
  }
}

################################################################################
# Linux VM
################################################################################

variable "vm_count" {
  description = "Number of VMs (and NICs) to create: 0 while Azure is scaffolded (nothing to pay for), 1 once activated."
  type        = number
  default     = 0

  validation {
    condition     = contains([0, 1], var.vm_count)
    error_message = "vm_count must be 0 or 1."
  }
}

variable "vm_size" {
  description = "Size of the Linux VM. Approved sizes only (shared with the OPA compute policy)."
  type        = string
  default     = "Standard_B1s"

  validation {
    condition     = contains(["Standard_B1s", "Standard_B2s", "Standard_D2s_v5"], var.vm_size)
    error_message = "vm_size must be one of the approved Azure sizes: Standard_B1s, Standard_B2s, Standard_D2s_v5."
  }
}

variable "admin_username" {
  description = "Admin user of the Linux VM (SSH key login only)."
  type        = string
  default     = "azureuser"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.admin_username)) && !contains(["admin", "administrator", "root", "guest", "user", "test"], var.admin_username)
    error_message = "admin_username must be a lowercase Linux user name (max 32 characters) and not a reserved name such as admin or root."
  }
}

variable "admin_ssh_public_key" {
  description = "OpenSSH public key of the VM admin (set TF_VAR_admin_ssh_public_key from the AZURE_SSH_PUBLIC_KEY secret). Required when vm_count > 0."
  type        = string
  default     = null

  validation {
    condition     = var.admin_ssh_public_key == null || can(regex("^ssh-(rsa|ed25519) [A-Za-z0-9+/=]+( .*)?$", trimspace(coalesce(var.admin_ssh_public_key, "-"))))
    error_message = "admin_ssh_public_key must be an OpenSSH public key starting with ssh-rsa or ssh-ed25519."
  }
}

################################################################################
# AKS
################################################################################

variable "aks_vm_size" {
  description = "VM size of the AKS system node pool. Approved sizes only (shared with the OPA compute policy)."
  type        = string
  default     = "Standard_B2s"

  validation {
    condition     = contains(["Standard_B1s", "Standard_B2s", "Standard_D2s_v5"], var.aks_vm_size)
    error_message = "aks_vm_size must be one of the approved Azure sizes: Standard_B1s, Standard_B2s, Standard_D2s_v5."
  }

  validation {
    # AKS system pools need at least 2 vCPUs and 4 GiB of memory.
    condition     = var.aks_vm_size != "Standard_B1s"
    error_message = "Standard_B1s (1 vCPU, 1 GiB) is too small for an AKS system node pool; use Standard_B2s or Standard_D2s_v5."
  }
}

variable "aks_node_count" {
  description = "Number of nodes in the AKS system node pool."
  type        = number
  default     = 1

  validation {
    condition     = var.aks_node_count >= 1 && var.aks_node_count <= 5 && floor(var.aks_node_count) == var.aks_node_count
    error_message = "aks_node_count must be a whole number from 1 to 5."
  }
}

variable "aks_pod_cidr" {
  description = "Overlay range for Pod IPs (Azure CNI Overlay). Must not overlap the VNet or anything peered with it."
  type        = string
  default     = "192.168.0.0/16"

  validation {
    condition     = can(cidrhost(var.aks_pod_cidr, 0))
    error_message = "aks_pod_cidr must be a valid IPv4 CIDR block."
  }
}

variable "aks_service_cidr" {
  description = "Range for Kubernetes Service IPs; the cluster DNS service gets its 10th address. Must not overlap the VNet or aks_pod_cidr."
  type        = string
  default     = "172.16.0.0/16"

  validation {
    condition     = can(cidrhost(var.aks_service_cidr, 10))
    error_message = "aks_service_cidr must be a valid IPv4 CIDR block with room for at least 11 addresses."
  }
}

variable "aks_admin_group_object_ids" {
  description = "Object IDs of Microsoft Entra groups that get cluster-admin on AKS (local accounts are disabled, so access is Entra ID + Azure RBAC only)."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for id in var.aks_admin_group_object_ids :
      can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))
    ])
    error_message = "Every aks_admin_group_object_ids entry must be a GUID."
  }
}

variable "log_retention_days" {
  description = "Retention of the AKS Log Analytics workspace, in days."
  type        = number
  default     = 30

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
  }
}
