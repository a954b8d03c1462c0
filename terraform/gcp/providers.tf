################################################################################
# Terraform and provider versions
################################################################################

terraform {
  required_version = ">= 1.11.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
  }

  # No backend is active while GCP credentials are pending: CI runs
  # `terraform init -backend=false` and the gates need no state. To activate
  # (see README.md, "Activate GCP"), uncomment this block. GCS locks state
  # natively (no lock table needed); turn on object versioning on the bucket
  # so a bad apply can be rolled back to the previous state generation.
  #
  # backend "gcs" {
  #   bucket = "gitops-infra-pipeline-tfstate-gcp"
  #   prefix = "gcp/dev"
  # }
}

################################################################################
# Provider
################################################################################

provider "google" {
  project = var.project_id
  region  = var.region

  # Every labelable resource gets these two labels. They are written as
  # literal strings (not a local or a variable) on purpose: the OPA tag policy
  # reads raw HCL, where only literals are visible.
  default_labels = {
    "managed-by"  = "terraform"
    "environment" = "dev"
  }
}

################################################################################
# Shared locals
################################################################################

locals {
  # The same pairs as default_labels, for the few label fields the provider
  # does not fill from default_labels (GKE node_config.resource_labels) and
  # to make the labels visible on the resources that matter most.
  labels = {
    "managed-by"  = "terraform"
    "environment" = "dev"
  }
}
