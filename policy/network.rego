# METADATA
# title: No SSH from anywhere
# description: >-
#   No ingress rule on any cloud lets TCP port 22 in from anywhere, decided by what the sources
#   cover rather than how they are spelled. Every source is normalised (IPv4/IPv6 CIDRs in any
#   notation, bare addresses, IPv4-mapped IPv6, Azure service tags, GCP region codes and
#   threat-intelligence lists) and the sources of one rule, and of all the rules of one
#   security group / firewall network / firewall policy / NSG together, are merged. SSH is
#   exposed when they cover every public IPv4 or IPv6 address, or at least a /8 worth of public
#   IPv4 (a /32 of IPv6), or name the internet by tag. Covers aws_security_group /
#   aws_default_security_group ingress blocks, aws_security_group_rule,
#   aws_vpc_security_group_ingress_rule, google_compute_firewall, the GCP firewall policy rules
#   (google_compute_firewall_policy_rule, google_compute_network_firewall_policy_rule,
#   google_compute_region_network_firewall_policy_rule and the *_with_rules resources),
#   azurerm_network_security_group security_rule blocks and azurerm_network_security_rule.
#   A rule that may expose SSH but whose direction, action, protocol, ports or sources are
#   unknown before apply (or unresolvable in HCL) is a warning naming the resource, never a
#   silent pass.
# scope: package
package terraform.network

import data.terraform.lib

# --- constants ------------------------------------------------------------------------------

ssh_port := 22

# Protocols that carry SSH: TCP by name or number, and "all".
ssh_protocols := {"tcp", "6", "-1", "all", "*"}

# AWS protocols whose rules ignore ports.
all_protocols := {"-1", "all"}

all_ports := [0, 65535]

# Address space that is not reachable from the internet (IANA special-purpose registry):
# sources inside it never count as exposure. The blocks are disjoint.
non_public_ipv4 := [
	"0.0.0.0/8", # "this network"
	"10.0.0.0/8", # RFC 1918
	"100.64.0.0/10", # carrier-grade NAT
	"127.0.0.0/8", # loopback
	"169.254.0.0/16", # link-local
	"172.16.0.0/12", # RFC 1918
	"192.0.0.0/24", # IETF protocol assignments
	"192.0.2.0/24", # TEST-NET-1
	"192.168.0.0/16", # RFC 1918
	"198.18.0.0/15", # benchmarking
	"198.51.100.0/24", # TEST-NET-2
	"203.0.113.0/24", # TEST-NET-3
	"224.0.0.0/4", # multicast
	"240.0.0.0/4", # reserved, broadcast
]

# IPv6 global unicast: everything else (ULA, link-local, multicast, ...) is not routed on the
# internet.
public_ipv6 := "2000::/3"

# Public address counts at or above these are "broad" even without covering everything: an SSH
# source that large is the internet for practical purposes.
broad_ipv4 := pow2(24) # a /8

broad_ipv6 := pow2(96) # a /32

broad_ipv4_label := "a /8"

broad_ipv6_label := "a /32"

# Source tags (compared lower-case) that mean every address: Azure's Internet and Any service
# tags, and `*`.
anywhere_tags := {"*", "internet", "any"}

# Azure service tags that stand for public address space anyone can rent (every Azure
# customer's VMs).
broad_azure_tag_pattern := `^azurecloud(\.[a-z0-9]+)?$`

# Any other Azure service tag (VirtualNetwork, AzureLoadBalancer, Storage.WestEurope, ...)
# names Microsoft-managed or private ranges.
azure_service_tag_pattern := `^[a-z][a-z0-9]*(\.[a-z0-9]+)?$`

# --- sources ----------------------------------------------------------------------------------

