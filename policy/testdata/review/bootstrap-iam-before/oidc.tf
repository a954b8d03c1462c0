################################################################################
# GitHub Actions OIDC provider
################################################################################

locals {
  github_oidc_url = "https://token.actions.githubusercontent.com"

  github_oidc_provider_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

# No thumbprint_list: AWS validates token.actions.githubusercontent.com against its own trusted
# CA store, and the argument is optional in provider 6.x.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = local.github_oidc_url
  client_id_list = ["sts.amazonaws.com"]

  tags = {
    Name = "github-actions"
  }
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1

  url = local.github_oidc_url
}
