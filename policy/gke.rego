# METADATA
# title: GKE nodes never run as the Compute Engine default service account
# description: >-
#   Every GKE node configuration names its own service account: google_container_cluster
#   node_config (the default node pool boots with it even when remove_default_node_pool removes
#   it afterwards) and node_pool blocks, and google_container_node_pool node_config. Left out,
#   "default" or <number>-compute@developer.gserviceaccount.com mean the Compute Engine default
#   account, which has the Editor role and which locked-down organizations disable, so the
#   cluster never gets ready there. Autopilot clusters are skipped. Values unknown before apply
#   (or unresolvable in HCL) are warnings.
# scope: package
package terraform.gke

import data.terraform.lib

default_account_pattern := `(?i)^(default|[0-9]+-compute@developer\.gserviceaccount\.com)$`

# Every node configuration: {label, field, node} (node is the node_config block, or null when
# the block is left out).
node_configs contains {"label": res.label, "field": "node_config", "node": config} if {
	some res in lib.resources
	res.type == "google_container_cluster"
	not autopilot(res)
	some config in lib.blocks(res, "node_config")
}

node_configs contains {"label": res.label, "field": "node_config (default node pool)", "node": null} if {
	some res in lib.resources
	res.type == "google_container_cluster"
	not autopilot(res)
	count(lib.blocks(res, "node_config")) == 0
	not lib.unknown_blocks(res, "node_config")
}

node_configs contains {"label": res.label, "field": "node_pool.node_config", "node": config} if {
	some res in lib.resources
	res.type == "google_container_cluster"
	some pool in lib.blocks(res, "node_pool")
	some config in lib.blocks(pool, "node_config")
}

node_configs contains {"label": res.label, "field": "node_config", "node": config} if {
	some res in lib.resources
	res.type == "google_container_node_pool"
	some config in lib.blocks(res, "node_config")
}

node_configs contains {"label": res.label, "field": "node_config", "node": null} if {
	some res in lib.resources
	res.type == "google_container_node_pool"
	count(lib.blocks(res, "node_config")) == 0
	not lib.unknown_blocks(res, "node_config")
}

autopilot(res) if lib.value(res, "enable_autopilot") == true

default_account(setting) if setting.node == null

default_account(setting) if {
	setting.node != null
	not lib.value(setting.node, "service_account")
	not lib.unknown(setting.node, "service_account")
}

default_account(setting) if regex.match(default_account_pattern, lib.value(setting.node, "service_account"))

# "${google_service_account.nodes.email}": an account this configuration creates, so not the
# default one.
dedicated_account_reference(node) if lib.referenced_resource(node, "service_account", ["google_service_account"])

# METADATA
# title: GKE nodes use the Compute Engine default service account
# description: A node configuration leaves out service_account or names the default account.
# scope: document
deny contains msg if {
	some setting in node_configs
	default_account(setting)
	msg := sprintf(
		"%s: %s runs nodes as the Compute Engine default service account (Editor; disabled in locked-down organizations); set service_account to a dedicated account with only the node roles",
		[setting.label, setting.field],
	)
}

# METADATA
# title: GKE node service account cannot be verified
# description: The service account is unknown before apply (plan) or not resolvable (HCL).
# scope: document
warn contains msg if {
	some setting in node_configs
	setting.node != null
	lib.unknown(setting.node, "service_account")
	not dedicated_account_reference(setting.node)
	msg := sprintf(
		"%s: %s.service_account cannot be evaluated before apply, so it is not checked against the Compute Engine default account; reference a google_service_account or check the plan JSON gate",
		[setting.label, setting.field],
	)
}
