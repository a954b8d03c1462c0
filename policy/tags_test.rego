# METADATA
# title: Tests for terraform.tags (required tags managed-by and environment)
package terraform.tags_test

import data.terraform.tags as policy

# --- helpers --------------------------------------------------------------------------------

# A plan JSON with one change per [type, name, after, after_unknown].
plan(changes) := {"resource_changes": [change |
	some [type, name, after, unknown] in changes
	change := {
		"address": sprintf("%s.%s", [type, name]),
		"mode": "managed",
		"type": type,
		"name": name,
		"change": {"actions": ["create"], "after": after, "after_unknown": unknown},
	}
]}

good_tags := {"managed-by": "terraform", "environment": "dev"}

aws_provider_with_default_tags := {"aws": [{
	"region": "us-east-1",
	"default_tags": [{"tags": good_tags}],
}]}

# --- plan JSON: AWS -------------------------------------------------------------------------

test_success_plan_aws_tags_all_from_default_tags if {
	count(policy.deny) == 0 with input as plan([["aws_instance", "web", {"tags": null, "tags_all": good_tags}, {}]])
	count(policy.warn) == 0 with input as plan([["aws_instance", "web", {"tags": null, "tags_all": good_tags}, {}]])
}

test_fail_plan_aws_missing_environment if {
	policy.deny == {"aws_instance.web: missing required tags environment; add them to default_tags in the provider \"aws\" block or to the resource's tags"} with input as plan([["aws_instance", "web", {"tags": {"Name": "web"}, "tags_all": {"Name": "web", "managed-by": "terraform"}}, {}]])
}

test_fail_plan_aws_empty_value_counts_as_missing if {
	policy.deny == {"aws_s3_bucket.state: missing required tags managed-by; add them to default_tags in the provider \"aws\" block or to the resource's tags"} with input as plan([["aws_s3_bucket", "state", {"tags_all": {"managed-by": "", "environment": "prod"}}, {}]])
}

test_fail_plan_aws_taggable_type_without_tag_attributes if {
	count(policy.deny) == 1 with input as plan([["aws_vpc", "main", {"cidr_block": "10.0.0.0/16"}, {}]])
}

test_warn_plan_aws_tags_all_unknown if {
	changes := [["aws_instance", "web", {"tags": {"Name": "web"}}, {"tags_all": true}]]
	count(policy.deny) == 0 with input as plan(changes)
	policy.warn == {"aws_instance.web: tags are unknown until apply (after_unknown), so required tags environment, managed-by are not verified; make every tag value known at plan time"} with input as plan(changes)
}

test_warn_plan_aws_one_tag_value_unknown if {
	changes := [["aws_instance", "web", {"tags_all": {"managed-by": "terraform"}}, {"tags_all": {"environment": true}}]]
	count(policy.deny) == 0 with input as plan(changes)
	count(policy.warn) == 1 with input as plan(changes)
}

test_success_plan_aws_unknown_tags_but_required_known if {
	changes := [["aws_instance", "web", {"tags_all": good_tags}, {"tags_all": {"Name": true}}]]
	count(policy.deny) == 0 with input as plan(changes)
	count(policy.warn) == 0 with input as plan(changes)
}

test_success_plan_non_taggable_types_are_ignored if {
	changes := [
		["aws_route_table_association", "a", {"subnet_id": "subnet-1"}, {}],
		["aws_iam_role_policy", "p", {"policy": "{}"}, {}],
		["aws_eks_access_policy_association", "admin", {"policy_arn": "arn"}, {}],
		["google_project_iam_member", "m", {"role": "roles/viewer"}, {}],
		["azurerm_subnet_network_security_group_association", "a", {"subnet_id": "x"}, {}],
	]
	count(policy.deny) == 0 with input as plan(changes)
	count(policy.warn) == 0 with input as plan(changes)
}

