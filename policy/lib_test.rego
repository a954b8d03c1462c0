# METADATA
# title: Tests for terraform.lib (input shapes, references, attribute access)
package terraform.lib_test

import data.terraform.lib

# --- fixtures -------------------------------------------------------------------------------

plan := {"resource_changes": [
	{
		"address": "aws_vpc.main",
		"mode": "managed",
		"type": "aws_vpc",
		"name": "main",
		"change": {"actions": ["create"], "after": {"cidr_block": "10.0.0.0/16"}, "after_unknown": {"id": true}},
	},
	{
		"address": "module.eks.aws_eks_cluster.this[0]",
		"mode": "managed",
		"type": "aws_eks_cluster",
		"name": "this",
		"change": {"actions": ["delete", "create"], "after": {"name": "x"}, "after_unknown": {}},
	},
	{
		"address": "aws_subnet.a",
		"mode": "managed",
		"type": "aws_subnet",
		"name": "a",
		"change": {"actions": ["update"], "after": {}, "after_unknown": {}},
	},
	{
		"address": "aws_subnet.gone",
		"mode": "managed",
		"type": "aws_subnet",
		"name": "gone",
		"change": {"actions": ["delete"], "after": null, "after_unknown": {}},
	},
	{
		"address": "aws_subnet.same",
		"mode": "managed",
		"type": "aws_subnet",
		"name": "same",
		"change": {"actions": ["no-op"], "after": {}, "after_unknown": {}},
	},
	{
		"address": "data.aws_ami.al2023",
		"mode": "data",
		"type": "aws_ami",
		"name": "al2023",
		"change": {"actions": ["read"], "after": {}, "after_unknown": {}},
	},
]}

single_file := {
	"resource": {"aws_vpc": {"main": [{"cidr_block": "10.0.0.0/16"}]}},
	"data": {"aws_ami": {"al2023": [{"owners": ["amazon"]}]}},
	"variable": {"cidr": [{"default": "10.1.0.0/16"}]},
}

combined := [
	{"path": "envs/dev/variables.tf", "contents": {"variable": {
		"ssh_cidr": [{"default": "0.0.0.0/0", "type": "${string}"}],
		"no_default": [{"type": "${string}"}],
		"null_default": [{"default": null}],
	}}},
	{"path": "envs/dev/locals.tf", "contents": {"locals": [
		{"admin_cidr": "${var.ssh_cidr}"},
		{"chained": "${local.admin_cidr}"},
	]}},
	{"path": "envs/dev/main.tf", "contents": {"resource": {"aws_vpc": {"main": [{"cidr_block": "10.0.0.0/16"}]}}}},
	{"path": "envs/prod/main.tf", "contents": {"resource": {"aws_vpc": {"main": [{"cidr_block": "10.2.0.0/16"}]}}}},
	{"path": "envs/dev/.terraform/modules/vpc/main.tf", "contents": {"resource": {"aws_vpc": {"module": [{}]}}}},
	{"path": "envs/dev/.terraform.lock.hcl", "contents": {"provider": {"registry.terraform.io/hashicorp/aws": [{"version": "6.28.0"}]}}},
	{"path": "envs/dev/dev.tfvars", "contents": {"ssh_cidr": "10.0.0.0/8"}},
	{"path": "envs/dev/tfplan.json", "contents": {"resource_changes": [{
		"address": "aws_subnet.from_plan",
		"mode": "managed",
		"type": "aws_subnet",
		"name": "from_plan",
		"change": {"actions": ["create"], "after": {}, "after_unknown": {}},
	}]}},
]

hcl_node(values) := {"values": values, "unknown": {}, "dir": "envs/dev", "hcl": true}

plan_node(values, unknown) := {"values": values, "unknown": unknown, "dir": "", "hcl": false}

addresses := {res.address | some res in lib.resources}

# --- input shapes ---------------------------------------------------------------------------

test_success_plan_keeps_only_created_and_updated_managed_resources if {
	addresses == {"aws_vpc.main", "module.eks.aws_eks_cluster.this[0]", "aws_subnet.a"} with input as plan
}