# METADATA
# description: >-
#   One source string as the cloud reads it, classified: {"kind": "cidr", "cidr": canonical
#   CIDR, "family": 4|6}, {"kind": "anywhere"|"broad"|"private", "label": ...} or
#   {"kind": "unrecognised"}. `tags` says whether service tags are allowed (Azure).
classify(source, tags) := {"kind": "cidr", "cidr": cidr, "family": family(cidr), "label": source} if {
	cidr := canonical_cidr(source)
} else := {"kind": "anywhere", "label": source} if {
	tags
	lower(trim_space(source)) in anywhere_tags
} else := {"kind": "broad", "label": sprintf("%s (every Azure customer's public addresses)", [source])} if {
	tags
	regex.match(broad_azure_tag_pattern, lower(trim_space(source)))
} else := {"kind": "broad", "label": sprintf("region code %s (a whole country)", [substring(source, 7, -1)])} if {
	startswith(source, "region:")
} else := {"kind": "broad", "label": sprintf("threat-intelligence list %s (public addresses)", [substring(source, 7, -1)])} if {
	startswith(source, "threat:")
} else := {"kind": "private", "label": source} if {
	tags
	regex.match(azure_service_tag_pattern, lower(trim_space(source)))
} else := {"kind": "anywhere", "label": source} if {
	# `*` means every address on every cloud that accepts it.
	trim_space(source) == "*"
} else := {"kind": "unrecognised", "label": source}

# "0.0.0.0" (read by some tools as 0.0.0.0/0) and "::" are taken as anywhere; other bare
# addresses are single hosts. Whatever the spelling (::0/0, 0::/0, 0:0:0:0:0:0:0:0/0,
# 10.0.0.1/8, ::ffff:0.0.0.0/96), net.cidr_merge returns the canonical network.
canonical_cidr(source) := cidr if {
	is_string(source)
	candidate := with_prefix(lower(trim_space(source)))
	net.cidr_is_valid(candidate)
	[cidr] := [merged | some merged in net.cidr_merge([candidate])]
}

with_prefix(source) := "0.0.0.0/0" if source == "0.0.0.0"

with_prefix(source) := "::/0" if source == "::"

with_prefix(source) := source if {
	contains(source, "/")
}

with_prefix(source) := sprintf("%s/128", [source]) if {
	not contains(source, "/")
	contains(source, ":")
	source != "::"
}

with_prefix(source) := sprintf("%s/32", [source]) if {
	not contains(source, "/")
	not contains(source, ":")
	source != "0.0.0.0"
}

family(cidr) := 6 if contains(cidr, ":")

family(cidr) := 4 if not contains(cidr, ":")

prefix_length(cidr) := to_number(split(cidr, "/")[1])

pow2(n) := 1 if n == 0

pow2(n) := product([2 | some _ in numbers.range(1, n)]) if n > 0

# Public addresses in one canonical CIDR.
public_count(cidr) := 0 if {
	family(cidr) == 4
	some block in non_public_ipv4
	net.cidr_contains(block, cidr)
} else := count_v4 if {
	family(cidr) == 4
	count_v4 := pow2(32 - prefix_length(cidr)) - sum([pow2(32 - prefix_length(block)) |
		some block in non_public_ipv4
		net.cidr_contains(cidr, block)
	])
} else := pow2(125) if {
	net.cidr_contains(cidr, public_ipv6)
} else := pow2(128 - prefix_length(cidr)) if {
	net.cidr_contains(public_ipv6, cidr)
} else := 0

total_public_ipv4 := pow2(32) - sum([pow2(32 - prefix_length(block)) | some block in non_public_ipv4])

total_public_ipv6 := pow2(125)

# METADATA
# description: >-
#   What a set of sources covers together: per family the merged CIDRs and their public
#   address count, plus the anywhere / broad / unrecognised sources by label.
coverage(sources, tags) := {
	"ipv4": family_coverage({c | some c in classified; c.kind == "cidr"; c.family == 4}),
	"ipv6": family_coverage({c | some c in classified; c.kind == "cidr"; c.family == 6}),
	"anywhere": {c.label | some c in classified; c.kind == "anywhere"},
	"broad": {c.label | some c in classified; c.kind == "broad"},
	"unrecognised": {c.label | some c in classified; c.kind == "unrecognised"},
} if {
	classified := {classify(source, tags) | some source in sources}
}