test_success_plan_ignores_data_sources_and_deletes if {
	input_plan := {"resource_changes": [
		{"address": "data.aws_ami.x", "mode": "data", "type": "aws_ami", "name": "x", "change": {"actions": ["read"], "after": {"tags": {}}}},
		{"address": "aws_vpc.old", "mode": "managed", "type": "aws_vpc", "name": "old", "change": {"actions": ["delete"], "after": null}},
	]}
	count(policy.deny) == 0 with input as input_plan
}

test_fail_plan_aws_vpc_security_group_rule_is_taggable if {
	count(policy.deny) == 1 with input as plan([["aws_vpc_security_group_ingress_rule", "https", {"tags": null, "tags_all": {}}, {}]])
}

# --- plan JSON: GCP -------------------------------------------------------------------------

test_success_plan_gcp_terraform_labels_include_default_labels if {
	after := {"labels": {"app": "web"}, "terraform_labels": {"app": "web", "managed-by": "terraform", "environment": "dev"}, "effective_labels": {"app": "web", "managed-by": "terraform", "environment": "dev", "goog-terraform-provisioned": "true"}}
	count(policy.deny) == 0 with input as plan([["google_compute_instance", "vm", after, {}]])
}

test_fail_plan_gcp_missing_labels if {
	after := {"labels": null, "terraform_labels": {"managed-by": "terraform"}, "effective_labels": {"managed-by": "terraform"}}
	policy.deny == {"google_compute_instance.vm: missing required labels environment; add them to default_labels in the provider \"google\" block or to the resource's labels (resource_labels on google_container_cluster)"} with input as plan([["google_compute_instance", "vm", after, {}]])
}

test_fail_plan_gcp_cluster_resource_labels if {
	count(policy.deny) == 1 with input as plan([["google_container_cluster", "gke", {"resource_labels": {"environment": "dev"}, "terraform_labels": {"environment": "dev"}}, {}]])
}

test_warn_plan_gcp_labels_unknown if {
	changes := [["google_storage_bucket", "b", {"labels": null}, {"terraform_labels": true, "effective_labels": true}]]
	count(policy.deny) == 0 with input as plan(changes)
	count(policy.warn) == 1 with input as plan(changes)
}

test_success_plan_gcp_labels_that_are_not_resource_labels if {
	# google_monitoring_notification_channel.labels is channel configuration: no terraform_labels.
	count(policy.deny) == 0 with input as plan([["google_monitoring_notification_channel", "email", {"labels": {"email_address": "ops@example.com"}}, {}]])
}

# --- plan JSON: Azure -----------------------------------------------------------------------

test_success_plan_azure_tags if {
	count(policy.deny) == 0 with input as plan([["azurerm_resource_group", "rg", {"tags": good_tags}, {}]])
}

test_fail_plan_azure_missing_tags if {
	policy.deny == {"azurerm_resource_group.rg: missing required tags environment, managed-by; add them to the resource's tags (azurerm has no provider default tags; e.g. tags = local.tags)"} with input as plan([["azurerm_resource_group", "rg", {"tags": {}}, {}]])
}

test_warn_plan_azure_tags_unknown if {
	changes := [["azurerm_kubernetes_cluster", "aks", {}, {"tags": true}]]
	count(policy.deny) == 0 with input as plan(changes)
	count(policy.warn) == 1 with input as plan(changes)
}

# --- HCL, one file (conftest test main.tf) --------------------------------------------------

test_success_hcl_single_file_aws_with_provider_in_same_file if {
	hcl := {"provider": aws_provider_with_default_tags, "resource": {"aws_instance": {"web": [{"instance_type": "t3.micro"}]}}}
	count(policy.deny) == 0 with input as hcl
	count(policy.warn) == 0 with input as hcl
}

test_warn_hcl_single_file_aws_provider_not_visible if {
	hcl := {"resource": {"aws_instance": {"web": [{"tags": {"Name": "web"}}]}}}
	count(policy.deny) == 0 with input as hcl
	policy.warn == {"aws_instance.web: required tags environment, managed-by are missing unless the provider \"aws\" block adds them, and that block is not in this input; run conftest test --combine on the whole Terraform root directory"} with input as hcl
}

