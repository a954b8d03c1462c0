# METADATA
# title: Terraform input normalisation
# description: >-
#   Turns every input shape the gates feed Conftest into one set of resources, so that
#   tags.rego, network.rego, compute.rego and iam.rego are written once:
#   (a) Terraform plan JSON (`terraform show -json tfplan`): `resource_changes[]` that are
#   created or updated, values from `change.after`, unknowns from `change.after_unknown`, and
#   the references of each attribute from `configuration`;
#   (b) raw HCL as Conftest's hcl2 parser yields it: one file (`input.resource.<type>.<name>[]`)
#   or `conftest test --combine <root dir>` (`input[] = {path, contents}`);
#   (c) Terraform JSON syntax (`*.tf.json`, which Conftest parses as plain JSON): the same
#   sections, but a label level or a nested block may be one object instead of a list. It is
#   normalised into the shape of (b).
#   Combined files are grouped by directory (one directory = one Terraform root or module), and
#   whole-value references `"${var.x}"` / `"${local.x}"` are resolved from the variable defaults
#   and locals of the same directory. `dynamic` blocks whose `for_each` is a literal list, map or
#   set (or a variable default / local holding one) are expanded like Terraform does. Files
#   under `.terraform/` (downloaded modules) are skipped.
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

# METADATA
# description: >-
#   Terraform configuration files (HCL or JSON syntax), contents normalised to the hcl2 shape.
hcl_documents contains {"path": doc.path, "dir": doc.dir, "contents": terraform_syntax(doc.contents)} if {
	some doc in documents
	is_object(doc.contents)
	not doc.contents.resource_changes
	is_hcl_path(doc.path)
}

# A single input has no path; combined inputs count only for Terraform files, HCL (.tf) or
# JSON syntax (.tf.json). .tfvars, .terraform.lock.hcl, other JSON and YAML files sit beside
# them and are skipped.
is_hcl_path(path) if path == ""

is_hcl_path(path) if endswith(path, ".tf")

is_hcl_path(path) if endswith(path, ".tf.json")

in_terraform_cache(path) if regex.match(`(^|/)\.terraform/`, path)

dirname(path) := concat("/", array.slice(parts, 0, count(parts) - 1)) if parts := split(path, "/")

hcl_dirs contains doc.dir if some doc in hcl_documents

# --- Terraform JSON syntax ------------------------------------------------------------------
# hcl2 (what Conftest makes of .tf): resource.<type>.<name> = [block], variable.<name> =
# [block], locals = [block], provider.<name> = [block], nested blocks are lists.
# JSON syntax (.tf.json): any of those levels may be a single object instead of a list, and
# `resource` itself may be a list of {<type>: ...} objects. terraform_syntax() rewrites the
# sections the policies read into the hcl2 shape; hcl2 input passes through unchanged.

# METADATA
# description: A configuration file's contents in the hcl2 shape, whatever its syntax.
terraform_syntax(contents) := object.union(contents, object.union_n([
	{key: by_type_and_name(contents[key]) | some key in {"resource", "data"}; contents[key]},
	{key: by_name(contents[key]) | some key in {"variable", "output", "module"}; contents[key]},
	{"provider": providers(contents.provider) | contents.provider},
	{"locals": as_list(contents.locals) | contents.locals},
]))

by_type_and_name(section) := {type: {name: labelled_blocks(section, type, name) |
	some name in section_names(section, type)
} |
	some type in section_types(section)
}

section_types(section) := {type |
	some element in as_list(section)
	is_object(element)
	some type, _ in element
	type != "//"
}

section_names(section, type) := {name |
	some element in as_list(section)
	some named in as_list(element[type])
	is_object(named)
	some name, _ in named
	name != "//"
}

labelled_blocks(section, type, name) := [block |
	some element in as_list(section)
	some named in as_list(element[type])
	some block in as_list(named[name])
]

by_name(section) := {name: [block | some element in as_list(section); some block in as_list(element[name])] |
	some element in as_list(section)
	is_object(element)
	some name, _ in element
	name != "//"
}

# Provider blocks, with default_tags as a list of blocks (tags.rego reads default_tags[0]).
providers(section) := {name: [provider_block(block) | some block in blocks] |
	some name, blocks in by_name(section)
}

provider_block(block) := object.union(block, {"default_tags": as_list(block.default_tags)}) if {
	block.default_tags
} else := block

# --- resources ----------------------------------------------------------------------------