# entries: the classified CIDR sources of one family ({cidr, label}).
family_coverage(entries) := {"entries": entries, "merged": merged, "public": sum([public_count(m) | some m in merged])} if {
	merged := merge({entry.cidr | some entry in entries})
}

merge(cidrs) := net.cidr_merge(cidrs) if count(cidrs) > 0

merge(cidrs) := set() if count(cidrs) == 0

# The parts of a coverage that expose SSH, as message fragments (empty: not exposed).
exposure(cov) := array.concat(
	array.concat(
		[sprintf("anywhere (%s)", [concat(", ", sort(cov.anywhere))]) | count(cov.anywhere) > 0],
		family_exposure(cov.ipv4, "IPv4", total_public_ipv4, broad_ipv4, broad_ipv4_label),
	),
	array.concat(
		family_exposure(cov.ipv6, "IPv6", total_public_ipv6, broad_ipv6, broad_ipv6_label),
		[concat(", ", sort(cov.broad)) | count(cov.broad) > 0],
	),
)

family_exposure(fam, name, total, _, _) := [sprintf("every public %s address (%s)", [name, public_sources(fam)])] if {
	fam.public == total
}

family_exposure(fam, name, total, limit, label) := [sprintf(
	"%d public %s addresses (%s), at least %s",
	[fam.public, name, public_sources(fam), label],
)] if {
	fam.public < total
	fam.public >= limit
}

family_exposure(fam, _, _, limit, _) := [] if fam.public < limit

# The sources that reach public addresses, as written.
public_sources(fam) := concat(", ", sort({entry.label | some entry in fam.entries; public_count(entry.cidr) > 0}))

exposes(cov) if count(exposure(cov)) > 0

# --- ingress rules, normalised --------------------------------------------------------------
# Every rule becomes {label, rule, group, direction, action, protocol, protocol_unknown,
# ports, ports_unknown, sources, sources_unknown, tags, fix}:
#   direction "ingress" | "egress" | "unknown"; action "allow" | "deny" | "unknown";
#   ports a set of [low, high]; sources the known source strings;
#   group the key of the security group / network / firewall policy / NSG the rule belongs to.

aws_fix := "restrict %s to a known range or use SSM Session Manager"

gcp_fix := "restrict the source ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding"

gcp_policy_fix := "restrict match.src_ip_ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding"

azure_fix := "restrict source_address_prefix(es) to a known range or use Azure Bastion"

aws_group_types := ["aws_security_group", "aws_default_security_group"]

# METADATA
# description: Ingress rules of every supported resource type, in one shape.
rules contains rule if {
	some res in lib.resources
	res.type in aws_group_types
	ingress := lib.blocks(res, "ingress")
	some i, block in ingress
	rule := aws_rule(res, block_name("ingress", i, count(ingress)), lib.resource_key(res), "ingress", block, "from_port", "to_port", "protocol", ["cidr_blocks", "ipv6_cidr_blocks"])
}

rules contains rule if {
	some res in lib.resources
	res.type == "aws_security_group_rule"
	rule := aws_rule(res, "rule", aws_group(res), aws_rule_direction(res), res, "from_port", "to_port", "protocol", ["cidr_blocks", "ipv6_cidr_blocks"])
}

rules contains rule if {
	some res in lib.resources
	res.type == "aws_vpc_security_group_ingress_rule"
	rule := aws_rule(res, "ingress rule", aws_group(res), "ingress", res, "from_port", "to_port", "ip_protocol", ["cidr_ipv4", "cidr_ipv6"])
}

