# METADATA
# title: Tests for terraform.gke (no Compute Engine default service account on GKE nodes)
package terraform.gke_test

import data.terraform.gke as policy

hcl(type, name, block) := {"resource": {type: {name: [block]}}}

plan(type, name, after, unknown) := {"resource_changes": [{
	"address": sprintf("%s.%s", [type, name]),
	"mode": "managed",
	"type": type,
	"name": name,
	"change": {"actions": ["create"], "after": after, "after_unknown": unknown},
}]}

nodes_sa := "${google_service_account.gke_nodes.email}"

test_fail_cluster_default_pool_without_node_config if {
	cluster := {"remove_default_node_pool": true, "initial_node_count": 1}
	policy.deny == {"google_container_cluster.this: node_config (default node pool) runs nodes as the Compute Engine default service account (Editor; disabled in locked-down organizations); set service_account to a dedicated account with only the node roles"} with input as hcl("google_container_cluster", "this", cluster)
}

test_fail_default_account_spelled_out_or_left_out if {
	every config in [{}, {"service_account": "default"}, {"service_account": "123456789-compute@developer.gserviceaccount.com"}] {
		count(policy.deny) == 1 with input as hcl("google_container_node_pool", "pool", {"node_config": [config]})
		count(policy.deny) == 1 with input as hcl("google_container_cluster", "c", {"node_config": [config]})
	}
	count(policy.deny) == 1 with input as hcl("google_container_node_pool", "pool", {"node_count": 1})
	count(policy.deny) == 1 with input as hcl("google_container_cluster", "c", {"node_config": [{"service_account": nodes_sa}], "node_pool": [{"node_config": [{}]}]})
}

test_success_dedicated_account_and_autopilot if {
	count(policy.deny) == 0 with input as hcl("google_container_cluster", "c", {"node_config": [{"service_account": nodes_sa}]})
	count(policy.deny) == 0 with input as hcl("google_container_node_pool", "p", {"node_config": [{"service_account": nodes_sa}]})
	count(policy.deny) == 0 with input as hcl("google_container_cluster", "auto", {"enable_autopilot": true})
	count(policy.deny) == 0 with input as plan("google_container_node_pool", "p", {"node_config": [{"service_account": "nodes@p.iam.gserviceaccount.com"}]}, {})
}

test_warn_service_account_unknown if {
	input_plan := plan("google_container_node_pool", "p", {"node_config": [{}]}, {"node_config": [{"service_account": true}]})
	count(policy.deny) == 0 with input as input_plan
	policy.warn == {"google_container_node_pool.p: node_config.service_account cannot be evaluated before apply, so it is not checked against the Compute Engine default account; reference a google_service_account or check the plan JSON gate"} with input as input_plan
	count(policy.warn) == 1 with input as hcl("google_container_node_pool", "p", {"node_config": [{"service_account": "${var.sa}"}]})
	count(policy.warn) == 0 with input as hcl("google_container_node_pool", "p", {"node_config": [{"service_account": nodes_sa}]})
	count(policy.deny) == 0 with input as hcl("google_container_cluster", "c", {"dynamic": {"node_config": [{"for_each": "${var.x}"}]}})
}