test_success_plan_resource_carries_after_and_after_unknown if {
	some res in lib.resources with input as plan
	res.address == "aws_vpc.main"
	res == {
		"address": "aws_vpc.main",
		"label": "aws_vpc.main",
		"type": "aws_vpc",
		"name": "main",
		"cloud": "aws",
		"hcl": false,
		"dir": "",
		"values": {"cidr_block": "10.0.0.0/16"},
		"unknown": {"id": true},
		"refs": {},
	}
}

test_success_single_hcl_file_uses_type_dot_name if {
	lib.resources == {{
		"address": "aws_vpc.main",
		"label": "aws_vpc.main",
		"type": "aws_vpc",
		"name": "main",
		"cloud": "aws",
		"hcl": true,
		"dir": "",
		"values": {"cidr_block": "10.0.0.0/16"},
		"unknown": {},
		"refs": {},
	}} with input as single_file
}

test_success_combined_labels_name_the_file if {
	labels := {res.label | some res in lib.resources} with input as combined
	labels == {
		"aws_vpc.main (envs/dev/main.tf)",
		"aws_vpc.main (envs/prod/main.tf)",
		"aws_subnet.from_plan",
	}
}

test_success_combined_skips_terraform_cache_and_non_tf_files if {
	paths := {doc.path | some doc in lib.hcl_documents} with input as combined
	paths == {"envs/dev/variables.tf", "envs/dev/locals.tf", "envs/dev/main.tf", "envs/prod/main.tf"}
}

test_success_combined_groups_by_directory if {
	lib.hcl_dirs == {"envs/dev", "envs/prod"} with input as combined
}

test_success_dirname if {
	lib.dirname("a/b/c.tf") == "a/b"
	lib.dirname("c.tf") == ""
}

test_success_cloud_of if {
	lib.cloud_of("aws_instance") == "aws"
	lib.cloud_of("google_compute_instance") == "gcp"
	lib.cloud_of("azurerm_linux_virtual_machine") == "azure"
	lib.cloud_of("random_id") == "other"
}

# --- references -----------------------------------------------------------------------------

test_success_resolves_variable_default if {
	lib.resolve("envs/dev", "${var.ssh_cidr}") == "0.0.0.0/0" with input as combined
}

test_success_resolves_chained_locals if {
	lib.resolve("envs/dev", "${local.chained}") == "0.0.0.0/0" with input as combined
}

test_success_keeps_unresolvable_references if {
	lib.resolve("envs/dev", "${var.no_default}") == "${var.no_default}" with input as combined
	lib.resolve("envs/prod", "${var.ssh_cidr}") == "${var.ssh_cidr}" with input as combined
	lib.resolve("envs/dev", "${aws_vpc.main.id}") == "${aws_vpc.main.id}" with input as combined
}

test_success_resolves_in_single_file if {
	lib.resolve("", "${var.cidr}") == "10.1.0.0/16" with input as single_file
}

test_success_reference_name if {
	lib.reference_name("${local.tags}") == "local.tags"
	not lib.reference_name("${merge(local.tags, {})}")
	not lib.reference_name("prefix-${var.x}")
}

test_success_is_unresolved if {
	lib.is_unresolved("${var.x}-suffix")
	not lib.is_unresolved("10.0.0.0/8")
	not lib.is_unresolved(22)
}

# --- attribute access -----------------------------------------------------------------------

test_success_value_resolves_hcl_and_drops_null_and_unknown if {
	node := hcl_node({"a": "${var.ssh_cidr}", "b": "${var.no_default}", "c": "${var.null_default}"})
	lib.value(node, "a") == "0.0.0.0/0" with input as combined
	not lib.value(node, "b") with input as combined
	not lib.value(node, "c") with input as combined
	lib.unknown(node, "b") with input as combined
	not lib.unknown(node, "a") with input as combined
}

test_success_unknown_in_plan if {
	node := plan_node({"a": 1}, {"b": true})
	lib.unknown(node, "b")
	not lib.unknown(node, "a")
	lib.unknown(plan_node({}, true), "anything")
}