rules contains rule if {
	some res in lib.resources
	res.type == "google_compute_firewall"
	not disabled(res)
	some block in lib.blocks(res, "allow")
	rule := {
		"label": res.label,
		"rule": gcp_rule_name(res),
		"group": gcp_group(res, "network", ["google_compute_network"], "network"),
		"direction": direction(res, "direction", "INGRESS", "EGRESS", "INGRESS"),
		"action": "allow",
		"protocol": protocol(block, "protocol"),
		"protocol_unknown": lib.is_unknown_items(block, "protocol"),
		"ports": gcp_ports(block, "ports"),
		"ports_unknown": lib.is_unknown_items(block, "ports"),
		"sources": gcp_sources(res),
		"sources_unknown": gcp_sources_unknown(res),
		"tags": false,
		"fix": gcp_fix,
	}
}

firewall_policy_rule_types := {
	"google_compute_firewall_policy_rule",
	"google_compute_network_firewall_policy_rule",
	"google_compute_region_network_firewall_policy_rule",
}

firewall_policy_types := [
	"google_compute_firewall_policy",
	"google_compute_network_firewall_policy",
	"google_compute_region_network_firewall_policy",
]

firewall_policy_with_rules_types := {
	"google_compute_firewall_policy_with_rules",
	"google_compute_network_firewall_policy_with_rules",
	"google_compute_region_network_firewall_policy_with_rules",
}

rules contains rule if {
	some res in lib.resources
	res.type in firewall_policy_rule_types
	some rule in policy_rules(res, res, "rule", gcp_group(res, "firewall_policy", firewall_policy_types, "firewall policy"))
}

rules contains rule if {
	some res in lib.resources
	res.type in firewall_policy_with_rules_types
	some node in lib.blocks(res, "rule")
	name := sprintf("rule (priority %v)", [object.get(node.values, "priority", "?")])
	some rule in policy_rules(res, node, name, lib.resource_key(res))
}

rules contains rule if {
	some res in lib.resources
	res.type == "azurerm_network_security_group"
	some block in lib.blocks(res, "security_rule")
	name := sprintf("security_rule %q", [object.get(block.values, "name", "")])
	rule := azure_rule(res, name, lib.resource_key(res), block)
}

rules contains rule if {
	some res in lib.resources
	res.type == "azurerm_network_security_rule"
	rule := azure_rule(res, "inbound rule", azure_group(res), res)
}

block_name(key, _, total) := key if total == 1

block_name(key, i, total) := sprintf("%s[%d]", [key, i]) if total > 1

aws_rule(res, name, group, rule_direction, node, from_key, to_key, protocol_key, source_keys) := {
	"label": res.label,
	"rule": name,
	"group": group,
	"direction": rule_direction,
	"action": "allow",
	"protocol": protocol(node, protocol_key),
	"protocol_unknown": lib.is_unknown_items(node, protocol_key),
	"ports": aws_ports(node, protocol(node, protocol_key), from_key, to_key),
	"ports_unknown": aws_ports_unknown(node, protocol(node, protocol_key), from_key, to_key),
	"sources": {source | some key in source_keys; some source in lib.items(node, key)},
	"sources_unknown": any_unknown(node, source_keys),
	"tags": false,
	"fix": sprintf(aws_fix, [concat("/", source_keys)]),
}

aws_rule_direction(res) := direction(res, "type", "ingress", "egress", "")

# The security group a standalone rule adds to: by reference, else by its known id, else the
# rule stands alone.
aws_group(res) := group if {
	group := lib.referenced_resource(res, "security_group_id", aws_group_types)
} else := sprintf("value:security group %s", [lib.value(res, "security_group_id")]) if {
	lib.value(res, "security_group_id")
} else := lib.resource_key(res)

gcp_group(res, key, types, kind) := group if {
	group := lib.referenced_resource(res, key, types)
} else := sprintf("value:%s %s", [kind, last_segment(lib.value(res, key))]) if {
	is_string(lib.value(res, key))
} else := lib.resource_key(res)