test_success_hcl_single_file_aws_resource_tags_suffice if {
	hcl := {"resource": {"aws_instance": {"web": [{"tags": good_tags}]}}}
	count(policy.deny) == 0 with input as hcl
	count(policy.warn) == 0 with input as hcl
}

test_fail_hcl_single_file_azure_literal_tags if {
	hcl := {"resource": {"azurerm_resource_group": {"rg": [{"tags": {"managed-by": "terraform"}}]}}}
	policy.deny == {"azurerm_resource_group.rg: missing required tags environment; add them to the resource's tags (azurerm has no provider default tags; e.g. tags = local.tags)"} with input as hcl
}

test_fail_hcl_single_file_azure_no_tags if {
	count(policy.deny) == 1 with input as {"resource": {"azurerm_virtual_network": {"vnet": [{"name": "vnet"}]}}}
}

test_warn_hcl_single_file_azure_local_defined_elsewhere if {
	hcl := {"resource": {"azurerm_resource_group": {"rg": [{"tags": "${local.tags}"}]}}}
	count(policy.deny) == 0 with input as hcl
	policy.warn == {"azurerm_resource_group.rg: cannot resolve tags = local.tags, so required tags environment, managed-by are not verified; use a literal map, a local, a variable default or merge() of those (the plan JSON gate checks the real values)"} with input as hcl
}

test_fail_hcl_single_file_gcp_provider_without_default_labels if {
	hcl := {
		"provider": {"google": [{"project": "p"}]},
		"resource": {"google_compute_instance": {"vm": [{"labels": {"environment": "dev"}}]}},
	}
	count(policy.deny) == 1 with input as hcl
}

# --- HCL, combined (conftest test --combine <root>) -----------------------------------------

aws_root(provider, resources) := [
	{"path": "terraform/aws/dev/providers.tf", "contents": {"provider": provider}},
	{"path": "terraform/aws/dev/main.tf", "contents": {"resource": resources}},
]

