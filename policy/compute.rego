# METADATA
# title: Approved instance types
# description: >-
#   VMs and Kubernetes node pools use only the instance types / machine types / VM sizes listed
#   per cloud in policy/data/approved_instance_types.yaml. Defaults count: an
#   aws_eks_node_group without instance_types gets EKS's t3.medium, a google_container_node_pool
#   without machine_type gets GKE's e2-medium. Values unknown before apply (plan) or not
#   resolvable (HCL) are warnings.
# schemas:
#   - data.approved_instance_types: {"type": "object"}
# scope: package
package terraform.compute

import data.terraform.lib

# METADATA
# description: >-
#   The approved lists. `conftest --data policy/data` loads the YAML at
#   data.approved_instance_types; `opa test policy/` loads it under its directory name,
#   data.data.approved_instance_types. Both work.
approved_instance_types := data.approved_instance_types if {
	data.approved_instance_types
} else := data.data.approved_instance_types

approved(cloud) := {lower(sprintf("%v", [type])) | some type in approved_instance_types[cloud]}

# Defaults the cloud applies when the size is left out.
eks_default_instance_type := "t3.medium"

gke_default_machine_type := "e2-medium"

# --- where sizes are set --------------------------------------------------------------------
# Every setting becomes {label, cloud, field, types, unknown}: types are the known values.

# Types with one size attribute at the top level.
size_attributes := {
	"aws_instance": "instance_type",
	"aws_launch_template": "instance_type",
	"google_compute_instance": "machine_type",
	"google_compute_instance_template": "machine_type",
	"google_compute_region_instance_template": "machine_type",
	"azurerm_linux_virtual_machine": "size",
	"azurerm_windows_virtual_machine": "size",
	"azurerm_virtual_machine": "vm_size",
	"azurerm_linux_virtual_machine_scale_set": "sku",
	"azurerm_windows_virtual_machine_scale_set": "sku",
	"azurerm_kubernetes_cluster_node_pool": "vm_size",
}

# METADATA
# description: Size settings of every supported resource type, in one shape.
size_settings contains setting(res, key, res, key) if {
	some res in lib.resources
	key := size_attributes[res.type]
}

size_settings contains setting(res, "default_node_pool.vm_size", pool, "vm_size") if {
	some res in lib.resources
	res.type == "azurerm_kubernetes_cluster"
	some pool in lib.blocks(res, "default_node_pool")
}

# GKE cluster: only explicit machine types (a default pool left unset is GKE's e2-medium,
# and is usually removed with remove_default_node_pool).
size_settings contains setting(res, "node_config.machine_type", config, "machine_type") if {
	some res in lib.resources
	res.type == "google_container_cluster"
	some config in lib.blocks(res, "node_config")
}

size_settings contains setting(res, "node_pool.node_config.machine_type", config, "machine_type") if {
	some res in lib.resources
	res.type == "google_container_cluster"
	some pool in lib.blocks(res, "node_pool")
	some config in lib.blocks(pool, "node_config")
}

size_settings contains defaulted_setting(res, "instance_types", res, "instance_types", eks_default_instance_type) if {
	some res in lib.resources
	res.type == "aws_eks_node_group"
}

size_settings contains defaulted_setting(res, "node_config.machine_type", config, "machine_type", gke_default_machine_type) if {
	some res in lib.resources
	res.type == "google_container_node_pool"
	some config in node_configs(res)
}

# A node pool without node_config still gets the default machine type.
node_configs(res) := lib.blocks(res, "node_config") if count(lib.blocks(res, "node_config")) > 0

node_configs(res) := [{"values": {}, "unknown": {}, "dir": res.dir, "hcl": res.hcl}] if {
	count(lib.blocks(res, "node_config")) == 0
}

setting(res, field, node, key) := {
	"label": res.label,
	"cloud": res.cloud,
	"field": field,
	"types": lib.items(node, key),
	"unknown": lib.is_unknown_items(node, key),
}

# Left out = the cloud's default. In a plan an optional+computed size the config leaves out
# shows as unknown, so there unknown also means the default; in HCL it means unresolvable.
defaulted_setting(res, field, node, key, default_type) := object.union(
	setting(res, field, node, key),
	{"types": {default_type}, "unknown": false},
) if {
	count(lib.items(node, key)) == 0
	defaults_apply(node, key)
} else := setting(res, field, node, key)

defaults_apply(node, _) if not node.hcl

defaults_apply(node, key) if not lib.unknown_items(node, key)

# --- verdicts -------------------------------------------------------------------------------

cloud_names := {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}

# METADATA
# title: Instance type not approved
# description: A VM or node pool uses a size outside policy/data/approved_instance_types.yaml.
# scope: document
deny contains msg if {
	some setting in size_settings
	allowed := approved(setting.cloud)
	some type in setting.types
	not lower(sprintf("%v", [type])) in allowed
	msg := sprintf(
		"%s: %s %q is not an approved %s instance type; use one of %s (policy/data/approved_instance_types.yaml)",
		[setting.label, setting.field, type, cloud_names[setting.cloud], concat(", ", approved_instance_types[setting.cloud])],
	)
}

deny contains msg if {
	some setting in size_settings
	count(setting.types) > 0
	not approved_instance_types[setting.cloud]
	msg := sprintf(
		"%s: no approved %s instance types are loaded, so %s cannot be checked; run conftest with --data policy/data",
		[setting.label, cloud_names[setting.cloud], setting.field],
	)
}

# METADATA
# title: Instance type cannot be verified
# description: The size is unknown before apply (plan) or not resolvable (HCL).
# scope: document
warn contains msg if {
	some setting in size_settings
	setting.unknown
	msg := sprintf(
		"%s: %s cannot be evaluated before apply, so it is not checked against the approved %s instance types; use a literal or a variable default (the plan JSON gate checks the real value)",
		[setting.label, setting.field, cloud_names[setting.cloud]],
	)
}