# "projects/p/global/networks/default", a self link or "default" all name network "default".
last_segment(value) := parts[count(parts) - 1] if parts := split(value, "/")

azure_group(res) := group if {
	group := lib.referenced_resource(res, "network_security_group_name", ["azurerm_network_security_group"])
} else := sprintf("value:NSG %s/%s", [lib.value(res, "resource_group_name"), lib.value(res, "network_security_group_name")]) if {
	lib.value(res, "network_security_group_name")
} else := lib.resource_key(res)

# direction(node, key, inbound, outbound, fallback): "ingress" / "egress" for the values meaning
# in / out (case-insensitive), ingress when the attribute is left out and `fallback` is not ""
# (GCP's default), otherwise (unknown, unresolvable, unexpected, left out) "unknown".
direction(node, key, inbound, _, _) := "ingress" if upper(lib.value(node, key)) == upper(inbound)

direction(node, key, _, outbound, _) := "egress" if upper(lib.value(node, key)) == upper(outbound)

direction(node, key, inbound, outbound, _) := "unknown" if {
	value := lib.value(node, key)
	not upper(value) in {upper(inbound), upper(outbound)}
}

direction(node, key, _, _, _) := "unknown" if lib.unknown(node, key)

direction(node, key, _, _, fallback) := "ingress" if {
	not lib.value(node, key)
	not lib.unknown(node, key)
	fallback != ""
}

direction(node, key, _, _, fallback) := "unknown" if {
	not lib.value(node, key)
	not lib.unknown(node, key)
	fallback == ""
}

azure_rule(res, name, group, node) := {
	"label": res.label,
	"rule": name,
	"group": group,
	"direction": direction(node, "direction", "Inbound", "Outbound", ""),
	"action": access(node, "access", {"allow"}, {"deny"}),
	"protocol": protocol(node, "protocol"),
	"protocol_unknown": lib.is_unknown_items(node, "protocol"),
	"ports": {range |
		some key in ["destination_port_range", "destination_port_ranges"]
		some spec in lib.items(node, key)
		range := port_range(spec)
	},
	"ports_unknown": any_unknown(node, ["destination_port_range", "destination_port_ranges"]),
	"sources": {source |
		some key in ["source_address_prefix", "source_address_prefixes"]
		some source in lib.items(node, key)
	},
	"sources_unknown": any_unknown(node, ["source_address_prefix", "source_address_prefixes"]),
	"tags": true,
	"fix": azure_fix,
}

# access(node, key, allows, denies): "allow" / "deny" / "unknown" (unknown, unresolvable, left out).
access(node, key, allows, _) := "allow" if lower(lib.value(node, key)) in allows

access(node, key, _, denies) := "deny" if lower(lib.value(node, key)) in denies

access(node, key, allows, denies) := "unknown" if not known_access(node, key, allows | denies)

known_access(node, key, known) if lower(lib.value(node, key)) in known

protocol(node, key) := lower(sprintf("%v", [lib.value(node, key)])) if lib.value(node, key)

protocol(node, key) := "" if not lib.value(node, key)

any_unknown(node, keys) if {
	some key in keys
	lib.unknown_items(node, key)
} else := false

# AWS: all protocols means all ports; otherwise from_port..to_port.
aws_ports(_, protocol_name, _, _) := {all_ports} if protocol_name in all_protocols

aws_ports(node, protocol_name, from_key, to_key) := {[low, high] |
	low := number(lib.value(node, from_key))
	high := number(lib.value(node, to_key))
} if not protocol_name in all_protocols

aws_ports_unknown(_, protocol_name, _, _) := false if protocol_name in all_protocols

aws_ports_unknown(node, protocol_name, from_key, to_key) := any_unknown(node, [from_key, to_key]) if {
	not protocol_name in all_protocols
}