test_success_items_of_lists_and_scalars if {
	node := hcl_node({"list": ["10.0.0.0/8", "${var.ssh_cidr}", "${var.no_default}", "", null], "one": "${local.admin_cidr}"})
	lib.items(node, "list") == {"10.0.0.0/8", "0.0.0.0/0"} with input as combined
	lib.items(node, "one") == {"0.0.0.0/0"} with input as combined
	lib.items(node, "absent") == set() with input as combined
	lib.unknown_items(node, "list") with input as combined
	not lib.unknown_items(node, "one") with input as combined
	lib.is_unknown_items(node, "list") == true with input as combined
	lib.is_unknown_items(node, "one") == false with input as combined
}

test_success_items_unknown_in_plan_lists if {
	node := plan_node({"cidrs": ["10.0.0.0/8", null]}, {"cidrs": [false, true]})
	lib.items(node, "cidrs") == {"10.0.0.0/8"}
	lib.unknown_items(node, "cidrs")
	not lib.unknown_items(plan_node({"cidrs": ["10.0.0.0/8"]}, {"cidrs": [false]}), "cidrs")
}

test_success_blocks_carry_their_slice_of_after_unknown if {
	node := plan_node({"ingress": [{"from_port": 22}, {"from_port": 80}]}, {"ingress": [{"cidr_blocks": true}, {}]})
	children := lib.blocks(node, "ingress")
	children[0].unknown == {"cidr_blocks": true}
	children[1].unknown == {}
	children[1].values == {"from_port": 80}
}

test_success_unknown_blocks if {
	lib.unknown_blocks(plan_node({}, {"ingress": true}), "ingress")
	lib.unknown_blocks(hcl_node({"dynamic": {"ingress": [{"for_each": "${var.rules}"}]}}), "ingress")
	lib.unknown_blocks(hcl_node({"ingress": "${var.rules}"}), "ingress")
	not lib.unknown_blocks(hcl_node({"ingress": [{}]}), "ingress")
}

# --- Terraform JSON syntax ------------------------------------------------------------------

json_syntax := {
	"resource": [
		{"aws_vpc": {"main": {"cidr_block": "10.0.0.0/16"}}},
		{"aws_vpc": {"other": [{"cidr_block": "10.1.0.0/16"}, {"cidr_block": "10.2.0.0/16"}]}, "//": "comment"},
	],
	"variable": {"cidr": {"default": "10.3.0.0/16"}},
	"locals": {"name": "x"},
	"provider": {"aws": {"region": "us-east-1", "default_tags": {"tags": {"environment": "dev"}}}},
	"output": {"id": {"value": "${aws_vpc.main.id}"}},
}

test_success_json_syntax_normalised_to_the_hcl2_shape if {
	normalised := lib.terraform_syntax(json_syntax)
	normalised.resource == {"aws_vpc": {
		"main": [{"cidr_block": "10.0.0.0/16"}],
		"other": [{"cidr_block": "10.1.0.0/16"}, {"cidr_block": "10.2.0.0/16"}],
	}}
	normalised.variable == {"cidr": [{"default": "10.3.0.0/16"}]}
	normalised.locals == [{"name": "x"}]
	normalised.provider == {"aws": [{"region": "us-east-1", "default_tags": [{"tags": {"environment": "dev"}}]}]}
	normalised.output == {"id": [{"value": "${aws_vpc.main.id}"}]}
}

test_success_hcl2_shape_passes_through_unchanged if {
	lib.terraform_syntax(single_file) == single_file
	lib.terraform_syntax(combined[1].contents) == combined[1].contents
}

test_success_tf_json_files_are_configuration if {
	files := [
		{"path": "r/main.tf.json", "contents": json_syntax},
		{"path": "r/package.json", "contents": {"resource": {"aws_vpc": {"ignored": {}}}}},
	]
	addresses == {"aws_vpc.main", "aws_vpc.other"} with input as files
	lib.resolve("r", "${var.cidr}") == "10.3.0.0/16" with input as files
	lib.resolve("r", "${local.name}") == "x" with input as files
}

