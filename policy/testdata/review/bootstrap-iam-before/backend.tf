################################################################################
# State of the bootstrap itself
################################################################################

# No backend block on purpose: this root creates the S3 bucket and lock table that every other
# root stores its state in, so its first apply can only use local state (terraform.tfstate in
# this directory). Keep that file out of git (it lists ARNs and the account ID) and, after the
# first apply, move it into the bucket it created:
#
#   1. add to this file
#        terraform {
#          backend "s3" {
#            bucket       = "gitops-infra-pipeline-tfstate"
#            key          = "bootstrap/terraform.tfstate"
#            region       = "us-east-1"
#            encrypt      = true
#            kms_key_id   = "alias/gitops-infra-pipeline-tfstate"
#            use_lockfile = true
#          }
#        }
#   2. terraform init -migrate-state
#   3. delete the local terraform.tfstate*
#
# The deploy roles cannot read or write bootstrap/ (tfbackendstate is scoped to aws/<env>/), and
# the prod plan role reads aws/prod/terraform.tfstate only, so the CI roles can never change the
# IAM that constrains them. Apply this root with an admin session, never from the pipeline.