# GCP: no ports means every port.
gcp_ports(block, key) := {port_range(spec) | some spec in lib.items(block, key)} if {
	count(lib.items(block, key)) > 0
}

gcp_ports(block, key) := {all_ports} if {
	count(lib.items(block, key)) == 0
	not lib.unknown_items(block, key)
}

gcp_ports(block, key) := set() if {
	count(lib.items(block, key)) == 0
	lib.unknown_items(block, key)
}

disabled(res) if lib.value(res, "disabled") == true

gcp_rule_name(res) := "allow block (no source_ranges or source_tags, so GCP applies it to 0.0.0.0/0)" if {
	gcp_sources(res) == {"0.0.0.0/0"}
	count(lib.items(res, "source_ranges")) == 0
} else := "allow block"

# With no source_ranges, source_tags or source_service_accounts, GCP applies an ingress rule
# to every IPv4 source (0.0.0.0/0).
gcp_sources(res) := lib.items(res, "source_ranges") if count(lib.items(res, "source_ranges")) > 0

gcp_sources(res) := {"0.0.0.0/0"} if {
	count(lib.items(res, "source_ranges")) == 0
	every key in ["source_ranges", "source_tags", "source_service_accounts"] {
		count(lib.items(res, key)) == 0
		not lib.unknown_items(res, key)
	}
}

gcp_sources(res) := set() if {
	count(lib.items(res, "source_ranges")) == 0
	some key in ["source_ranges", "source_tags", "source_service_accounts"]
	lib.unknown_items(res, key)
}

gcp_sources(res) := set() if {
	count(lib.items(res, "source_ranges")) == 0
	not lib.unknown_items(res, "source_ranges")
	some key in ["source_tags", "source_service_accounts"]
	count(lib.items(res, key)) > 0
}

gcp_sources_unknown(res) if {
	lib.unknown_items(res, "source_ranges")
} else if {
	count(lib.items(res, "source_ranges")) == 0
	some key in ["source_tags", "source_service_accounts"]
	lib.unknown_items(res, key)
} else := false

# --- GCP firewall policies ------------------------------------------------------------------
# A firewall policy rule (standalone, or a `rule` block of a *_with_rules resource): direction,
# action (allow / apply_security_profile_group let traffic in; deny and goto_next do not),
# disabled, and a match block with layer4_configs (layer4_config in *_with_rules) and sources:
# src_ip_ranges, src_region_codes (whole countries), src_threat_intelligences (public lists),
# src_address_groups (contents unknown here), src_fqdns and src_secure_tags (named hosts and
# VMs). A match without any source is taken as every source.

policy_match_source_keys := [
	"src_ip_ranges", "src_region_codes", "src_threat_intelligences",
	"src_address_groups", "src_fqdns", "src_secure_tags",
]

policy_rules(res, node, name, group) := {rule |
	not disabled(node)
	some match in lib.blocks(node, "match")
	some l4 in policy_layer4(match)
	rule := {
		"label": res.label,
		"rule": policy_rule_name(name, match),
		"group": group,
		"direction": direction(node, "direction", "INGRESS", "EGRESS", ""),
		"action": access(node, "action", {"allow", "apply_security_profile_group"}, {"deny", "goto_next"}),
		"protocol": protocol(l4, "ip_protocol"),
		"protocol_unknown": lib.is_unknown_items(l4, "ip_protocol"),
		"ports": gcp_ports(l4, "ports"),
		"ports_unknown": lib.is_unknown_items(l4, "ports"),
		"sources": policy_sources(match),
		"sources_unknown": policy_sources_unknown(match),
		"tags": false,
		"fix": gcp_policy_fix,
	}
}

policy_layer4(match) := array.concat(lib.blocks(match, "layer4_configs"), lib.blocks(match, "layer4_config"))

policy_rule_name(name, match) := sprintf("%s (no source in match, so every source)", [name]) if {
	policy_sources(match) == {"0.0.0.0/0", "::/0"}
	count(lib.items(match, "src_ip_ranges")) == 0
} else := name

