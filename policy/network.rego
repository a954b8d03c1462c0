# METADATA
# title: No SSH from anywhere
# description: >-
#   No ingress rule on any cloud lets TCP port 22 in from anywhere: IPv4 and IPv6 "anywhere"
#   (0.0.0.0/0, ::/0) and Azure's `*`, `Internet`, `Any`, `0.0.0.0`; any port range that
#   contains 22 (AWS from_port..to_port, GCP "22"/"20-25"/no ports, Azure "22"/"*"/"20-25");
#   TCP or all protocols (AWS -1/all, GCP all, Azure *). Covers ingress blocks of
#   aws_security_group and aws_default_security_group, aws_security_group_rule,
#   aws_vpc_security_group_ingress_rule, google_compute_firewall, security_rule blocks of
#   azurerm_network_security_group, and azurerm_network_security_rule. Rules that may expose
#   SSH but use values unknown before apply (or unresolvable in HCL) are warnings.
# scope: package
package terraform.network

import data.terraform.lib

# Sources meaning "anywhere", compared lower-case (Azure service tags Internet / Any).
anywhere := {"0.0.0.0/0", "::/0", "0.0.0.0", "*", "internet", "any"}

# Protocols that carry SSH: TCP by name or number, and "all".
ssh_protocols := {"tcp", "6", "-1", "all", "*"}

# Protocols whose rules ignore ports.
all_protocols := {"-1", "all"}

all_ports := [0, 65535]

# --- ingress rules, normalised --------------------------------------------------------------
# Every rule becomes {label, rule, protocol, protocol_unknown, ports, ports_unknown, sources,
# sources_unknown, fix}: ports is a set of [low, high], sources the known source ranges.

aws_fix := "restrict %s to a known range or use SSM Session Manager"

# METADATA
# description: Ingress rules of every supported resource type, in one shape.
ingress_rules contains rule if {
	some res in lib.resources
	res.type in {"aws_security_group", "aws_default_security_group"}
	some block in lib.blocks(res, "ingress")
	rule := aws_rule(res.label, "ingress", block, "from_port", "to_port", "protocol", ["cidr_blocks", "ipv6_cidr_blocks"])
}

ingress_rules contains rule if {
	some res in lib.resources
	res.type == "aws_security_group_rule"
	lib.value(res, "type") == "ingress"
	rule := aws_rule(res.label, "ingress rule", res, "from_port", "to_port", "protocol", ["cidr_blocks", "ipv6_cidr_blocks"])
}

ingress_rules contains rule if {
	some res in lib.resources
	res.type == "aws_vpc_security_group_ingress_rule"
	rule := aws_rule(res.label, "ingress rule", res, "from_port", "to_port", "ip_protocol", ["cidr_ipv4", "cidr_ipv6"])
}

ingress_rules contains rule if {
	some res in lib.resources
	res.type == "google_compute_firewall"
	gcp_ingress(res)
	not disabled(res)
	some block in lib.blocks(res, "allow")
	rule := {
		"label": res.label,
		"rule": gcp_rule_name(res),
		"protocol": protocol(block, "protocol"),
		"protocol_unknown": lib.is_unknown_items(block, "protocol"),
		"ports": gcp_ports(block),
		"ports_unknown": lib.is_unknown_items(block, "ports"),
		"sources": gcp_sources(res),
		"sources_unknown": lib.is_unknown_items(res, "source_ranges"),
		"fix": "restrict source_ranges to a known range (for example IAP's 35.235.240.0/20) or use IAP TCP forwarding",
	}
}

ingress_rules contains rule if {
	some res in lib.resources
	res.type == "azurerm_network_security_group"
	some block in lib.blocks(res, "security_rule")
	rule := azure_rule(res.label, sprintf("security_rule %q", [object.get(block.values, "name", "")]), block)
}

ingress_rules contains rule if {
	some res in lib.resources
	res.type == "azurerm_network_security_rule"
	rule := azure_rule(res.label, "inbound rule", res)
}

aws_rule(label, name, node, from_key, to_key, protocol_key, source_keys) := {
	"label": label,
	"rule": name,
	"protocol": protocol(node, protocol_key),
	"protocol_unknown": lib.is_unknown_items(node, protocol_key),
	"ports": aws_ports(node, protocol(node, protocol_key), from_key, to_key),
	"ports_unknown": aws_ports_unknown(node, protocol(node, protocol_key), from_key, to_key),
	"sources": {source | some key in source_keys; some source in lib.items(node, key)},
	"sources_unknown": any_unknown(node, source_keys),
	"fix": sprintf(aws_fix, [concat("/", source_keys)]),
}

