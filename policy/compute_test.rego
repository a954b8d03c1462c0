# METADATA
# title: Tests for terraform.compute (approved instance types)
# description: >-
#   Runs against the shipped policy/data/approved_instance_types.yaml (opa test policy/ and
#   conftest verify -p policy -d policy/data both load it).
package terraform.compute_test

import data.terraform.compute as policy

# --- helpers --------------------------------------------------------------------------------

plan(type, name, after) := plan_with_unknown(type, name, after, {})

plan_with_unknown(type, name, after, unknown) := {"resource_changes": [{
	"address": sprintf("%s.%s", [type, name]),
	"mode": "managed",
	"type": type,
	"name": name,
	"change": {"actions": ["create"], "after": after, "after_unknown": unknown},
}]}

hcl(type, name, block) := {"resource": {type: {name: [block]}}}

# --- the shipped list -----------------------------------------------------------------------

test_success_shipped_list if {
	policy.approved_instance_types == {
		"aws": ["t3.micro", "t3.small", "t3.medium"],
		"gcp": ["e2-micro", "e2-small", "e2-medium"],
		"azure": ["Standard_B1s", "Standard_B2s", "Standard_D2s_v5"],
	}
}

test_fail_list_not_loaded if {
	policy.deny == {"aws_instance.web: no approved AWS instance types are loaded, so instance_type cannot be checked; run conftest with --data policy/data"} with input as plan("aws_instance", "web", {"instance_type": "t3.micro"})
		with data.approved_instance_types as {}
}

# --- AWS ------------------------------------------------------------------------------------

test_success_plan_aws_instance_approved if {
	count(policy.deny) == 0 with input as plan("aws_instance", "web", {"instance_type": "t3.micro"})
}

test_fail_plan_aws_instance_not_approved if {
	policy.deny == {"aws_instance.web: instance_type \"t2.micro\" is not an approved AWS instance type; use one of t3.micro, t3.small, t3.medium (policy/data/approved_instance_types.yaml)"} with input as plan("aws_instance", "web", {"instance_type": "t2.micro"})
}

test_fail_hcl_aws_instance_not_approved if {
	count(policy.deny) == 1 with input as hcl("aws_instance", "web", {"instance_type": "m5.large"})
}

test_fail_hcl_aws_instance_type_not_a_string if {
	count(policy.deny) == 1 with input as hcl("aws_instance", "web", {"instance_type": 5})
}

test_fail_hcl_aws_launch_template_not_approved if {
	count(policy.deny) == 1 with input as hcl("aws_launch_template", "nodes", {"instance_type": "c5.xlarge"})
}

test_success_hcl_aws_launch_template_without_instance_type if {
	count(policy.deny) == 0 with input as hcl("aws_launch_template", "nodes", {"image_id": "ami-1"})
	count(policy.warn) == 0 with input as hcl("aws_launch_template", "nodes", {"image_id": "ami-1"})
}

test_fail_plan_aws_eks_node_group_instance_types if {
	policy.deny == {"aws_eks_node_group.default: instance_types \"m5.large\" is not an approved AWS instance type; use one of t3.micro, t3.small, t3.medium (policy/data/approved_instance_types.yaml)"} with input as plan("aws_eks_node_group", "default", {"instance_types": ["t3.medium", "m5.large"]})
}

test_success_plan_aws_eks_node_group_default_instance_type if {
	# Unset instance_types is optional+computed: unknown in the plan, t3.medium at EKS.
	input_plan := plan_with_unknown("aws_eks_node_group", "default", {}, {"instance_types": true})
	count(policy.deny) == 0 with input as input_plan
	count(policy.warn) == 0 with input as input_plan
}

test_success_hcl_aws_eks_node_group_default_instance_type if {
	count(policy.deny) == 0 with input as hcl("aws_eks_node_group", "default", {"cluster_name": "c"})
}

test_fail_hcl_aws_eks_default_when_t3_medium_is_not_approved if {
	policy.deny == {"aws_eks_node_group.default: instance_types \"t3.medium\" is not an approved AWS instance type; use one of t3.micro (policy/data/approved_instance_types.yaml)"} with input as hcl("aws_eks_node_group", "default", {"cluster_name": "c"})
		with data.approved_instance_types as {"aws": ["t3.micro"]}
}

