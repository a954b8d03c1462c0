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
	policy.deny == {"aws_security_group.web: ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group", "web", {"ingress": [ssh_ingress(["0.0.0.0/0"])]})
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
	policy.deny == {"aws_security_group.web: ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0); every public IPv6 address (::/0); restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group", "web", {"ingress": [rule]})
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
	policy.warn == {"aws_security_group.web: ingress rules are dynamic or unknown before apply and cannot be checked for SSH (22) from anywhere; iterate over a literal list (or a variable default) or check the plan JSON gate"} with input as input_plan
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
	policy.deny == {"aws_security_group_rule.ssh: rule allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group_rule", "ssh", rule)
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
	policy.deny == {"aws_vpc_security_group_ingress_rule.ssh: ingress rule allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict cidr_ipv4/cidr_ipv6 to a known range or use SSM Session Manager"} with input as plan("aws_vpc_security_group_ingress_rule", "ssh", rule)
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
	policy.deny == {"aws_vpc_security_group_ingress_rule.ssh (dev/main.tf): ingress rule allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict cidr_ipv4/cidr_ipv6 to a known range or use SSM Session Manager"} with input as root
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
	policy.deny == {"google_compute_firewall.ssh: allow block allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict the source ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding"} with input as plan("google_compute_firewall", "ssh", firewall([{"protocol": "tcp", "ports": ["22"]}], {"direction": "INGRESS"}))
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
	policy.deny == {"google_compute_firewall.ssh: allow block (no source_ranges or source_tags, so GCP applies it to 0.0.0.0/0) allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict the source ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding"} with input as hcl("google_compute_firewall", "ssh", block)
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
	policy.deny == {"azurerm_network_security_group.nsg: security_rule \"ssh\" allows SSH (22) from anywhere (Internet); restrict source_address_prefix(es) to a known range or use Azure Bastion"} with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule({})]})
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
	policy.deny == {"azurerm_network_security_rule.ssh: inbound rule allows SSH (22) from anywhere (*); restrict source_address_prefix(es) to a known range or use Azure Bastion"} with input as hcl("azurerm_network_security_rule", "ssh", rule)
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

# --- coverage, not spelling: sources ----------------------------------------------------------

test_success_canonical_cidr_spellings if {
	every spelling in ["::0/0", "0::/0", "0:0:0:0:0:0:0:0/0", "::", " ::/0 "] {
		policy.canonical_cidr(spelling) == "::/0"
	}
	every spelling in ["0.0.0.0/0", "0.0.0.0", "0.0.0.0/00", "10.1.2.3/0", "::ffff:0.0.0.0/96", "::FFFF:0:0/96"] {
		policy.canonical_cidr(spelling) == "0.0.0.0/0"
	}
	policy.canonical_cidr("10.0.0.1/8") == "10.0.0.0/8"
	policy.canonical_cidr("1.2.3.4") == "1.2.3.4/32"
	policy.canonical_cidr("2001:db8::1") == "2001:db8::1/128"
	not policy.canonical_cidr("sg-0123")
	not policy.canonical_cidr("300.0.0.0/8")
	not policy.canonical_cidr(22)
}

test_success_classify_tags_per_cloud if {
	policy.classify("Internet", true).kind == "anywhere"
	policy.classify(" ANY ", true).kind == "anywhere"
	policy.classify("*", false).kind == "anywhere"
	policy.classify("AzureCloud", true).kind == "broad"
	policy.classify("AzureCloud.WestEurope", true).kind == "broad"
	policy.classify("VirtualNetwork", true).kind == "private"
	policy.classify("Internet", false).kind == "unrecognised"
	policy.classify("region:US", false).kind == "broad"
	policy.classify("threat:iplist-tor-exit-nodes", false).kind == "broad"
	policy.classify("10.0.0.1/8", true) == {"kind": "cidr", "cidr": "10.0.0.0/8", "family": 4, "label": "10.0.0.1/8"}
}