azure_rule(label, name, node) := {
	"label": label,
	"rule": name,
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
	"fix": "restrict source_address_prefix(es) to a known range or use Azure Bastion",
} if {
	lower(lib.value(node, "direction")) == "inbound"
	lower(lib.value(node, "access")) == "allow"
}

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

# GCP: an allow block without ports allows every port.
gcp_ports(block) := {port_range(spec) | some spec in lib.items(block, "ports")} if {
	count(lib.items(block, "ports")) > 0
}

gcp_ports(block) := {all_ports} if {
	count(lib.items(block, "ports")) == 0
	not lib.unknown_items(block, "ports")
}

gcp_ports(block) := set() if {
	count(lib.items(block, "ports")) == 0
	lib.unknown_items(block, "ports")
}

disabled(res) if lib.value(res, "disabled") == true

gcp_rule_name(res) := "allow block (no source_ranges or source_tags, so GCP applies it to 0.0.0.0/0)" if {
	gcp_sources(res) == {"0.0.0.0/0"}
	count(lib.items(res, "source_ranges")) == 0
} else := "allow block"

# direction defaults to INGRESS.
gcp_ingress(res) if not lib.value(res, "direction")

gcp_ingress(res) if upper(lib.value(res, "direction")) == "INGRESS"

# With no source_ranges, source_tags or source_service_accounts, GCP applies an ingress rule
# to every source (0.0.0.0/0).
gcp_sources(res) := lib.items(res, "source_ranges") if count(lib.items(res, "source_ranges")) > 0

gcp_sources(res) := {"0.0.0.0/0"} if {
	count(lib.items(res, "source_ranges")) == 0
	not lib.unknown_items(res, "source_ranges")
	every key in ["source_tags", "source_service_accounts"] {
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

open_sources(rule) := {source | some source in rule.sources; lower(source) in anywhere}

covers_ssh_port(rule) if {
	some range in rule.ports
	range[0] <= 22
	22 <= range[1]
}

exposes_ssh(rule) if {
	rule.protocol in ssh_protocols
	covers_ssh_port(rule)
	count(open_sources(rule)) > 0
}

may_expose_ssh(rule) if {
	not exposes_ssh(rule)
	may_carry_tcp(rule)
	may_cover_ssh_port(rule)
	may_be_open(rule)
}

may_carry_tcp(rule) if rule.protocol in ssh_protocols

may_carry_tcp(rule) if rule.protocol_unknown

may_cover_ssh_port(rule) if covers_ssh_port(rule)

may_cover_ssh_port(rule) if rule.ports_unknown

may_be_open(rule) if count(open_sources(rule)) > 0

may_be_open(rule) if rule.sources_unknown

# METADATA
# title: SSH open to the world
# description: An ingress rule allows TCP 22 from anywhere.
# scope: document
deny contains msg if {
	some rule in ingress_rules
	exposes_ssh(rule)
	msg := sprintf(
		"%s: %s allows SSH (22) from %s; %s",
		[rule.label, rule.rule, concat(", ", sort(open_sources(rule))), rule.fix],
	)
}

# METADATA
# title: SSH exposure cannot be ruled out
# description: >-
#   An ingress rule may allow TCP 22 from anywhere but a protocol, port or source is unknown
#   before apply (plan) or not resolvable (HCL), or the rules are `dynamic` blocks.
# scope: document
warn contains msg if {
	some rule in ingress_rules
	may_expose_ssh(rule)
	msg := sprintf(
		"%s: %s may allow SSH (22) from anywhere, but its %s cannot be evaluated before apply; make them literal (or variable defaults) or check the plan JSON gate",
		[rule.label, rule.rule, unknown_parts(rule)],
	)
}

warn contains msg if {
	some res in lib.resources
	some key in rule_blocks[res.type]
	lib.unknown_blocks(res, key)
	msg := sprintf(
		"%s: %s rules are dynamic or unknown before apply and cannot be checked for SSH (22) from anywhere; the plan JSON gate checks them",
		[res.label, key],
	)
}

rule_blocks := {
	"aws_security_group": ["ingress"],
	"aws_default_security_group": ["ingress"],
	"google_compute_firewall": ["allow"],
	"azurerm_network_security_group": ["security_rule"],
}

unknown_parts(rule) := concat(" and ", [part |
	some part, unknown in {"protocol": rule.protocol_unknown, "ports": rule.ports_unknown, "sources": rule.sources_unknown}
	unknown
])