# --- plan JSON: configuration references ---------------------------------------------------

referencing_plan := {
	"resource_changes": [{
		"address": "module.net[\"a\"].aws_security_group_rule.ssh[0]",
		"module_address": "module.net[\"a\"]",
		"mode": "managed",
		"type": "aws_security_group_rule",
		"name": "ssh",
		"change": {"actions": ["create"], "after": {}, "after_unknown": {"security_group_id": true}},
	}],
	"configuration": {"root_module": {"module_calls": {"net": {"module": {"resources": [{
		"address": "aws_security_group_rule.ssh",
		"mode": "managed",
		"type": "aws_security_group_rule",
		"name": "ssh",
		"expressions": {
			"security_group_id": {"references": ["aws_security_group.web.id", "aws_security_group.web"]},
			"description": {"constant_value": "x"},
		},
	}]}}}}},
}

test_success_plan_references_qualified_with_the_module if {
	some res in lib.resources with input as referencing_plan
	res.refs == {"security_group_id": ["module.net.aws_security_group.web.id", "module.net.aws_security_group.web"]}
	lib.referenced_resource(res, "security_group_id", ["aws_security_group"]) == "|module.net.aws_security_group.web"
	not lib.referenced_resource(res, "security_group_id", ["aws_default_security_group"])
	lib.resource_key(res) == "|module.net.aws_security_group_rule.ssh"
}

test_success_hcl_referenced_resource if {
	node := hcl_node({"a": "${aws_security_group.web.id}", "b": "${aws_security_group.web[0].id}", "c": "sg-1", "d": "${var.sg}"})
	lib.referenced_resource(node, "a", ["aws_security_group"]) == "envs/dev|aws_security_group.web"
	lib.referenced_resource(node, "b", ["aws_security_group"]) == "envs/dev|aws_security_group.web"
	not lib.referenced_resource(node, "c", ["aws_security_group"])
	not lib.referenced_resource(node, "d", ["aws_security_group"])
}

# --- dynamic blocks -------------------------------------------------------------------------

dynamic_node(for_each, extra) := hcl_node({"dynamic": {"ingress": [object.union(
	{"for_each": for_each, "content": [{"port": "${ingress.value.port}", "whole": "${ingress.value}", "key": "${ingress.key}", "other": "${ingress.value.port}-x"}]},
	extra,
)]}})

test_success_dynamic_blocks_expand_literal_collections if {
	[one, two] := lib.blocks(dynamic_node([{"port": 22}, {"port": 80}], {}), "ingress") with input as combined
	one.values == {"port": 22, "whole": {"port": 22}, "key": 0, "other": "${ingress.value.port}-x"}
	two.values.port == 80
	[by_key] := lib.blocks(dynamic_node({"ssh": {"port": 22}}, {}), "ingress") with input as combined
	by_key.values.key == "ssh"
	[a, b] := lib.blocks(dynamic_node("${toset([\"x\", \"y\"])}", {}), "ingress") with input as combined
	[a.values.whole, b.values.whole] == ["x", "y"]
	not lib.unknown_blocks(dynamic_node([], {}), "ingress") with input as combined
}

test_success_dynamic_blocks_with_iterator_and_written_blocks if {
	node := hcl_node({
		"ingress": [{"port": 1}],
		"dynamic": {"ingress": [{"for_each": [5], "iterator": "${rule}", "content": [{"port": "${rule.value}"}]}]},
	})
	[{"port": 1}, {"port": 5}] == [b.values | some b in lib.blocks(node, "ingress")]
}

test_success_dynamic_blocks_that_cannot_be_expanded if {
	lib.unknown_blocks(dynamic_node("${var.no_default}", {}), "ingress") with input as combined
	lib.unknown_blocks(dynamic_node("${[for p in var.ports : p]}", {}), "ingress") with input as combined
	lib.unknown_blocks(hcl_node({"dynamic": {"ingress": [{"content": [{}]}]}}), "ingress") with input as combined
	lib.blocks(dynamic_node("${var.no_default}", {}), "ingress") == [] with input as combined
}