test_success_public_counts if {
	policy.public_count("0.0.0.0/0") == policy.total_public_ipv4
	policy.public_count("10.0.0.0/8") == 0
	policy.public_count("10.1.0.0/16") == 0
	policy.public_count("1.0.0.0/8") == 16777216
	policy.public_count("0.0.0.0/1") == 2092957696 # 2^31 minus 0/8, 10/8, 127/8 and 100.64/10
	policy.public_count("::/0") == policy.total_public_ipv6
	policy.public_count("::/1") == policy.total_public_ipv6
	policy.public_count("fc00::/7") == 0
	policy.public_count("2001:db8::/32") == policy.broad_ipv6
	policy.pow2(0) == 1
}

test_success_coverage_merges_per_family if {
	cov := policy.coverage({"0.0.0.0/1", "128.0.0.0/1", "::0/0", "10.0.0.0/8", "Internet", "x"}, false)
	cov.ipv4.merged == {"0.0.0.0/0"}
	cov.ipv4.public == policy.total_public_ipv4
	cov.ipv6.merged == {"::/0"}
	cov.anywhere == set()
	cov.unrecognised == {"Internet", "x"}
	policy.exposure(policy.coverage({"203.0.113.0/24", "35.235.240.0/20"}, false)) == []
}

# --- AWS: every spelling of anywhere ------------------------------------------------------------

test_fail_plan_aws_ipv4_split_into_halves_and_quarters if {
	every cidrs in [
		["0.0.0.0/1", "128.0.0.0/1"],
		["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"],
		["1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"],
	] {
		count(policy.deny) == 1 with input as plan("aws_security_group", "web", {"ingress": [ssh_ingress(cidrs)]})
	}
}

test_fail_plan_aws_every_public_address_without_private_ranges if {
	rule := ssh_ingress(["1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"])
	msg := concat("", policy.deny) with input as plan("aws_security_group", "web", {"ingress": [rule]})
	contains(msg, "every public IPv4 address (")
}

test_fail_plan_aws_ipv6_anywhere_non_canonical if {
	every spelling in ["::0/0", "0::/0", "0:0:0:0:0:0:0:0/0", "::/1", "2000::/3"] {
		rule := object.union(ssh_ingress([]), {"ipv6_cidr_blocks": [spelling]})
		count(policy.deny) == 1 with input as plan("aws_security_group", "web", {"ingress": [rule]})
	}
}

