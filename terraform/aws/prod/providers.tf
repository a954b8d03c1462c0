################################################################################
# Versions
################################################################################

terraform {
  # 1.11 is the first release where S3-native state locking (use_lockfile) is GA.
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

  # Literal strings on purpose: the OPA tag policy and TFLint read this block from raw HCL,
  # where a variable would only be the string "${var.environment}".
  default_tags {
    tags = {
      "managed-by"  = "terraform"
      "environment" = "prod"
      "project"     = "gitops-infra-pipeline"
    }
  }
}
