# METADATA
# title: Terraform input normalisation
# description: >-
#   Turns every input shape the gates feed Conftest into one set of resources, so that
#   tags.rego, network.rego and compute.rego are written once:
#   (a) Terraform plan JSON (`terraform show -json tfplan`): `resource_changes[]` that are
#   created or updated, values from `change.after`, unknowns from `change.after_unknown`;
#   (b) raw HCL as Conftest's hcl2 parser yields it: one file (`input.resource.<type>.<name>[]`)
#   or `conftest test --combine <root dir>` (`input[] = {path, contents}`). Combined files are
#   grouped by directory (one directory = one Terraform root or module), and whole-value
#   references `"${var.x}"` / `"${local.x}"` are resolved from the variable defaults and
#   locals of the same directory. Files under `.terraform/` (downloaded modules) are skipped.
# scope: package
package terraform.lib

# --- input shapes -------------------------------------------------------------------------

# METADATA
# description: Conftest ran with --combine, input is an array of {path, contents}.
combined if is_array(input)

# One document per parsed file ("path" and "dir" are "" when Conftest passed a single file).
documents contains {"path": "", "dir": "", "contents": input} if not combined

documents contains {"path": file.path, "dir": dirname(file.path), "contents": file.contents} if {
	combined
	some file in input
	not in_terraform_cache(file.path)
}

plan_documents contains doc if {
	some doc in documents
	is_array(doc.contents.resource_changes)
}

hcl_documents contains doc if {
	some doc in documents
	is_object(doc.contents)
	not doc.contents.resource_changes
	is_hcl_path(doc.path)
}

# A single input has no path; combined inputs count only for Terraform files
# (.tfvars, .terraform.lock.hcl, JSON and YAML files sit beside them).
is_hcl_path(path) if path == ""

is_hcl_path(path) if endswith(path, ".tf")

in_terraform_cache(path) if regex.match(`(^|/)\.terraform/`, path)

dirname(path) := concat("/", array.slice(parts, 0, count(parts) - 1)) if parts := split(path, "/")

hcl_dirs contains doc.dir if some doc in hcl_documents

# --- resources ----------------------------------------------------------------------------

# METADATA
# description: >-
#   Managed resources of either shape, as nodes {address, label, type, name, cloud, hcl, dir,
#   values, unknown}. label is what messages print: the plan address, or for combined HCL
#   "<type>.<name> (<file>)".
resources contains res if {
	some doc in plan_documents
	some change in doc.contents.resource_changes
	change.mode == "managed"
	creates_or_updates(change.change.actions)
	res := {
		"address": change.address,
		"label": change.address,
		"type": change.type,
		"name": change.name,
		"cloud": cloud_of(change.type),
		"hcl": false,
		"dir": doc.dir,
		"values": object.get(change.change, "after", {}),
		"unknown": object.get(change.change, "after_unknown", {}),
	}
}

resources contains res if {
	some doc in hcl_documents
	some type, named_blocks in doc.contents.resource
	some name, blocks in named_blocks
	some block in blocks
	address := sprintf("%s.%s", [type, name])
	res := {
		"address": address,
		"label": hcl_label(address, doc.path),
		"type": type,
		"name": name,
		"cloud": cloud_of(type),
		"hcl": true,
		"dir": doc.dir,
		"values": block,
		"unknown": {},
	}
}

creates_or_updates(actions) if {
	some action in actions
	action in {"create", "update"}
}

hcl_label(address, path) := address if path == ""

hcl_label(address, path) := sprintf("%s (%s)", [address, path]) if path != ""

cloud_of(type) := "aws" if startswith(type, "aws_")

cloud_of(type) := "gcp" if startswith(type, "google_")

cloud_of(type) := "azure" if startswith(type, "azurerm_")

cloud_of(type) := "other" if {
	not startswith(type, "aws_")
	not startswith(type, "google_")
	not startswith(type, "azurerm_")
}

# --- references (HCL) ---------------------------------------------------------------------