test_fail_plan_aws_ipv4_mapped_ipv6 if {
	rule := object.union(ssh_ingress([]), {"ipv6_cidr_blocks": ["::ffff:0.0.0.0/96"]})
	policy.deny == {"aws_security_group.web: ingress allows SSH (22) from every public IPv4 address (::ffff:0.0.0.0/96); restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_fail_plan_aws_broad_public_range if {
	policy.deny == {"aws_security_group.web: ingress allows SSH (22) from 16777216 public IPv4 addresses (1.0.0.0/9, 3.0.0.0/9), at least a /8; restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as plan("aws_security_group", "web", {"ingress": [ssh_ingress(["1.0.0.0/9", "3.0.0.0/9", "10.0.0.0/8"])]})
	rule := object.union(ssh_ingress([]), {"ipv6_cidr_blocks": ["2001:db8::/32"]})
	count(policy.deny) == 1 with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_success_plan_aws_narrow_and_private_ranges if {
	every cidrs in [["1.0.0.0/9"], ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"], ["1.2.3.4", "203.0.113.0/24"]] {
		count(policy.deny) == 0 with input as plan("aws_security_group", "web", {"ingress": [ssh_ingress(cidrs)]})
		count(policy.warn) == 0 with input as plan("aws_security_group", "web", {"ingress": [ssh_ingress(cidrs)]})
	}
	rule := object.union(ssh_ingress([]), {"ipv6_cidr_blocks": ["fd00::/8", "2001:db8:1::/48"]})
	count(policy.deny) == 0 with input as plan("aws_security_group", "web", {"ingress": [rule]})
}

test_warn_plan_aws_source_that_is_not_a_cidr if {
	input_plan := plan("aws_security_group", "web", {"ingress": [ssh_ingress(["sg-0123456789"])]})
	count(policy.deny) == 0 with input as input_plan
	policy.warn == {"aws_security_group.web: ingress has sources that are neither a CIDR nor a known tag (sg-0123456789), so SSH (22) from anywhere cannot be ruled out; use CIDRs"} with input as input_plan
}

# --- AWS: rules of one security group together ---------------------------------------------------

sg_rule(cidr) := {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": cidr, "security_group_id": "${aws_security_group.web.id}"}

test_fail_hcl_aws_group_rules_cover_a_broad_range_together if {
	root := {"resource": {
		"aws_security_group": {"web": [{"name": "web"}]},
		"aws_vpc_security_group_ingress_rule": {
			"low": [sg_rule("1.0.0.0/9")],
			"high": [sg_rule("1.128.0.0/9")],
		},
	}}
	policy.deny == {"aws_security_group.web: 2 ingress rules together allow SSH (22) from 16777216 public IPv4 addresses (1.0.0.0/9, 1.128.0.0/9), at least a /8, although none does alone (aws_vpc_security_group_ingress_rule.high ingress rule, aws_vpc_security_group_ingress_rule.low ingress rule); restrict cidr_ipv4/cidr_ipv6 to a known range or use SSM Session Manager"} with input as root
}

test_fail_hcl_aws_inline_and_standalone_rules_together if {
	root := {"resource": {
		"aws_security_group": {"web": [{"ingress": [ssh_ingress(["1.0.0.0/9"])]}]},
		"aws_security_group_rule": {"high": [object.union(ssh_ingress(["1.128.0.0/9"]), {"type": "ingress", "security_group_id": "${aws_security_group.web.id}"})]},
	}}
	count(policy.deny) == 1 with input as root
}

test_success_hcl_aws_rules_of_different_groups_do_not_add_up if {
	root := {"resource": {
		"aws_security_group": {"web": [{}], "db": [{}]},
		"aws_vpc_security_group_ingress_rule": {
			"low": [sg_rule("1.0.0.0/9")],
			"high": [object.union(sg_rule("1.128.0.0/9"), {"security_group_id": "${aws_security_group.db.id}"})],
		},
	}}
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

# A realistic plan: the security group is new, so its id is unknown; the configuration section
# ties the rules to it.
plan_group_rules := {
	"resource_changes": [
		{
			"address": "module.net.aws_vpc_security_group_ingress_rule.low",
			"module_address": "module.net",
			"mode": "managed",
			"type": "aws_vpc_security_group_ingress_rule",
			"name": "low",
			"change": {"actions": ["create"], "after": {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "1.0.0.0/9", "cidr_ipv6": null}, "after_unknown": {"security_group_id": true, "id": true}},
		},
		{
			"address": "module.net.aws_vpc_security_group_ingress_rule.high[0]",
			"module_address": "module.net",
			"mode": "managed",
			"type": "aws_vpc_security_group_ingress_rule",
			"name": "high",
			"index": 0,
			"change": {"actions": ["create"], "after": {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "1.128.0.0/9", "cidr_ipv6": null}, "after_unknown": {"security_group_id": true, "id": true}},
		},
	],
	"configuration": {"root_module": {"module_calls": {"net": {"source": "./net", "module": {"resources": [
		{
			"address": "aws_vpc_security_group_ingress_rule.low",
			"mode": "managed",
			"type": "aws_vpc_security_group_ingress_rule",
			"name": "low",
			"expressions": {"security_group_id": {"references": ["aws_security_group.web.id", "aws_security_group.web"]}, "cidr_ipv4": {"constant_value": "1.0.0.0/9"}},
		},
		{
			"address": "aws_vpc_security_group_ingress_rule.high",
			"mode": "managed",
			"type": "aws_vpc_security_group_ingress_rule",
			"name": "high",
			"expressions": {"security_group_id": {"references": ["aws_security_group.web.id", "aws_security_group.web"]}},
			"count_expression": {"constant_value": 1},
		},
	]}}}}},
}

test_fail_plan_aws_group_rules_tied_by_configuration_references if {
	policy.deny == {"module.net.aws_security_group.web: 2 ingress rules together allow SSH (22) from 16777216 public IPv4 addresses (1.0.0.0/9, 1.128.0.0/9), at least a /8, although none does alone (module.net.aws_vpc_security_group_ingress_rule.high[0] ingress rule, module.net.aws_vpc_security_group_ingress_rule.low ingress rule); restrict cidr_ipv4/cidr_ipv6 to a known range or use SSM Session Manager"} with input as plan_group_rules
}

known_group_rule(name, cidr) := {
	"address": sprintf("aws_security_group_rule.%s", [name]),
	"mode": "managed",
	"type": "aws_security_group_rule",
	"name": name,
	"change": {"actions": ["create"], "after": object.union(ssh_ingress([cidr]), {"type": "ingress", "security_group_id": "sg-0abc"}), "after_unknown": {}},
}

test_fail_plan_aws_group_rules_tied_by_known_group_id if {
	input_plan := {"resource_changes": [known_group_rule("a", "1.0.0.0/9"), known_group_rule("b", "1.128.0.0/9")]}
	msg := concat("", policy.deny) with input as input_plan
	startswith(msg, "security group sg-0abc: 2 ingress rules together allow SSH (22)")
}

# --- AWS: dynamic blocks over literal lists ------------------------------------------------------

dynamic_ingress(for_each) := {"dynamic": {"ingress": [{
	"for_each": for_each,
	"content": [{
		"from_port": "${ingress.value.port}",
		"to_port": "${ingress.value.port}",
		"protocol": "tcp",
		"cidr_blocks": ["${ingress.value.cidr}"],
	}],
}]}}

test_fail_hcl_aws_dynamic_ingress_over_literal_list if {
	block := dynamic_ingress([{"port": 22, "cidr": "0.0.0.0/1"}, {"port": 22, "cidr": "128.0.0.0/1"}])
	policy.deny == {
		"aws_security_group.web: ingress[0] allows SSH (22) from 2092957696 public IPv4 addresses (0.0.0.0/1), at least a /8; restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager",
		"aws_security_group.web: ingress[1] allows SSH (22) from 1609300992 public IPv4 addresses (128.0.0.0/1), at least a /8; restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager",
	} with input as hcl("aws_security_group", "web", block)
	count(policy.warn) == 0 with input as hcl("aws_security_group", "web", block)
}

test_fail_hcl_aws_dynamic_ingress_over_map_set_and_variable_default if {
	map_block := {"dynamic": {"ingress": [{
		"for_each": {"ssh": "0.0.0.0/0"},
		"iterator": "${rule}",
		"content": [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["${rule.value}"], "description": "${rule.key}"}],
	}]}}
	count(policy.deny) == 1 with input as hcl("aws_security_group", "web", map_block)
	set_block := {"dynamic": {"ingress": [{
		"for_each": "${toset([\"0.0.0.0/0\", \"::/0\"])}",
		"content": [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["${ingress.value}"]}],
	}]}}
	count(policy.deny) == 2 with input as hcl("aws_security_group", "web", set_block)
	root := [
		{"path": "m/variables.tf", "contents": {"variable": {"rules": [{"default": [{"port": 22, "cidr": "0.0.0.0/0"}]}]}}},
		{"path": "m/main.tf", "contents": {"resource": {"aws_security_group": {"web": [dynamic_ingress("${var.rules}")]}}}},
	]
	count(policy.deny) == 1 with input as root
	count(policy.warn) == 0 with input as root
}

test_warn_hcl_aws_dynamic_content_not_resolvable if {
	block := dynamic_ingress([{"port": 22}])
	count(policy.deny) == 0 with input as hcl("aws_security_group", "web", block)
	policy.warn == {"aws_security_group.web: ingress may allow SSH (22) from anywhere, but its sources cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("aws_security_group", "web", block)
}

# --- AWS: unresolvable direction ----------------------------------------------------------------

test_warn_aws_security_group_rule_type_unresolvable if {
	rule := object.union(ssh_ingress(["0.0.0.0/0"]), {"type": "${var.rule_type}"})
	count(policy.deny) == 0 with input as hcl("aws_security_group_rule", "ssh", rule)
	policy.warn == {"aws_security_group_rule.ssh: rule may allow SSH (22) from anywhere, but its direction cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("aws_security_group_rule", "ssh", rule)
	input_plan := plan_with_unknown("aws_security_group_rule", "ssh", object.remove(rule, ["type"]), {"type": true})
	count(policy.warn) == 1 with input as input_plan
	root := [
		{"path": "r/variables.tf", "contents": {"variable": {"rule_type": [{"default": "ingress"}]}}},
		{"path": "r/main.tf", "contents": {"resource": {"aws_security_group_rule": {"ssh": [rule]}}}},
	]
	count(policy.deny) == 1 with input as root
}

test_success_aws_security_group_rule_unknown_type_with_narrow_source if {
	rule := object.union(ssh_ingress(["203.0.113.0/24"]), {"type": "${var.rule_type}"})
	count(policy.warn) == 0 with input as hcl("aws_security_group_rule", "ssh", rule)
}

# --- GCP: VPC firewall ---------------------------------------------------------------------------

test_fail_gcp_firewall_split_ranges_and_ipv6_spellings if {
	every ranges in [["0.0.0.0/1", "128.0.0.0/1"], ["0::/0"], ["0:0:0:0:0:0:0:0/0"]] {
		count(policy.deny) == 1 with input as plan("google_compute_firewall", "ssh", firewall([{"protocol": "tcp", "ports": ["22"]}], {"source_ranges": ranges}))
	}
}

gcp_fw(network, range) := {"network": network, "source_ranges": [range], "allow": [{"protocol": "tcp", "ports": ["22"]}]}

test_fail_hcl_gcp_firewalls_of_one_network_together if {
	root := {"resource": {
		"google_compute_network": {"vpc": [{"name": "vpc"}]},
		"google_compute_firewall": {
			"a": [gcp_fw("${google_compute_network.vpc.id}", "1.0.0.0/9")],
			"b": [gcp_fw("${google_compute_network.vpc.self_link}", "1.128.0.0/9")],
		},
	}}
	msg := concat("", policy.deny) with input as root
	startswith(msg, "google_compute_network.vpc: 2 ingress rules together allow SSH (22)")
	literal := {"resource": {"google_compute_firewall": {
		"a": [gcp_fw("default", "1.0.0.0/9")],
		"b": [gcp_fw("projects/p/global/networks/default", "1.128.0.0/9")],
	}}}
	count(policy.deny) == 1 with input as literal
	apart := {"resource": {"google_compute_firewall": {
		"a": [gcp_fw("default", "1.0.0.0/9")],
		"b": [gcp_fw("other", "1.128.0.0/9")],
	}}}
	count(policy.deny) == 0 with input as apart
}

test_warn_gcp_firewall_direction_unresolvable if {
	block := {"direction": "${var.direction}", "source_ranges": ["0.0.0.0/0"], "allow": [{"protocol": "tcp", "ports": ["22"]}]}
	count(policy.deny) == 0 with input as hcl("google_compute_firewall", "fw", block)
	policy.warn == {"google_compute_firewall.fw: allow block may allow SSH (22) from anywhere, but its direction cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("google_compute_firewall", "fw", block)
}

test_fail_hcl_gcp_dynamic_allow_over_literal_list if {
	block := {"source_ranges": ["0.0.0.0/0"], "dynamic": {"allow": [{
		"for_each": ["22", "443"],
		"content": [{"protocol": "tcp", "ports": ["${allow.value}"]}],
	}]}}
	count(policy.deny) == 1 with input as hcl("google_compute_firewall", "fw", block)
	count(policy.warn) == 0 with input as hcl("google_compute_firewall", "fw", block)
}

# --- GCP: firewall policies ----------------------------------------------------------------------

policy_rule(extra, match_extra) := object.union(
	{
		"firewall_policy": "${google_compute_network_firewall_policy.main.id}",
		"priority": 1000,
		"direction": "INGRESS",
		"action": "allow",
		"match": [object.union({"layer4_configs": [{"ip_protocol": "tcp", "ports": ["22"]}]}, match_extra)],
	},
	extra,
)

test_fail_gcp_firewall_policy_rules_every_kind if {
	every type in ["google_compute_firewall_policy_rule", "google_compute_network_firewall_policy_rule", "google_compute_region_network_firewall_policy_rule"] {
		policy.deny == {sprintf("%s.ssh: rule allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict match.src_ip_ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding", [type])} with input as hcl(type, "ssh", policy_rule({}, {"src_ip_ranges": ["0.0.0.0/0"]}))
		count(policy.deny) == 1 with input as plan(type, "ssh", policy_rule({"firewall_policy": "policies/123"}, {"src_ip_ranges": ["0::/0"]}))
	}
}

test_fail_gcp_firewall_policy_rule_sources if {
	every match in [
		{"src_ip_ranges": ["0.0.0.0/1", "128.0.0.0/1"]},
		{"src_region_codes": ["US"]},
		{"src_threat_intelligences": ["iplist-public-clouds"]},
		{"layer4_configs": [{"ip_protocol": "all"}]},
		{"layer4_configs": [{"ip_protocol": "tcp", "ports": ["1-1024"]}], "src_ip_ranges": ["::/0"]},
	] {
		count(policy.deny) == 1 with input as hcl("google_compute_network_firewall_policy_rule", "r", policy_rule({}, object.union({"src_ip_ranges": ["0.0.0.0/0"]}, match)))
	}
	msg := concat("", policy.deny) with input as hcl("google_compute_firewall_policy_rule", "org", policy_rule({}, {}))
	contains(msg, "rule (no source in match, so every source) allows SSH (22) from every public IPv4 address (0.0.0.0/0); every public IPv6 address (::/0)")
	region := concat("", policy.deny) with input as hcl("google_compute_network_firewall_policy_rule", "r", policy_rule({}, {"src_region_codes": ["US", "DE"]}))
	contains(region, "region code DE (a whole country), region code US (a whole country)")
}

test_success_gcp_firewall_policy_rules_that_do_not_open_ssh if {
	every extra in [{"action": "deny"}, {"action": "goto_next"}, {"direction": "EGRESS"}, {"disabled": true}] {
		count(policy.deny) == 0 with input as hcl("google_compute_network_firewall_policy_rule", "r", policy_rule(extra, {"src_ip_ranges": ["0.0.0.0/0"]}))
		count(policy.warn) == 0 with input as hcl("google_compute_network_firewall_policy_rule", "r", policy_rule(extra, {"src_ip_ranges": ["0.0.0.0/0"]}))
	}
	every match in [{"src_ip_ranges": ["35.235.240.0/20"]}, {"src_fqdns": ["bastion.example.com"]}, {"src_secure_tags": [{"name": "tagValues/1"}]}, {"layer4_configs": [{"ip_protocol": "udp"}], "src_ip_ranges": ["0.0.0.0/0"]}] {
		count(policy.deny) == 0 with input as hcl("google_compute_network_firewall_policy_rule", "r", policy_rule({}, match))
	}
}

test_warn_gcp_firewall_policy_rule_unknowns if {
	policy.warn == {"google_compute_network_firewall_policy_rule.r: rule may allow SSH (22) from anywhere, but its direction and action cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("google_compute_network_firewall_policy_rule", "r", policy_rule({"direction": "${var.direction}", "action": "${var.action}"}, {"src_ip_ranges": ["0.0.0.0/0"]}))
	policy.warn == {"google_compute_network_firewall_policy_rule.r: rule may allow SSH (22) from anywhere, but its sources cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("google_compute_network_firewall_policy_rule", "r", policy_rule({}, {"src_address_groups": ["projects/p/locations/global/addressGroups/g"]}))
	count(policy.warn) == 1 with input as plan_with_unknown("google_compute_region_network_firewall_policy_rule", "r", policy_rule({}, {}), {"match": [{"src_ip_ranges": true}]})
}

test_fail_gcp_firewall_policy_rules_of_one_policy_together if {
	root := {"resource": {
		"google_compute_network_firewall_policy": {"main": [{"name": "main"}]},
		"google_compute_network_firewall_policy_rule": {
			"a": [policy_rule({"priority": 1}, {"src_ip_ranges": ["1.0.0.0/9"]})],
			"b": [policy_rule({"priority": 2}, {"src_ip_ranges": ["1.128.0.0/9"]})],
		},
	}}
	msg := concat("", policy.deny) with input as root
	startswith(msg, "google_compute_network_firewall_policy.main: 2 ingress rules together allow SSH (22)")
}

rule_block(priority, range) := {
	"priority": priority,
	"direction": "INGRESS",
	"action": "allow",
	"match": [{"src_ip_ranges": [range], "layer4_config": [{"ip_protocol": "tcp", "ports": ["22"]}]}],
}

test_fail_gcp_firewall_policy_with_rules if {
	every type in ["google_compute_firewall_policy_with_rules", "google_compute_network_firewall_policy_with_rules", "google_compute_region_network_firewall_policy_with_rules"] {
		policy.deny == {sprintf("%s.p: rule (priority 10) allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict match.src_ip_ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding", [type])} with input as hcl(type, "p", {"rule": [rule_block(10, "0.0.0.0/0"), rule_block(20, "35.235.240.0/20")]})
		count(policy.deny) == 1 with input as hcl(type, "p", {"rule": [rule_block(10, "1.0.0.0/9"), rule_block(20, "1.128.0.0/9")]})
	}
	policy.warn == {"google_compute_network_firewall_policy_with_rules.p: rule rules are dynamic or unknown before apply and cannot be checked for SSH (22) from anywhere; iterate over a literal list (or a variable default) or check the plan JSON gate"} with input as hcl("google_compute_network_firewall_policy_with_rules", "p", {"dynamic": {"rule": [{"for_each": "${var.rules}"}]}})
}

# --- Azure -----------------------------------------------------------------------------------------

test_fail_azure_split_prefixes_and_broad_tags if {
	every extra in [
		{"source_address_prefix": "", "source_address_prefixes": ["0.0.0.0/1", "128.0.0.0/1"]},
		{"source_address_prefix": "0::/0"},
		{"source_address_prefix": "AzureCloud"},
		{"source_address_prefix": "AzureCloud.WestEurope"},
	] {
		count(policy.deny) == 1 with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule(extra)]})
	}
	count(policy.deny) == 0 with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule({"source_address_prefix": "VirtualNetwork"})]})
	count(policy.warn) == 0 with input as plan("azurerm_network_security_group", "nsg", {"security_rule": [azure_rule({"source_address_prefix": "VirtualNetwork"})]})
}

test_fail_hcl_azure_rules_of_one_nsg_together if {
	standalone := {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", "destination_port_range": "22", "source_address_prefix": "1.128.0.0/9", "network_security_group_name": "${azurerm_network_security_group.vm.name}"}
	root := {"resource": {
		"azurerm_network_security_group": {"vm": [{"security_rule": [azure_rule({"source_address_prefix": "1.0.0.0/9"})]}]},
		"azurerm_network_security_rule": {"high": [standalone]},
	}}
	msg := concat("", policy.deny) with input as root
	startswith(msg, "azurerm_network_security_group.vm: 2 ingress rules together allow SSH (22)")
	by_name := {"resource": {"azurerm_network_security_rule": {
		"a": [object.union(standalone, {"network_security_group_name": "nsg-vm", "resource_group_name": "rg", "source_address_prefix": "1.0.0.0/9"})],
		"b": [object.union(standalone, {"network_security_group_name": "nsg-vm", "resource_group_name": "rg"})],
	}}}
	msg2 := concat("", policy.deny) with input as by_name
	startswith(msg2, "NSG rg/nsg-vm: 2 ingress rules together")
}

test_warn_azure_direction_and_access_unresolvable if {
	rule := {"direction": "${var.direction}", "access": "${var.access}", "protocol": "Tcp", "source_address_prefix": "*", "destination_port_range": "22"}
	count(policy.deny) == 0 with input as hcl("azurerm_network_security_rule", "ssh", rule)
	policy.warn == {"azurerm_network_security_rule.ssh: inbound rule may allow SSH (22) from anywhere, but its direction and action cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("azurerm_network_security_rule", "ssh", rule)
}

test_fail_hcl_azure_dynamic_security_rule_over_literal_list if {
	block := {"dynamic": {"security_rule": [{
		"for_each": [{"name": "ssh", "prefix": "Internet"}],
		"content": [{
			"name": "${security_rule.value.name}",
			"direction": "Inbound",
			"access": "Allow",
			"protocol": "Tcp",
			"destination_port_range": "22",
			"source_address_prefix": "${security_rule.value.prefix}",
		}],
	}]}}
	policy.deny == {"azurerm_network_security_group.nsg: security_rule \"ssh\" allows SSH (22) from anywhere (Internet); restrict source_address_prefix(es) to a known range or use Azure Bastion"} with input as hcl("azurerm_network_security_group", "nsg", block)
}

# --- Terraform JSON syntax (.tf.json) ------------------------------------------------------------

test_fail_tf_json_file_combined_and_single if {
	json_syntax := {"resource": {"aws_security_group": {"web": {"ingress": [ssh_ingress(["0.0.0.0/0"])]}}}}
	policy.deny == {"aws_security_group.web (root/main.tf.json): ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager"} with input as [{"path": "root/main.tf.json", "contents": json_syntax}]
	count(policy.deny) == 1 with input as json_syntax
	count(policy.deny) == 0 with input as [{"path": "root/data.json", "contents": json_syntax}]
}

test_fail_tf_json_variable_default_and_dynamic_block if {
	root := [
		{"path": "j/variables.tf.json", "contents": {"variable": {"cidr": {"type": "string", "default": "::0/0"}}}},
		{"path": "j/main.tf.json", "contents": {"resource": [{"aws_vpc_security_group_ingress_rule": {"ssh": {
			"ip_protocol": "tcp",
			"from_port": 22,
			"to_port": 22,
			"cidr_ipv6": "${var.cidr}",
		}}}]}},
		{"path": "j/nsg.tf.json", "contents": {"resource": {"azurerm_network_security_group": {"vm": {"dynamic": {"security_rule": {
			"for_each": ["Internet"],
			"content": {"name": "ssh", "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "destination_port_range": "22", "source_address_prefix": "${security_rule.value}"},
		}}}}}}},
	]
	count(policy.deny) == 2 with input as root
	count(policy.warn) == 0 with input as root
}

test_warn_direction_left_out_or_unexpected if {
	no_type := ssh_ingress(["0.0.0.0/0"])
	policy.warn == {"aws_security_group_rule.ssh: rule may allow SSH (22) from anywhere, but its direction cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as hcl("aws_security_group_rule", "ssh", no_type)
	odd := {"direction": "Sideways", "access": "Allow", "protocol": "Tcp", "source_address_prefix": "*", "destination_port_range": "22"}
	count(policy.warn) == 1 with input as hcl("azurerm_network_security_rule", "ssh", odd)
}

test_warn_unknown_direction_that_would_open_its_group if {
	root := {"resource": {
		"aws_security_group": {"web": [{}]},
		"aws_vpc_security_group_ingress_rule": {"low": [sg_rule("1.0.0.0/9")]},
		"aws_security_group_rule": {"high": [object.union(ssh_ingress(["1.128.0.0/9"]), {"type": "${var.type}", "security_group_id": "${aws_security_group.web.id}"})]},
	}}
	count(policy.deny) == 0 with input as root
	policy.warn == {"aws_security_group_rule.high: rule may allow SSH (22) from anywhere, but its direction cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate"} with input as root
}
