# METADATA
# title: Tests for terraform.network (no SSH from anywhere)
package terraform.network_test

import data.terraform.network as policy

# --- helpers --------------------------------------------------------------------------------

# A plan JSON with one created resource.
plan(type, name, after) := plan_with_unknown(type, name, after, {})

plan_with_unknown(type, name, after, unknown) := {"resource_changes": [{
	"address": sprintf("%s.%s", [type, name]),
	"mode": "managed",
	"type": type,
	"name": name,
	"change": {"actions": ["create"], "after": after, "after_unknown": unknown},
}]}

# One HCL file holding one resource.
hcl(type, name, block) := {"resource": {type: {name: [block]}}}

ssh_ingress(cidrs) := {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": cidrs, "ipv6_cidr_blocks": []}

# --- AWS: aws_security_group inline ingress -------------------------------------------------

test_fail_plan_aws_inline_ssh_from_anywhere if {
	policy.deny == {"aws_security_group.web: ingress allows SSH (22) from 0.0.0.0/0; restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group", "web", {"ingress": [ssh_ingress(["0.0.0.0/0"])]})
}

test_fail_plan_aws_inline_ipv6_anywhere if {
	rule := object.union(ssh_ingress([]), {"ipv6_cidr_blocks": ["::/0"]})
	count(policy.deny) == 1 with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_fail_plan_aws_inline_port_range_including_22 if {
	rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"from_port": 0, "to_port": 1024})
	count(policy.deny) == 1 with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_fail_plan_aws_inline_all_protocols if {
	every protocol in ["-1", "all"] {
		rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"protocol": protocol, "from_port": 0, "to_port": 0})
		count(policy.deny) == 1 with input as plan("aws_security_group", "web", {"ingress": [rule]})
	}
}

test_fail_plan_aws_inline_protocol_number_6 if {
	rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"protocol": "6"})
	count(policy.deny) == 1 with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_fail_plan_aws_inline_lists_every_open_source if {
	rule := object.union(ssh_ingress(["0.0.0.0/0", "10.0.0.0/8"]), {"ipv6_cidr_blocks": ["::/0"]})
	policy.deny == {"aws_security_group.web: ingress allows SSH (22) from 0.0.0.0/0, ::/0; restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_success_plan_aws_inline_known_range if {
	count(policy.deny) == 0 with input as plan("aws_security_group", "web", {"ingress": [ssh_ingress(["203.0.113.0/24"])]})
}

test_success_plan_aws_inline_other_port_from_anywhere if {
	rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"from_port": 443, "to_port": 443})
	count(policy.deny) == 0 with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_success_plan_aws_inline_udp_22_is_not_ssh if {
	rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"protocol": "udp"})
	count(policy.deny) == 0 with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_success_plan_aws_egress_to_anywhere_is_not_ingress if {
	count(policy.deny) == 0 with input as plan("aws_security_group", "web", {"egress": [ssh_ingress(["0.0.0.0/0"])], "ingress": []})
}

test_warn_plan_aws_inline_cidr_unknown if {
	input_plan := plan_with_unknown("aws_security_group", "web", {"ingress": [ssh_ingress([])]}, {"ingress": [{"cidr_blocks": true}]})
	count(policy.deny) == 0 with input as input_plan
	policy.warn == {"aws_security_group.web: ingress may allow SSH (22) from anywhere, but its sources cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as input_plan
}

test_warn_plan_aws_inline_rules_unknown if {
	input_plan := plan_with_unknown("aws_security_group", "web", {}, {"ingress": true})
	policy.warn == {"aws_security_group.web: ingress rules are dynamic or unknown before apply and cannot be checked for SSH (22) from anywhere; the plan JSON gate checks them"} with input as input_plan
}

test_fail_hcl_aws_inline_ssh_from_anywhere if {
	count(policy.deny) == 1 with input as hcl("aws_security_group", "web", {"ingress": [ssh_ingress(["0.0.0.0/0"])]})
}

test_fail_hcl_aws_default_security_group_inline_ingress if {
	count(policy.deny) == 1 with input as hcl("aws_default_security_group", "this", {"ingress": [ssh_ingress(["0.0.0.0/0"])]})
}

test_fail_hcl_aws_inline_protocol_minus_one_as_number if {
	rule := {"from_port": 0, "to_port": 0, "protocol": -1, "cidr_blocks": ["0.0.0.0/0"]}
	count(policy.deny) == 1 with input as hcl("aws_security_group", "web", {"ingress": [rule]})
}

test_warn_hcl_aws_dynamic_ingress if {
	block := {"dynamic": {"ingress": [{"for_each": "${var.rules}", "content": [{"from_port": "${ingress.value}"}]}]}}
	count(policy.deny) == 0 with input as hcl("aws_security_group", "web", block)
	count(policy.warn) == 1 with input as hcl("aws_security_group", "web", block)
}

# --- AWS: aws_security_group_rule -----------------------------------------------------------

test_fail_plan_aws_security_group_rule_ingress if {
	rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"type": "ingress"})
	policy.deny == {"aws_security_group_rule.ssh: ingress rule allows SSH (22) from 0.0.0.0/0; restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group_rule", "ssh", rule)
}