test_success_combined_aws_default_tags_in_providers_tf if {
	root := aws_root(aws_provider_with_default_tags, {
		"aws_instance": {"web": [{"tags": {"Name": "web"}}]},
		"aws_vpc": {"main": [{"cidr_block": "10.0.0.0/16"}]},
		"aws_vpc_security_group_ingress_rule": {"https": [{"from_port": 443}]},
	})
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_fail_combined_aws_provider_without_default_tags if {
	root := aws_root({"aws": [{"region": "us-east-1"}]}, {"aws_vpc": {"main": [{"tags": {"Name": "main"}}]}})
	policy.deny == {"aws_vpc.main (terraform/aws/dev/main.tf): missing required tags environment, managed-by; add them to default_tags in the provider \"aws\" block or to the resource's tags"} with input as root
}

test_fail_combined_aws_vpc_security_group_rules_are_taggable_old_style_rules_are_not if {
	root := aws_root({"aws": [{"region": "us-east-1"}]}, {
		"aws_vpc_security_group_ingress_rule": {"https": [{"from_port": 443, "to_port": 443}]},
		"aws_security_group_rule": {"https": [{"type": "ingress", "from_port": 443}]},
	})
	policy.deny == {"aws_vpc_security_group_ingress_rule.https (terraform/aws/dev/main.tf): missing required tags environment, managed-by; add them to default_tags in the provider \"aws\" block or to the resource's tags"} with input as root
}

test_fail_combined_aws_default_tags_missing_one_key if {
	provider := {"aws": [{"default_tags": [{"tags": {"managed-by": "terraform"}}]}]}
	count(policy.deny) == 1 with input as aws_root(provider, {"aws_subnet": {"a": [{}]}})
}

test_success_combined_aws_default_tags_from_a_local if {
	root := array.concat(
		aws_root({"aws": [{"default_tags": [{"tags": "${local.default_tags}"}]}]}, {"aws_subnet": {"a": [{}]}}),
		[{"path": "terraform/aws/dev/locals.tf", "contents": {"locals": [{"default_tags": good_tags}]}}],
	)
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_fail_combined_aws_aliased_provider_has_no_default_tags if {
	provider := {"aws": [
		{"default_tags": [{"tags": good_tags}]},
		{"alias": "use1", "region": "us-east-1"},
	]}
	resources := {"aws_acm_certificate": {
		"edge": [{"provider": "${aws.use1}", "domain_name": "example.com"}],
		"regional": [{"domain_name": "example.com"}],
	}}
	policy.deny == {"aws_acm_certificate.edge (terraform/aws/dev/main.tf): missing required tags environment, managed-by; add them to default_tags in the provider \"aws\" block or to the resource's tags"} with input as aws_root(provider, resources)
}

test_success_combined_non_taggable_types_without_any_tags if {
	resources := {
		"aws_route_table_association": {"a": [{"subnet_id": "${aws_subnet.a.id}"}]},
		"aws_iam_role_policy": {"p": [{"policy": "{}"}]},
		"aws_iam_role_policy_attachment": {"p": [{"role": "r"}]},
		"aws_eks_access_policy_association": {"admin": [{"policy_arn": "arn"}]},
		"aws_security_group_rule": {"r": [{"type": "egress"}]},
		"aws_kms_alias": {"a": [{"name": "alias/x"}]},
		"aws_route": {"r": [{"destination_cidr_block": "0.0.0.0/0"}]},
		"google_project_iam_member": {"m": [{"role": "roles/viewer"}]},
		"google_compute_firewall": {"f": [{"name": "f"}]},
		"google_container_node_pool": {"p": [{"name": "p"}]},
		"azurerm_subnet": {"s": [{"name": "s"}]},
		"azurerm_subnet_network_security_group_association": {"a": [{"subnet_id": "x"}]},
		"azurerm_role_assignment": {"r": [{"scope": "x"}]},
	}
	root := [{"path": "root/main.tf", "contents": {
		"resource": resources,
		"data": {"aws_ami": {"al2023": [{"owners": ["amazon"]}]}},
	}}]
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_success_combined_gcp_default_labels_plus_labels if {
	root := [
		{"path": "gcp/providers.tf", "contents": {"provider": {"google": [{"default_labels": {"managed-by": "terraform"}}]}}},
		{"path": "gcp/main.tf", "contents": {"resource": {
			"google_compute_instance": {"vm": [{"labels": {"environment": "dev"}}]},
			"google_container_cluster": {"gke": [{"resource_labels": {"environment": "dev"}}]},
		}}},
	]
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_fail_combined_gcp_bucket_without_environment if {
	root := [
		{"path": "gcp/providers.tf", "contents": {"provider": {"google": [{"default_labels": {"managed-by": "terraform"}}]}}},
		{"path": "gcp/main.tf", "contents": {"resource": {"google_storage_bucket": {"b": [{"name": "b"}]}}}},
	]
	policy.deny == {"google_storage_bucket.b (gcp/main.tf): missing required labels environment; add them to default_labels in the provider \"google\" block or to the resource's labels (resource_labels on google_container_cluster)"} with input as root
}

test_warn_combined_gcp_no_provider_block if {
	root := [{"path": "gcp/main.tf", "contents": {"resource": {"google_compute_disk": {"d": [{"labels": {"environment": "dev"}}]}}}}]
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 1 with input as root
}

azure_root(resources) := [
	{"path": "azure/locals.tf", "contents": {"locals": [{
		"tags": {"managed-by": "terraform", "environment": "${var.environment}", "project": "gitops"},
		"partial": {"managed-by": "terraform"},
		"merged": "${merge(local.partial, {\n    environment = \"dev\"\n  })}",
	}]}},
	{"path": "azure/variables.tf", "contents": {"variable": {
		"environment": [{"default": "dev"}],
		"tags": [{"default": good_tags, "type": "${map(string)}"}],
		"extra": [{"type": "${map(string)}"}],
	}}},
	{"path": "azure/main.tf", "contents": {"resource": resources}},
]

test_success_combined_azure_tags_from_local if {
	root := azure_root({"azurerm_resource_group": {"rg": [{"tags": "${local.tags}"}]}})
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_success_combined_azure_tags_from_merge_of_local_and_literal if {
	root := azure_root({
		"azurerm_virtual_network": {"vnet": [{"tags": "${merge(local.tags, {\n    Name = \"vnet-${var.name}\"\n    \"tier\" = \"network\"\n  })}"}]},
		"azurerm_public_ip": {"pip": [{"tags": "${merge(local.partial, { \"environment\" = \"dev\" })}"}]},
	})
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_success_combined_azure_tags_from_merge_of_merge_and_variable_default if {
	root := azure_root({
		"azurerm_network_security_group": {"nsg": [{"tags": "${local.merged}"}]},
		"azurerm_nat_gateway": {"nat": [{"tags": "${var.tags}"}]},
	})
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_fail_combined_azure_merge_without_required_keys if {
	root := azure_root({"azurerm_public_ip": {"pip": [{"tags": "${merge(local.partial, {Name = \"pip\"})}"}]}})
	policy.deny == {"azurerm_public_ip.pip (azure/main.tf): missing required tags environment; add them to the resource's tags (azurerm has no provider default tags; e.g. tags = local.tags)"} with input as root
}

test_warn_combined_azure_merge_with_unresolvable_argument if {
	root := azure_root({"azurerm_public_ip": {"pip": [{"tags": "${merge(local.partial, var.extra)}"}]}})
	count(policy.deny) == 0 with input as root
	policy.warn == {"azurerm_public_ip.pip (azure/main.tf): cannot resolve tags = merge(local.partial, var.extra), so required tags environment are not verified; use a literal map, a local, a variable default or merge() of those (the plan JSON gate checks the real values)"} with input as root
}

test_success_combined_azure_merge_with_unresolvable_argument_but_keys_present if {
	root := azure_root({"azurerm_public_ip": {"pip": [{"tags": "${merge(local.tags, var.extra)}"}]}})
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_warn_combined_azure_for_expression if {
	root := azure_root({"azurerm_storage_account": {"sa": [{"tags": "${{ for k, v in local.tags : k => v if k != \"project\" }}"}]}})
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 1 with input as root
}

test_success_combined_roots_are_separate if {
	# dev's default_tags do not leak into prod, which has none.
	root := [
		{"path": "aws/dev/providers.tf", "contents": {"provider": aws_provider_with_default_tags}},
		{"path": "aws/dev/main.tf", "contents": {"resource": {"aws_vpc": {"main": [{}]}}}},
		{"path": "aws/prod/providers.tf", "contents": {"provider": {"aws": [{"region": "eu-west-1"}]}}},
		{"path": "aws/prod/main.tf", "contents": {"resource": {"aws_vpc": {"main": [{}]}}}},
	]
	policy.deny == {"aws_vpc.main (aws/prod/main.tf): missing required tags environment, managed-by; add them to default_tags in the provider \"aws\" block or to the resource's tags"} with input as root
}

test_success_combined_skips_downloaded_modules if {
	root := array.concat(
		aws_root({"aws": [{"region": "us-east-1"}]}, {}),
		[{"path": "terraform/aws/dev/.terraform/modules/vpc/main.tf", "contents": {"resource": {"aws_vpc": {"this": [{}]}}}}],
	)
	count(policy.deny) == 0 with input as root
}

test_success_shorten_long_expressions if {
	policy.shorten(concat("", ["${", concat("", [x | some _ in numbers.range(1, 100); x := "a"]), "}"])) == concat("", [concat("", [x | some _ in numbers.range(1, 77); x := "a"]), "..."])
}