# METADATA
# description: >-
#   Per directory: "local.<name>" -> local value and "var.<name>" -> variable default, the
#   values a whole-value reference like "${var.ssh_cidr}" can be resolved to without a plan.
named_values[dir] := object.union(local_values(dir), variable_defaults(dir)) if some dir in hcl_dirs

local_values(dir) := {sprintf("local.%s", [name]): value |
	some doc in hcl_documents
	doc.dir == dir
	some block in doc.contents.locals
	some name, value in block
}

variable_defaults(dir) := {sprintf("var.%s", [name]): block["default"] |
	some doc in hcl_documents
	doc.dir == dir
	some name, blocks in doc.contents.variable
	some block in blocks
	"default" in object.keys(block)
}

# "local.tags" for "${local.tags}"; undefined for anything that is not one whole reference.
reference_name(value) := substring(value, 2, count(value) - 3) if {
	is_string(value)
	regex.match(`^\$\{(var|local)\.[A-Za-z0-9_-]+\}$`, value)
}

resolve_once(dir, value) := named_values[dir][reference_name(value)] if {
	reference_name(value)
} else := value

# Follows up to three hops (a local naming a variable naming ...).
resolve(dir, value) := resolve_once(dir, resolve_once(dir, resolve_once(dir, value)))

# METADATA
# description: A value only known at plan time, e.g. "${var.no_default}" or "${aws_vpc.main.cidr_block}-x".
is_unresolved(value) if {
	is_string(value)
	contains(value, "${")
}

# --- attribute access, both shapes ----------------------------------------------------------
# A node is a resource (or a nested block) with values, unknown, dir and hcl.

resolved(node, value) := resolve(node.dir, value) if node.hcl

resolved(node, value) := value if not node.hcl

# METADATA
# description: The known, non-null value of attribute key (HCL references resolved).
value(node, key) := v if {
	v := resolved(node, node.values[key])
	v != null
	not is_unresolved(v)
}

# METADATA
# description: Attribute key is set but its value is unknown (plan) or unresolvable (HCL).
unknown(node, key) if {
	not node.hcl
	unknown_flag(node.unknown, key)
}

unknown(node, key) if {
	node.hcl
	is_unresolved(resolved(node, node.values[key]))
}

unknown_flag(flags, _) if flags == true

unknown_flag(flags, key) if {
	is_object(flags)
	flags[key] == true
}

# METADATA
# description: >-
#   The known items of a list attribute (a scalar counts as a one-item list), HCL references
#   resolved; null, empty and unresolvable items are dropped (see unknown_items).
items(node, key) := {item |
	some element in as_list(resolved(node, node.values[key]))
	item := resolved(node, element)
	item != null
	item != ""
	not is_unresolved(item)
}

# METADATA
# description: Some item of a list attribute (or the whole list) is unknown / unresolvable.
unknown_items(node, key) if unknown(node, key)

unknown_items(node, key) if {
	not node.hcl
	is_array(node.unknown[key])
	some flag in node.unknown[key]
	flag == true
}

unknown_items(node, key) if {
	node.hcl
	some element in as_list(resolved(node, node.values[key]))
	is_unresolved(resolved(node, element))
}

as_list(value) := value if is_array(value)

as_list(value) := [value] if not is_array(value)

# METADATA
# description: >-
#   Nested blocks of a node (`ingress`, `node_config`, ...) as child nodes; in plan JSON each
#   child carries its slice of after_unknown.
blocks(node, key) := [child |
	some i, block in as_list(resolved(node, node.values[key]))
	is_object(block)
	child := {
		"values": block,
		"unknown": child_unknown(node.unknown, key, i),
		"dir": node.dir,
		"hcl": node.hcl,
	}
]

child_unknown(flags, key, i) := flags[key][i] if {
	is_object(flags[key][i])
} else := {}

# METADATA
# description: >-
#   Nested blocks that cannot be evaluated: a `dynamic "<key>"` block or a reference in HCL,
#   an unknown block list in the plan.
unknown_blocks(node, key) if unknown(node, key)

unknown_blocks(node, key) if {
	node.hcl
	node.values.dynamic[key]
}

# A boolean for the normalised records built in network.rego and compute.rego.
is_unknown_items(node, key) if unknown_items(node, key)

else := false