test_success_plan_aws_security_group_rule_egress if {
	rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"type": "egress"})
	count(policy.deny) == 0 with input as plan("aws_security_group_rule", "ssh", rule)
}

test_success_plan_aws_security_group_rule_from_security_group if {
	rule := {"type": "ingress", "from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": null, "source_security_group_id": "sg-1"}
	count(policy.deny) == 0 with input as plan("aws_security_group_rule", "ssh", rule)
	count(policy.warn) == 0 with input as plan("aws_security_group_rule", "ssh", rule)
}

# --- AWS: aws_vpc_security_group_ingress_rule -----------------------------------------------

test_fail_plan_aws_vpc_ingress_rule_ipv4 if {
	rule := {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0", "cidr_ipv6": null}
	policy.deny == {"aws_vpc_security_group_ingress_rule.ssh: ingress rule allows SSH (22) from 0.0.0.0/0; restrict cidr_ipv4/cidr_ipv6 to a known range or use SSM Session Manager"} with input as plan("aws_vpc_security_group_ingress_rule", "ssh", rule)
}

test_fail_plan_aws_vpc_ingress_rule_all_protocols_ipv6 if {
	rule := {"ip_protocol": "-1", "from_port": null, "to_port": null, "cidr_ipv6": "::/0"}
	count(policy.deny) == 1 with input as plan("aws_vpc_security_group_ingress_rule", "all", rule)
}

test_success_plan_aws_vpc_ingress_rule_referenced_security_group if {
	rule := {"ip_protocol": "-1", "referenced_security_group_id": "sg-1", "cidr_ipv4": null}
	count(policy.deny) == 0 with input as plan("aws_vpc_security_group_ingress_rule", "nodes", rule)
}

test_fail_combined_aws_vpc_ingress_rule_cidr_from_variable_default if {
	root := [
		{"path": "dev/variables.tf", "contents": {"variable": {"ssh_cidr": [{"default": "0.0.0.0/0"}]}}},
		{"path": "dev/main.tf", "contents": {"resource": {"aws_vpc_security_group_ingress_rule": {"ssh": [{
			"ip_protocol": "tcp",
			"from_port": 22,
			"to_port": 22,
			"cidr_ipv4": "${var.ssh_cidr}",
		}]}}}},
	]
	policy.deny == {"aws_vpc_security_group_ingress_rule.ssh (dev/main.tf): ingress rule allows SSH (22) from 0.0.0.0/0; restrict cidr_ipv4/cidr_ipv6 to a known range or use SSM Session Manager"} with input as root
}

test_success_combined_aws_vpc_ingress_rule_cidr_from_safe_default if {
	root := [
		{"path": "dev/variables.tf", "contents": {"variable": {"ssh_cidr": [{"default": "203.0.113.0/24"}]}}},
		{"path": "dev/main.tf", "contents": {"resource": {"aws_vpc_security_group_ingress_rule": {"ssh": [{
			"ip_protocol": "tcp",
			"from_port": 22,
			"to_port": 22,
			"cidr_ipv4": "${var.ssh_cidr}",
		}]}}}},
	]
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_warn_hcl_aws_vpc_ingress_rule_cidr_without_default if {
	rule := {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "${var.ssh_cidr}"}
	count(policy.deny) == 0 with input as hcl("aws_vpc_security_group_ingress_rule", "ssh", rule)
	count(policy.warn) == 1 with input as hcl("aws_vpc_security_group_ingress_rule", "ssh", rule)
}

test_warn_hcl_aws_vpc_ingress_rule_port_unknown if {
	rule := {"ip_protocol": "tcp", "from_port": "${var.port}", "to_port": "${var.port}", "cidr_ipv4": "0.0.0.0/0"}
	policy.warn == {"aws_vpc_security_group_ingress_rule.any: ingress rule may allow SSH (22) from anywhere, but its ports cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("aws_vpc_security_group_ingress_rule", "any", rule)
}

test_warn_hcl_aws_vpc_ingress_rule_protocol_unknown if {
	rule := {"ip_protocol": "${var.protocol}", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0"}
	policy.warn == {"aws_vpc_security_group_ingress_rule.ssh: ingress rule may allow SSH (22) from anywhere, but its protocol cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("aws_vpc_security_group_ingress_rule", "ssh", rule)
}

test_success_hcl_aws_vpc_ingress_rule_without_protocol if {
	rule := {"from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0"}
	count(policy.deny) == 0 with input as hcl("aws_vpc_security_group_ingress_rule", "ssh", rule)
	count(policy.warn) == 0 with input as hcl("aws_vpc_security_group_ingress_rule", "ssh", rule)
}

test_success_hcl_aws_vpc_ingress_rule_https_with_unknown_cidr if {
	rule := {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ipv4": "${aws_vpc.this.cidr_block}"}
	count(policy.deny) == 0 with input as hcl("aws_vpc_security_group_ingress_rule", "https", rule)
	count(policy.warn) == 0 with input as hcl("aws_vpc_security_group_ingress_rule", "https", rule)
}

# --- GCP: google_compute_firewall -----------------------------------------------------------

firewall(allow, extra) := object.union({"allow": allow, "source_ranges": ["0.0.0.0/0"]}, extra)

test_fail_plan_gcp_firewall_port_22 if {
	policy.deny == {"google_compute_firewall.ssh: allow block allows SSH (22) from 0.0.0.0/0; restrict source_ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding"} with input as plan("google_compute_firewall", "ssh", firewall([{"protocol": "tcp", "ports": ["22"]}], {"direction": "INGRESS"}))
}

test_fail_plan_gcp_firewall_port_range if {
	count(policy.deny) == 1 with input as plan("google_compute_firewall", "ssh", firewall([{"protocol": "tcp", "ports": ["80", "20-25"]}], {}))
}

test_fail_plan_gcp_firewall_no_ports_means_all if {
	count(policy.deny) == 1 with input as plan("google_compute_firewall", "ssh", firewall([{"protocol": "tcp", "ports": []}], {}))
}

test_fail_plan_gcp_firewall_all_protocols if {
	count(policy.deny) == 1 with input as plan("google_compute_firewall", "all", firewall([{"protocol": "all", "ports": []}], {}))
}

test_fail_plan_gcp_firewall_ipv6_anywhere if {
	count(policy.deny) == 1 with input as plan("google_compute_firewall", "ssh", firewall([{"protocol": "tcp", "ports": ["22"]}], {"source_ranges": ["::/0"]}))
}

test_fail_hcl_gcp_firewall_without_sources_defaults_to_anywhere if {
	block := {"network": "default", "allow": [{"protocol": "tcp", "ports": [22]}]}
	policy.deny == {"google_compute_firewall.ssh: allow block (no source_ranges or source_tags, so GCP applies it to 0.0.0.0/0) allows SSH (22) from 0.0.0.0/0; restrict source_ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding"} with input as hcl("google_compute_firewall", "ssh", block)
}

test_success_hcl_gcp_firewall_source_tags_only if {
	block := {"allow": [{"protocol": "tcp", "ports": ["22"]}], "source_tags": ["bastion"]}
	count(policy.deny) == 0 with input as hcl("google_compute_firewall", "ssh", block)
	count(policy.warn) == 0 with input as hcl("google_compute_firewall", "ssh", block)
}

test_success_hcl_gcp_firewall_iap_range if {
	block := {"allow": [{"protocol": "tcp", "ports": ["22"]}], "source_ranges": ["35.235.240.0/20"]}
	count(policy.deny) == 0 with input as hcl("google_compute_firewall", "iap_ssh", block)
}

test_success_gcp_firewall_egress_disabled_deny_and_other_ports if {
	count(policy.deny) == 0 with input as plan("google_compute_firewall", "out", firewall([{"protocol": "tcp", "ports": ["22"]}], {"direction": "EGRESS"}))
	count(policy.deny) == 0 with input as plan("google_compute_firewall", "off", firewall([{"protocol": "tcp", "ports": ["22"]}], {"disabled": true}))
	count(policy.deny) == 0 with input as plan("google_compute_firewall", "web", firewall([{"protocol": "tcp", "ports": ["80", "443"]}], {}))
	count(policy.deny) == 0 with input as plan("google_compute_firewall", "block", {"deny": [{"protocol": "tcp", "ports": ["22"]}], "allow": [], "source_ranges": ["0.0.0.0/0"]})
}

test_warn_plan_gcp_firewall_source_ranges_unknown if {
	input_plan := plan_with_unknown("google_compute_firewall", "ssh", {"allow": [{"protocol": "tcp", "ports": ["22"]}]}, {"source_ranges": true})
	count(policy.deny) == 0 with input as input_plan
	count(policy.warn) == 1 with input as input_plan
}

test_warn_hcl_gcp_firewall_unknown_ports_and_tags if {
	block := {"allow": [{"protocol": "tcp", "ports": "${var.ports}"}], "source_ranges": ["0.0.0.0/0"]}
	count(policy.deny) == 0 with input as hcl("google_compute_firewall", "fw", block)
	count(policy.warn) == 1 with input as hcl("google_compute_firewall", "fw", block)
	tags_unknown := {"allow": [{"protocol": "tcp", "ports": ["22"]}], "source_tags": "${var.tags}"}
	count(policy.deny) == 0 with input as hcl("google_compute_firewall", "fw", tags_unknown)
}

test_warn_hcl_gcp_firewall_dynamic_allow if {
	block := {"dynamic": {"allow": [{"for_each": "${var.allow}"}]}, "source_ranges": ["0.0.0.0/0"]}
	count(policy.warn) == 1 with input as hcl("google_compute_firewall", "fw", block)
}

# --- Azure ----------------------------------------------------------------------------------

azure_rule(extra) := object.union(
	{
		"name": "ssh",
		"direction": "Inbound",
		"access": "Allow",
		"protocol": "Tcp",
		"source_address_prefix": "Internet",
		"source_address_prefixes": [],
		"destination_port_range": "22",
		"destination_port_ranges": [],
	},
	extra,
)

test_fail_plan_azure_nsg_inline_internet if {
	policy.deny == {"azurerm_network_security_group.nsg: security_rule \"ssh\" allows SSH (22) from Internet; restrict source_address_prefix(es) to a known range or use Azure Bastion"} with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule({})]})
}

test_fail_plan_azure_every_anywhere_source if {
	every source in ["*", "Any", "any", "internet", "0.0.0.0", "0.0.0.0/0", "::/0"] {
		count(policy.deny) == 1 with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule({"source_address_prefix": source})]})
	}
}

