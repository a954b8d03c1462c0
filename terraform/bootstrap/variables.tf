################################################################################
# General
################################################################################

variable "region" {
  description = "AWS region of the state bucket and lock table. Must match the region in the dev/prod backend blocks."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like us-east-1 or us-gov-west-1."
  }
}

variable "environments" {
  description = "Environments that get a GitHub Actions deploy role (gitops-infra-deploy-<env>) scoped to their own state key and resources. Listing prod also creates the read-only prod plan role gitops-infra-plan-prod."
  type        = set(string)
  default     = ["dev", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : contains(["dev", "prod"], e)])
    error_message = "environments must be a non-empty subset of [\"dev\", \"prod\"] (the roots under terraform/aws/)."
  }
}

variable "deploy_instance_types" {
  description = "EC2 instance types the deploy roles may launch (ec2:InstanceType condition on RunInstances). Keep it equal to the aws list of policy/data/approved_instance_types.yaml: policy/iam.rego rejects anything outside that list."
  type        = list(string)
  default     = ["t3.micro", "t3.small", "t3.medium"]

  validation {
    condition     = length(var.deploy_instance_types) > 0 && alltrue([for t in var.deploy_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "deploy_instance_types must be a non-empty list of EC2 instance types such as t3.micro."
  }
}

################################################################################
# State storage
################################################################################

variable "state_bucket_name" {
  description = "Name of the S3 bucket holding every root's Terraform state. Must match the backend blocks."
  type        = string
  default     = "gitops-infra-pipeline-tfstate"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be 3-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit (no dots: they break virtual-host TLS)."
  }
}

variable "lock_table_name" {
  description = "Name of the DynamoDB lock table (hash key LockID). Deprecated by Terraform 1.11 in favour of S3 lock files; kept while both lock kinds are configured."
  type        = string
  default     = "gitops-infra-pipeline-tflock"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "lock_table_name must be 3-255 characters of letters, digits, underscore, hyphen or dot."
  }
}

variable "state_noncurrent_version_days" {
  description = "Days a superseded state version is kept before it expires (the 20 newest old versions are always kept)."
  type        = number
  default     = 90

  validation {
    condition     = var.state_noncurrent_version_days >= 7 && var.state_noncurrent_version_days <= 3650
    error_message = "state_noncurrent_version_days must be between 7 and 3650."
  }
}

################################################################################
# GitHub OIDC
################################################################################

variable "create_iam_audit_role" {
  description = "Create gitops-infra-iam-audit, the read-only role the workflow's policy job uses to run the AWS policy simulator against the deploy roles and boundaries (AWS_ROLE_ARN_IAM_AUDIT)."
  type        = bool
  default     = true
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider. Set false if the account already has one for token.actions.githubusercontent.com (there can be only one per URL); it is then looked up."
  type        = bool
  default     = true
}

variable "github_org" {
  description = "GitHub organization or user that owns the repository (the ORG in repo:ORG/REPO)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$", var.github_org))
    error_message = "github_org must be a valid GitHub account name (1-39 letters, digits or inner hyphens)."
  }
}

variable "github_repo" {
  description = "GitHub repository name (the REPO in repo:ORG/REPO)."
  type        = string
  default     = "gitops-infra-pipeline"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repo))
    error_message = "github_repo must be 1-100 letters, digits, dots, underscores or hyphens."
  }
}

variable "github_oidc_subject_format" {
  description = "Which OIDC sub claim the trust policies accept. \"immutable\" (repo:ORG@ORG_ID/REPO@REPO_ID:...) is what repositories created or renamed on or after 2026-07-15 (or opted in) send; \"legacy\" (repo:ORG/REPO:...) is what older ones send; \"both\" accepts either, for the switch-over."
  type        = string
  default     = "immutable"

  validation {
    condition     = contains(["legacy", "immutable", "both"], var.github_oidc_subject_format)
    error_message = "github_oidc_subject_format must be \"legacy\", \"immutable\" or \"both\"."
  }

  validation {
    condition     = var.github_oidc_subject_format == "legacy" || (var.github_org_id != null && var.github_repo_id != null)
    error_message = "The immutable subject form needs github_org_id and github_repo_id (gh api repos/ORG/REPO --jq '.owner.id, .id')."
  }
}

variable "github_org_id" {
  description = "Numeric ID of the GitHub organization or user (for the immutable subject form). Null when github_oidc_subject_format = \"legacy\"."
  type        = number
  default     = null

  validation {
    condition     = var.github_org_id == null || try(var.github_org_id > 0 && floor(var.github_org_id) == var.github_org_id, false)
    error_message = "github_org_id must be null or a positive integer."
  }
}

variable "github_repo_id" {
  description = "Numeric ID of the GitHub repository (for the immutable subject form). Null when github_oidc_subject_format = \"legacy\"."
  type        = number
  default     = null

  validation {
    condition     = var.github_repo_id == null || try(var.github_repo_id > 0 && floor(var.github_repo_id) == var.github_repo_id, false)
    error_message = "github_repo_id must be null or a positive integer."
  }
}