policy_sources(match) := {"0.0.0.0/0", "::/0"} if {
	every key in policy_match_source_keys {
		count(lib.items(match, key)) == 0
		not lib.unknown_items(match, key)
	}
	count(lib.blocks(match, "src_secure_tags")) == 0
} else := sources if {
	sources := ({source |
		some source in lib.items(match, "src_ip_ranges")
	} | {sprintf("region:%s", [code]) |
		some code in lib.items(match, "src_region_codes")
	}) | {sprintf("threat:%s", [list]) |
		some list in lib.items(match, "src_threat_intelligences")
	}
}

# Address groups are resolved by GCP at run time: their contents are unknown here.
policy_sources_unknown(match) if {
	some key in ["src_ip_ranges", "src_region_codes", "src_threat_intelligences", "src_address_groups"]
	lib.unknown_items(match, key)
} else if {
	count(lib.items(match, "src_address_groups")) > 0
} else := false

# --- ports ------------------------------------------------------------------------------------

# "22", 22, "20-25", "*" -> [low, high]
port_range(spec) := all_ports if spec == "*"

port_range(spec) := [number(spec), number(spec)] if number(spec)

port_range(spec) := [number(bounds[0]), number(bounds[1])] if {
	is_string(spec)
	bounds := split(spec, "-")
	count(bounds) == 2
	number(bounds[0])
	number(bounds[1])
}

number(value) := value if is_number(value)

number(value) := to_number(value) if {
	is_string(value)
	regex.match(`^\s*-?[0-9]+\s*$`, value)
}

# --- verdicts -------------------------------------------------------------------------------

covers_ssh_port(rule) if {
	some range in rule.ports
	range[0] <= ssh_port
	ssh_port <= range[1]
}

# METADATA
# description: A rule that surely lets TCP 22 in (direction, action, protocol and ports known).
ssh_candidate(rule) if {
	rule.direction == "ingress"
	rule.action == "allow"
	rule.protocol in ssh_protocols
	covers_ssh_port(rule)
}

rule_coverage(rule) := coverage(rule.sources, rule.tags)

exposed_rule(rule) if {
	ssh_candidate(rule)
	exposes(rule_coverage(rule))
}

# The SSH candidates of one group, and what their sources cover together.
group_members(group) := {rule | some rule in rules; rule.group == group; ssh_candidate(rule)}

group_coverage(group) := coverage(
	{source | some rule in group_members(group); some source in rule.sources},
	any_tags(group_members(group)),
)

any_tags(members) if {
	some rule in members
	rule.tags
} else := false

# A group that is a resource of the input prints as that resource; one known by value (an
# existing security group id, a network name) as that value.
group_label(group) := substring(group, 6, -1) if {
	startswith(group, "value:")
} else := res.label if {
	some res in lib.resources
	lib.resource_key(res) == group
} else := substring(group, indexof(group, "|") + 1, -1)

# METADATA
# description: A rule that may let TCP 22 in from anywhere, but something about it is unknown.
may_expose(rule) if {
	not exposed_rule(rule)
	rule.direction in {"ingress", "unknown"}
	rule.action in {"allow", "unknown"}
	may_carry_tcp(rule)
	may_cover_ssh_port(rule)
	may_be_open(rule)
	count(unknown_parts(rule)) > 0
}

may_carry_tcp(rule) if rule.protocol in ssh_protocols

may_carry_tcp(rule) if rule.protocol_unknown

may_cover_ssh_port(rule) if covers_ssh_port(rule)

may_cover_ssh_port(rule) if rule.ports_unknown

may_be_open(rule) if exposes(rule_coverage(rule))

may_be_open(rule) if rule.sources_unknown

may_be_open(rule) if count(rule_coverage(rule).unrecognised) > 0

