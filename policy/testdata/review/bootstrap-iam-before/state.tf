################################################################################
# State encryption key
################################################################################

locals {
  # The dev/prod backend blocks name this alias (kms_key_id): without it Terraform would send an
  # explicit SSE-S3 header and bypass the bucket's default key.
  state_kms_alias = "alias/gitops-infra-pipeline-tfstate"
}

# One customer-managed key for state objects, lock objects and the lock table (Trivy AWS-0132).
# Default key policy (account root, delegating to IAM): each deploy role gets use of the key,
# via S3 and DynamoDB only, in its tfbackendstate policy; the prod plan role only kms:Decrypt,
# via S3 only (iam_plan.tf).
resource "aws_kms_key" "state" {
  description             = "Terraform state of gitops-infra-pipeline (S3 objects and DynamoDB lock table)"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = {
    Name = "gitops-infra-pipeline-tfstate"
  }

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_kms_alias" "state" {
  name          = local.state_kms_alias
  target_key_id = aws_kms_key.state.key_id
}

################################################################################
# State bucket
################################################################################

resource "aws_s3_bucket" "state" {
  bucket = var.state_bucket_name

  tags = {
    Name = var.state_bucket_name
  }

  lifecycle {
    prevent_destroy = true
  }
}

# ACLs disabled: the bucket owner owns every object and access is decided by policies alone.
resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioning is the undo button for a corrupted or wrongly applied state (and recommended by
# Terraform for S3 lock files).
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }

    # S3 Bucket Keys cut KMS requests (and cost) for the many small lock-object writes.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-superseded-state-versions"
    status = "Enabled"

    # Whole bucket. An explicit empty prefix rather than `filter {}`, which recent 5.x/6.x
    # providers warn about ("Invalid Attribute Combination ... will be an error").
    filter {
      prefix = ""
    }

    noncurrent_version_expiration {
      noncurrent_days           = var.state_noncurrent_version_days
      newer_noncurrent_versions = 20
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # A lifecycle rule on noncurrent versions needs versioning in place first.
  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # A backend configured without kms_key_id sends an explicit AES256 header, which would store
  # state under SSE-S3 instead of the CMK. Fail that loudly instead of silently.
  statement {
    sid       = "DenySSES3Uploads"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["AES256"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  # PutBucketPolicy races with the public access block otherwise.
  depends_on = [aws_s3_bucket_public_access_block.state]
}

################################################################################
# Lock table
################################################################################

# Terraform's DynamoDB locking (deprecated since 1.11, still configured beside use_lockfile
# during the migration): lock items {LockID = "<bucket>/<key>"} and digest items
# {LockID = "<bucket>/<key>-md5"}.
resource "aws_dynamodb_table" "lock" {
  name         = var.lock_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.state.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  deletion_protection_enabled = true

  tags = {
    Name = var.lock_table_name
  }

  lifecycle {
    prevent_destroy = true
  }
}
