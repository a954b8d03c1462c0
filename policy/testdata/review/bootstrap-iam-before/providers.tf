################################################################################
# Versions
################################################################################

terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.28"
    }
  }
}

################################################################################
# Provider
################################################################################

provider "aws" {
  region = var.region

  # Literal strings so OPA/TFLint can read them from raw HCL. These resources serve every
  # environment, hence "shared".
  default_tags {
    tags = {
      "managed-by"  = "terraform"
      "environment" = "shared"
      "project"     = "gitops-infra-pipeline"
    }
  }
}