# METADATA
# description: >-
#   Managed resources of either shape, as nodes {address, label, type, name, cloud, hcl, dir,
#   values, unknown, refs}. label is what messages print: the plan address, or for combined
#   HCL "<type>.<name> (<file>)". refs (plan JSON only) maps an attribute to the resources and
#   values its configuration expression refers to, qualified with the module path.
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
		"refs": plan_references(doc, change),
	}
}

resources contains res if {
	some doc in hcl_documents
	some type, named_blocks in doc.contents.resource
	some name, blocks in named_blocks
	some block in blocks
	is_object(block)
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
		"refs": {},
	}
}

# METADATA
# description: >-
#   Data sources of HCL configuration files (data "<type>" "<name>"), as nodes like resources,
#   addressed data.<type>.<name>. (In plan JSON they are already read into the resources.)
data_sources contains node if {
	some doc in hcl_documents
	some type, named_blocks in doc.contents.data
	some name, blocks in named_blocks
	some block in blocks
	is_object(block)
	address := sprintf("data.%s.%s", [type, name])
	node := {
		"address": address,
		"label": hcl_label(address, doc.path),
		"type": type,
		"name": name,
		"cloud": cloud_of(type),
		"hcl": true,
		"dir": doc.dir,
		"values": block,
		"unknown": {},
		"refs": {},
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

# --- plan JSON: configuration references ---------------------------------------------------
# `terraform show -json` keeps the configuration beside the changes: every resource block (in
# root_module, and in module_calls.<name>.module for modules) lists, per attribute, the
# references of its expression, e.g. security_group_id -> ["aws_security_group.web.id",
# "aws_security_group.web"]. They tie a rule to its security group even when the group's id
# is unknown until apply.

# METADATA
# description: Per plan document path, configuration address -> its expressions.
plan_configuration[doc.path] := {address: block.expressions |
	some path, block
	walk(doc.contents.configuration, [path, block])
	is_object(block)
	block.mode == "managed"
	is_object(block.expressions)
	address := concat("", [module_prefix(path), block.address])
} if some doc in plan_documents

# ["root_module", "module_calls", "a", "module", "resources", 0] -> "module.a."
module_prefix(path) := concat("", [sprintf("module.%s.", [path[i + 1]]) |
	some i, step in path
	step == "module_calls"
])

# module.net[0].aws_security_group.web["x"] -> module.net.aws_security_group.web
without_indexes(address) := regex.replace(address, `\[[^\]]*\]`, "")

# "module.net." for module.net[0].aws_security_group.web, "" at the root.
address_module_prefix(change) := sprintf("%s.", [without_indexes(change.module_address)]) if {
	change.module_address
} else := ""

plan_references(doc, change) := {key: [concat("", [prefix, reference]) |
	some reference in expression.references
] |
	prefix := address_module_prefix(change)
	expressions := plan_configuration[doc.path][sprintf("%s%s.%s", [prefix, change.type, change.name])]
	some key, expression in expressions
	is_array(expression.references)
}

# METADATA
# description: >-
#   "<dir>|<address without indexes>" of a resource: the key other resources use to refer to
#   it (see referenced_resource).
resource_key(res) := sprintf("%s|%s", [res.dir, without_indexes(res.address)])

# METADATA
# description: >-
#   The key (see resource_key) of the resource of one of `types` that attribute `key` refers
#   to: "${aws_security_group.web.id}" in HCL, the configuration references in plan JSON.
referenced_resource(node, key, types) := sort(refs)[0] if {
	refs := referenced_resources(node, key, types)
	count(refs) > 0
}

referenced_resources(node, key, types) := {ref |
	node.hcl
	[match] := regex.find_all_string_submatch_n(
		`^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.[A-Za-z0-9_]+\}$`,
		node.values[key],
		1,
	)
	match[1] in types
	ref := sprintf("%s|%s.%s", [node.dir, match[1], match[2]])
} if node.hcl

referenced_resources(node, key, types) := {ref |
	some reference in node.refs[key]
	[match] := regex.find_all_string_submatch_n(
		`^((?:module\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?\.)*)([a-z0-9_]+)\.([A-Za-z0-9_-]+)`,
		reference,
		1,
	)
	match[2] in types
	ref := sprintf("%s|%s%s.%s", [node.dir, without_indexes(match[1]), match[2], match[3]])
} if not node.hcl

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
#   child carries its slice of after_unknown. In HCL the blocks a `dynamic "<key>"` block
#   generates are appended when its for_each can be resolved (see dynamic_blocks).
blocks(node, key) := array.concat(written_blocks(node, key), dynamic_blocks(node, key))

written_blocks(node, key) := [child |
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

# --- dynamic blocks (HCL) -------------------------------------------------------------------
# hcl2 writes `dynamic "ingress" { for_each = [...] content { from_port = ingress.value.port } }`
# as {"dynamic": {"ingress": [{"for_each": [...], "content": [{"from_port":
# "${ingress.value.port}"}]}]}}. Terraform generates one block per element; so does this, when
# for_each is a literal list / map / set, toset([...]) / tolist([...]) of strings, or a
# variable default or local holding one. Whole-value references to the iterator
# ("${ingress.value}", "${ingress.value.port}", "${ingress.key}") are replaced by the element's
# values; anything else stays an (unresolvable) expression.

# METADATA
# description: The `dynamic "<key>"` blocks of a node (HCL only).
dynamic_specs(node, key) := [spec |
	node.hcl
	some group in as_list(node.values.dynamic)
	some spec in as_list(group[key])
	is_object(spec)
]

dynamic_blocks(node, key) := [child |
	some spec in dynamic_specs(node, key)
	elements := for_each_items(node, spec.for_each)
	iterator := iterator_name(spec, key)
	some content in as_list(spec.content)
	is_object(content)
	some item in elements
	child := {
		"values": substitute_iterator(content, iterator, item),
		"unknown": {},
		"dir": node.dir,
		"hcl": true,
	}
]

# `iterator = rule` is written "${rule}" by hcl2 and "rule" in JSON syntax.
iterator_name(spec, _) := trim_suffix(trim_prefix(spec.iterator, "${"), "}") if is_string(spec.iterator)

iterator_name(spec, key) := key if not is_string(object.get(spec, "iterator", null))

# METADATA
# description: >-
#   The elements a for_each expression iterates over, as [{key, value}]; undefined when the
#   expression cannot be resolved without a plan.
for_each_items(node, expression) := pairs if {
	collection := literal_collection(resolve(node.dir, expression))
	pairs := collection_items(collection)
}

literal_collection(value) := value if is_array(value)

literal_collection(value) := value if is_object(value)

# toset(["a", "b"]) / tolist([...]) of string literals, as hcl2 writes them.
literal_collection(value) := [element |
	[[_, inner]] := regex.find_all_string_submatch_n(`^\$\{to(?:set|list)\(\[([^\[\]{}$]*)\]\)\}$`, value, 1)
	some part in split(inner, ",")
	trim_space(part) != ""
	element := json.unmarshal(trim_space(part))
] if {
	is_string(value)
	regex.match(`^\$\{to(set|list)\(\[(\s*"[^"\\]*"\s*,?)*\s*\]\)\}$`, value)
}

# A list iterates with key = index, a map with key = map key; toset() elements are their own
# keys, which the list form approximates closely enough for the values the policies read.
collection_items(value) := [{"key": i, "value": element} | some i, element in value] if is_array(value)

collection_items(value) := [{"key": k, "value": element} | some k, element in value] if is_object(value)

# Replaces every whole-string iterator reference in the content block (at any depth) by the
# JSON value it denotes.
substitute_iterator(content, iterator, item) := json.unmarshal(strings.replace_n(
	iterator_replacements(iterator, item),
	json.marshal(content),
))

iterator_replacements(iterator, item) := object.union_n([
	{
		json.marshal(sprintf("${%s.value}", [iterator])): json.marshal(item.value),
		json.marshal(sprintf("${%s.key}", [iterator])): json.marshal(item.key),
	},
	{json.marshal(sprintf("${%s.value.%s}", [iterator, concat(".", path)])): json.marshal(leaf) |
		some path, leaf
		walk(item.value, [path, leaf])
		count(path) > 0
		every step in path {
			is_string(step)
		}
	},
])

# METADATA
# description: >-
#   Nested blocks that cannot be evaluated: a `dynamic "<key>"` block whose for_each cannot be
#   resolved, or a reference in HCL; an unknown block list in the plan.
unknown_blocks(node, key) if unknown(node, key)

unknown_blocks(node, key) if {
	some spec in dynamic_specs(node, key)
	not for_each_items(node, object.get(spec, "for_each", null))
}

# A boolean for the normalised records built in network.rego and compute.rego.
is_unknown_items(node, key) if unknown_items(node, key)

else := false