test_fail_plan_azure_port_wildcard_range_and_lists if {
	every ports in [{"destination_port_range": "*"}, {"destination_port_range": "20-25"}, {"destination_port_range": "", "destination_port_ranges": ["443", "22"]}] {
		count(policy.deny) == 1 with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule(ports)]})
	}
}

test_fail_plan_azure_any_protocol_and_prefix_list if {
	rule := azure_rule({"protocol": "*", "source_address_prefix": "", "source_address_prefixes": ["10.0.0.0/8", "Any"]})
	count(policy.deny) == 1 with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [rule]})
}

test_success_plan_azure_not_inbound_allow_tcp if {
	every extra in [{"direction": "Outbound"}, {"access": "Deny"}, {"protocol": "Udp"}, {"source_address_prefix": "203.0.113.0/24"}, {"destination_port_range": "3389"}] {
		count(policy.deny) == 0 with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule(extra)]})
	}
}

test_fail_hcl_azure_network_security_rule if {
	rule := {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", "source_address_prefix": "*", "destination_port_range": "22"}
	policy.deny == {"azurerm_network_security_rule.ssh: inbound rule allows SSH (22) from *; restrict source_address_prefix(es) to a known range or use Azure Bastion"} with input as hcl("azurerm_network_security_rule", "ssh", rule)
}

test_fail_combined_azure_source_from_variable_default if {
	root := [
		{"path": "azure/variables.tf", "contents": {"variable": {"ssh_allowed_cidr": [{"default": "Internet"}]}}},
		{"path": "azure/network.tf", "contents": {"resource": {"azurerm_network_security_group": {"vm": [{"security_rule": [{
			"name": "AllowSsh",
			"direction": "Inbound",
			"access": "Allow",
			"protocol": "Tcp",
			"destination_port_range": "22",
			"source_address_prefix": "${var.ssh_allowed_cidr}",
		}]}]}}}},
	]
	count(policy.deny) == 1 with input as root
}

test_success_hcl_azure_ssh_from_named_range if {
	block := {"security_rule": [{
		"name": "AllowSshFromAdminCidr",
		"direction": "Inbound",
		"access": "Allow",
		"protocol": "Tcp",
		"destination_port_range": "22",
		"source_address_prefix": "203.0.113.0/24",
	}]}
	count(policy.deny) == 0 with input as hcl("azurerm_network_security_group", "vm", block)
	count(policy.warn) == 0 with input as hcl("azurerm_network_security_group", "vm", block)
}

test_warn_hcl_azure_source_unresolvable if {
	rule := {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", "source_address_prefix": "${var.admin_cidr}", "destination_port_range": "22"}
	count(policy.deny) == 0 with input as hcl("azurerm_network_security_rule", "ssh", rule)
	count(policy.warn) == 1 with input as hcl("azurerm_network_security_rule", "ssh", rule)
}

test_warn_hcl_azure_dynamic_security_rule if {
	count(policy.warn) == 1 with input as hcl("azurerm_network_security_group", "nsg", {"dynamic": {"security_rule": [{"for_each": "${var.rules}"}]}})
}

# --- port specifications --------------------------------------------------------------------

test_success_port_range if {
	policy.port_range("22") == [22, 22]
	policy.port_range(22) == [22, 22]
	policy.port_range("20-25") == [20, 25]
	policy.port_range("*") == [0, 65535]
	not policy.port_range("ssh")
}
