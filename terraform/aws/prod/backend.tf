################################################################################
# Remote state
################################################################################

# The bucket, lock table and KMS key are created once by terraform/bootstrap.
#
# Locking: Terraform 1.11 deprecated DynamoDB locking in favour of an S3 lock object
# (<key>.tflock, written with If-None-Match). Setting BOTH is the supported migration path:
# Terraform takes the S3 lock first, then the DynamoDB lock, and a run only proceeds if both
# succeed, so runners still on the DynamoDB-only config and runners on this config exclude each
# other. Drop dynamodb_table once every consumer (CI, the ChatOps bot's /unlock) reads .tflock.
#
# Encryption: with encrypt = true and no kms_key_id, Terraform sends an explicit SSE-S3 (AES256)
# header, which overrides the bucket's default customer-managed key. Naming the key alias keeps
# state and lock objects under the CMK (the bucket policy rejects explicit AES256 uploads).
terraform {
  backend "s3" {
    bucket         = "gitops-infra-pipeline-tfstate"
    key            = "aws/prod/terraform.tfstate"
    region         = "us-east-1"
    encrypt        = true
    kms_key_id     = "alias/gitops-infra-pipeline-tfstate"
    use_lockfile   = true
    dynamodb_table = "gitops-infra-pipeline-tflock"
  }
}