test_fail_combined_aws_instance_type_from_variable_default if {
	root := [
		{"path": "dev/variables.tf", "contents": {"variable": {"instance_type": [{"default": "t2.micro"}]}}},
		{"path": "dev/main.tf", "contents": {"resource": {"aws_instance": {"this": [{"instance_type": "${var.instance_type}"}]}}}},
	]
	policy.deny == {"aws_instance.this (dev/main.tf): instance_type \"t2.micro\" is not an approved AWS instance type; use one of t3.micro, t3.small, t3.medium (policy/data/approved_instance_types.yaml)"} with input as root
}

test_warn_hcl_aws_instance_type_unresolvable if {
	count(policy.deny) == 0 with input as hcl("aws_instance", "web", {"instance_type": "${var.instance_type}"})
	policy.warn == {"aws_instance.web: instance_type cannot be evaluated before apply, so it is not checked against the approved AWS instance types; use a literal or a variable default (the plan JSON gate checks the real value)"} with input as hcl("aws_instance", "web", {"instance_type": "${var.instance_type}"})
}

test_warn_hcl_aws_eks_instance_types_unresolvable if {
	count(policy.warn) == 1 with input as hcl("aws_eks_node_group", "default", {"instance_types": ["${var.node_type}"]})
}

test_warn_plan_aws_instance_type_unknown if {
	input_plan := plan_with_unknown("aws_instance", "web", {}, {"instance_type": true})
	count(policy.deny) == 0 with input as input_plan
	count(policy.warn) == 1 with input as input_plan
}

# --- GCP ------------------------------------------------------------------------------------

test_success_plan_gcp_instance_approved if {
	count(policy.deny) == 0 with input as plan("google_compute_instance", "vm", {"machine_type": "e2-micro"})
}

test_fail_plan_gcp_instance_not_approved if {
	policy.deny == {"google_compute_instance.vm: machine_type \"n2-standard-2\" is not an approved GCP instance type; use one of e2-micro, e2-small, e2-medium (policy/data/approved_instance_types.yaml)"} with input as plan("google_compute_instance", "vm", {"machine_type": "n2-standard-2"})
}

test_fail_hcl_gcp_instance_template_not_approved if {
	count(policy.deny) == 1 with input as hcl("google_compute_instance_template", "t", {"machine_type": "e2-standard-4"})
}

test_fail_plan_gcp_node_pool_machine_type if {
	policy.deny == {"google_container_node_pool.pool: node_config.machine_type \"n2-standard-4\" is not an approved GCP instance type; use one of e2-micro, e2-small, e2-medium (policy/data/approved_instance_types.yaml)"} with input as plan("google_container_node_pool", "pool", {"node_config": [{"machine_type": "n2-standard-4"}]})
}

test_success_gcp_node_pool_default_machine_type if {
	count(policy.deny) == 0 with input as hcl("google_container_node_pool", "pool", {"node_count": 1})
	count(policy.deny) == 0 with input as hcl("google_container_node_pool", "pool", {"node_config": [{"disk_size_gb": 50}]})
	count(policy.deny) == 0 with input as plan_with_unknown("google_container_node_pool", "pool", {"node_config": [{}]}, {"node_config": [{"machine_type": true}]})
}

test_fail_gcp_node_pool_default_when_e2_medium_is_not_approved if {
	count(policy.deny) == 1 with input as hcl("google_container_node_pool", "pool", {"node_count": 1})
		with data.approved_instance_types as {"gcp": ["e2-small"]}
}

test_fail_hcl_gcp_cluster_node_config if {
	count(policy.deny) == 1 with input as hcl("google_container_cluster", "gke", {"node_config": [{"machine_type": "n1-standard-1"}]})
}

test_fail_hcl_gcp_cluster_inline_node_pool if {
	block := {"node_pool": [{"name": "p", "node_config": [{"machine_type": "c2-standard-8"}]}]}
	policy.deny == {"google_container_cluster.gke: node_pool.node_config.machine_type \"c2-standard-8\" is not an approved GCP instance type; use one of e2-micro, e2-small, e2-medium (policy/data/approved_instance_types.yaml)"} with input as hcl("google_container_cluster", "gke", block)
}

