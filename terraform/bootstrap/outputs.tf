################################################################################
# State storage
################################################################################

output "state_bucket_name" {
  description = "S3 bucket holding Terraform state (backend \"bucket\")."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.state.arn
}

output "state_kms_key_arn" {
  description = "ARN of the customer-managed key encrypting state, lock files and the lock table."
  value       = aws_kms_key.state.arn
}

output "state_kms_key_alias" {
  description = "Alias of the state key (backend \"kms_key_id\")."
  value       = aws_kms_alias.state.name
}

output "lock_table_name" {
  description = "DynamoDB lock table (backend \"dynamodb_table\", deprecated but still configured)."
  value       = aws_dynamodb_table.lock.name
}

################################################################################
# GitHub OIDC and deploy roles
################################################################################

output "github_oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider the deploy roles trust."
  value       = local.github_oidc_provider_arn
}

output "deploy_role_arns" {
  description = "Deploy role ARN per environment: store each as the AWS_ROLE_ARN variable of the matching GitHub environment."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "deploy_role_subjects" {
  description = "OIDC sub claims each deploy role accepts (compare with the token when AssumeRoleWithWebIdentity is denied)."
  value       = { for env in var.environments : env => [for prefix in local.github_subject_prefixes : "${prefix}:environment:${env}"] }
}

output "workload_permissions_boundary_arn" {
  description = "Permissions boundary every role created by the dev/prod stacks must carry."
  value       = aws_iam_policy.workload_boundary.arn
}