# Its known sources would open the group if the rule turned out to be an SSH candidate.
may_be_open(rule) if {
	exposes(coverage(
		{source | some other in group_members(rule.group); some source in other.sources} | rule.sources,
		rule.tags,
	))
}

unknown_parts(rule) := [part |
	some [part, unknown] in [
		["direction", rule.direction == "unknown"],
		["action", rule.action == "unknown"],
		["protocol", rule.protocol_unknown],
		["ports", rule.ports_unknown],
		["sources", rule.sources_unknown],
	]
	unknown
]

# METADATA
# title: SSH open to the world
# description: >-
#   An ingress rule allows TCP 22 from anywhere (or from a broad public range), or the SSH
#   rules of one security group / firewall network / firewall policy / NSG do together.
# scope: document
deny contains msg if {
	some rule in rules
	exposed_rule(rule)
	msg := sprintf(
		"%s: %s allows SSH (22) from %s; %s",
		[rule.label, rule.rule, concat("; ", exposure(rule_coverage(rule))), rule.fix],
	)
}

# The SSH rules of one security group, firewall network, firewall policy or NSG cover anywhere
# together although none does alone (e.g. 0.0.0.0/1 + 128.0.0.0/1).
deny contains msg if {
	some group in {rule.group | some rule in rules}
	members := group_members(group)
	count(members) > 1
	every rule in members {
		not exposed_rule(rule)
	}
	cov := group_coverage(group)
	exposes(cov)
	msg := sprintf(
		"%s: %d ingress rules together allow SSH (22) from %s, although none does alone (%s); %s",
		[
			group_label(group), count(members), concat("; ", exposure(cov)),
			concat(", ", sort({sprintf("%s %s", [rule.label, rule.rule]) | some rule in members})),
			sort({rule.fix | some rule in members})[0],
		],
	)
}

# METADATA
# title: SSH exposure cannot be ruled out
# description: >-
#   An ingress rule may allow TCP 22 from anywhere but its direction, action, protocol, ports
#   or sources are unknown before apply (plan) or not resolvable (HCL), or a source is not a
#   CIDR or tag this policy knows.
# scope: document
warn contains msg if {
	some rule in rules
	may_expose(rule)
	msg := sprintf(
		"%s: %s may allow SSH (22) from anywhere, but its %s cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate",
		[rule.label, rule.rule, concat(" and ", unknown_parts(rule))],
	)
}

warn contains msg if {
	some rule in rules
	not exposed_rule(rule)
	rule.direction in {"ingress", "unknown"}
	rule.action in {"allow", "unknown"}
	may_carry_tcp(rule)
	may_cover_ssh_port(rule)
	unrecognised := rule_coverage(rule).unrecognised
	count(unrecognised) > 0
	msg := sprintf(
		"%s: %s has sources that are neither a CIDR nor a known tag (%s), so SSH (22) from anywhere cannot be ruled out; use CIDRs",
		[rule.label, rule.rule, concat(", ", sort(unrecognised))],
	)
}

warn contains msg if {
	some res in lib.resources
	some key in rule_blocks[res.type]
	lib.unknown_blocks(res, key)
	msg := sprintf(
		"%s: %s rules are dynamic or unknown before apply and cannot be checked for SSH (22) from anywhere; iterate over a literal list (or a variable default) or check the plan JSON gate",
		[res.label, key],
	)
}

rule_blocks := {
	"aws_security_group": ["ingress"],
	"aws_default_security_group": ["ingress"],
	"google_compute_firewall": ["allow"],
	"google_compute_firewall_policy_rule": ["match"],
	"google_compute_network_firewall_policy_rule": ["match"],
	"google_compute_region_network_firewall_policy_rule": ["match"],
	"google_compute_firewall_policy_with_rules": ["rule"],
	"google_compute_network_firewall_policy_with_rules": ["rule"],
	"google_compute_region_network_firewall_policy_with_rules": ["rule"],
	"azurerm_network_security_group": ["security_rule"],
}
