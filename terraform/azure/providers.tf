################################################################################
# Terraform and provider versions
################################################################################

terraform {
  required_version = ">= 1.11.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
  }

  # No backend is active while Azure credentials are pending: CI runs
  # `terraform init -backend=false` and the gates need no state. To activate
  # (see README.md, "Activate Azure"), uncomment this block. The azurerm
  # backend locks state with a blob lease; use_oidc + use_azuread_auth reuse
  # the workflow's GitHub OIDC login, so no storage account key is needed.
  #
  # backend "azurerm" {
  #   resource_group_name  = "rg-gitops-infra-tfstate"
  #   storage_account_name = "gitopsinfratfstate"
  #   container_name       = "tfstate"
  #   key                  = "azure/dev/terraform.tfstate"
  #   use_oidc             = true
  #   use_azuread_auth     = true
  # }
}

################################################################################
# Provider
################################################################################

# Credentials come from the environment only (GitHub OIDC):
# ARM_USE_OIDC=true, ARM_CLIENT_ID, ARM_TENANT_ID, ARM_SUBSCRIPTION_ID.
provider "azurerm" {
  features {}
}

################################################################################
# Tags
################################################################################

# azurerm has no provider-level default tags, so every taggable resource sets
# `tags = local.tags`. The keys are literals here so that static analysis
# (OPA on raw HCL) can resolve `local.tags` to these two keys.
locals {
  tags = {
    "managed-by"  = "terraform"
    "environment" = var.environment
  }
}