test_success_hcl_gcp_cluster_without_node_config if {
	count(policy.deny) == 0 with input as hcl("google_container_cluster", "gke", {"remove_default_node_pool": true, "initial_node_count": 1})
	count(policy.warn) == 0 with input as hcl("google_container_cluster", "gke", {"remove_default_node_pool": true, "initial_node_count": 1})
}

test_warn_hcl_gcp_node_pool_machine_type_unresolvable if {
	count(policy.deny) == 0 with input as hcl("google_container_node_pool", "pool", {"node_config": [{"machine_type": "${var.machine_type}"}]})
	count(policy.warn) == 1 with input as hcl("google_container_node_pool", "pool", {"node_config": [{"machine_type": "${var.machine_type}"}]})
}

# --- Azure ----------------------------------------------------------------------------------

test_success_plan_azure_linux_vm_approved if {
	count(policy.deny) == 0 with input as plan("azurerm_linux_virtual_machine", "vm", {"size": "Standard_B1s"})
}

test_success_azure_sizes_compare_case_insensitively if {
	count(policy.deny) == 0 with input as hcl("azurerm_linux_virtual_machine", "vm", {"size": "standard_b1s"})
}

test_fail_plan_azure_linux_vm_not_approved if {
	policy.deny == {"azurerm_linux_virtual_machine.vm: size \"Standard_D4s_v5\" is not an approved Azure instance type; use one of Standard_B1s, Standard_B2s, Standard_D2s_v5 (policy/data/approved_instance_types.yaml)"} with input as plan("azurerm_linux_virtual_machine", "vm", {"size": "Standard_D4s_v5"})
}

test_fail_hcl_azure_other_vm_kinds if {
	count(policy.deny) == 1 with input as hcl("azurerm_windows_virtual_machine", "vm", {"size": "Standard_E2s_v5"})
	count(policy.deny) == 1 with input as hcl("azurerm_virtual_machine", "vm", {"vm_size": "Standard_A1_v2"})
	count(policy.deny) == 1 with input as hcl("azurerm_linux_virtual_machine_scale_set", "vmss", {"sku": "Standard_F2s_v2"})
}

test_fail_plan_azure_aks_default_node_pool if {
	policy.deny == {"azurerm_kubernetes_cluster.aks: default_node_pool.vm_size \"Standard_D8s_v5\" is not an approved Azure instance type; use one of Standard_B1s, Standard_B2s, Standard_D2s_v5 (policy/data/approved_instance_types.yaml)"} with input as plan("azurerm_kubernetes_cluster", "aks", {"default_node_pool": [{"name": "system", "vm_size": "Standard_D8s_v5"}]})
}

test_success_plan_azure_aks_default_node_pool if {
	count(policy.deny) == 0 with input as plan("azurerm_kubernetes_cluster", "aks", {"default_node_pool": [{"name": "system", "vm_size": "Standard_D2s_v5"}]})
}

test_fail_hcl_azure_aks_node_pool if {
	count(policy.deny) == 1 with input as hcl("azurerm_kubernetes_cluster_node_pool", "user", {"vm_size": "Standard_NC6s_v3"})
}

test_success_combined_azure_sizes_from_variable_defaults if {
	root := [
		{"path": "azure/variables.tf", "contents": {"variable": {
			"vm_size": [{"default": "Standard_B1s"}],
			"aks_vm_size": [{"default": "Standard_B2s"}],
		}}},
		{"path": "azure/main.tf", "contents": {"resource": {
			"azurerm_linux_virtual_machine": {"this": [{"count": "${var.vm_count}", "size": "${var.vm_size}"}]},
			"azurerm_kubernetes_cluster": {"this": [{"default_node_pool": [{"vm_size": "${var.aks_vm_size}"}]}]},
		}}},
	]
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_warn_plan_azure_size_unknown if {
	input_plan := plan_with_unknown("azurerm_kubernetes_cluster_node_pool", "user", {}, {"vm_size": true})
	count(policy.warn) == 1 with input as input_plan
}
