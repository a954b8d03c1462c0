# TFLint configuration shared by every Terraform root (run with `tflint --recursive --config "$PWD/.tflint.hcl"`).
#
# Plugins are declared WITHOUT `source` and `version`: TFLint then loads the prebuilt
# tflint-ruleset-<name> binaries from TFLINT_PLUGIN_DIR (built by tools/install.sh) and never
# calls GitHub. The pinned ruleset versions live in tools/versions.env.
config {
  call_module_type = "local"
  format           = "compact"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

plugin "aws" {
  enabled = true
}

plugin "google" {
  enabled = true
}

plugin "azurerm" {
  enabled = true
}

# Every taggable AWS resource carries these tags (provider default_tags count).
rule "aws_resource_missing_tags" {
  enabled = true
  tags    = ["managed-by", "environment"]
}

rule "aws_provider_missing_default_tags" {
  enabled = true
  tags    = ["managed-by", "environment"]
}

# Naming and documentation discipline from HashiCorp's style guide.
rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_typed_variables" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = false # roots are split by concern (network.tf, eks.tf, ...), not the module main/variables/outputs trio
}
