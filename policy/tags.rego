# METADATA
# title: Required tags
# description: >-
#   Every taggable resource carries the tags `managed-by` and `environment` with a non-empty
#   value: AWS `tags` (plan: `tags_all`, which includes provider `default_tags`), GCP labels
#   (plan: `terraform_labels`/`effective_labels`, which include provider `default_labels`; HCL:
#   `labels`/`resource_labels` plus `default_labels`), Azure `tags` (no provider defaults).
#   Unknown tags (plan `after_unknown`) and unresolvable HCL expressions are warnings, never a
#   silent pass. See README.md for which resources count as taggable.
# scope: package
package terraform.tags

import data.terraform.lib

required_tags := {"environment", "managed-by"}

# --- taggable resources ---------------------------------------------------------------------
# A resource is checked when its type is in taggable_types, or when it visibly has tags:
# plan JSON: the provider schema puts the tag attributes in change.after / after_unknown;
# HCL: the block sets tags / labels / resource_labels. Anything else (associations, IAM
# bindings and attachments, rules, routes, data sources) is left alone.

# METADATA
# description: >-
#   Taggable types checked even when they set no tags. Used for HCL, where a resource that
#   omits `tags` shows no attribute to look at; in plan JSON the schema says the same.
taggable_types := {
	# AWS
	"aws_acm_certificate", "aws_cloudwatch_log_group", "aws_cloudwatch_metric_alarm",
	"aws_customer_gateway", "aws_db_instance", "aws_db_subnet_group", "aws_default_network_acl",
	"aws_default_route_table", "aws_default_security_group", "aws_dynamodb_table",
	"aws_ebs_volume", "aws_ec2_transit_gateway", "aws_ecr_repository", "aws_efs_file_system",
	"aws_egress_only_internet_gateway", "aws_eip", "aws_eks_access_entry", "aws_eks_addon",
	"aws_eks_cluster", "aws_eks_fargate_profile", "aws_eks_identity_provider_config",
	"aws_eks_node_group", "aws_eks_pod_identity_association", "aws_elasticache_cluster",
	"aws_flow_log", "aws_iam_instance_profile", "aws_iam_openid_connect_provider",
	"aws_iam_policy", "aws_iam_role", "aws_iam_user", "aws_instance", "aws_internet_gateway",
	"aws_key_pair", "aws_kms_key", "aws_lambda_function", "aws_launch_template", "aws_lb",
	"aws_lb_listener", "aws_lb_target_group", "aws_nat_gateway", "aws_network_acl",
	"aws_network_interface", "aws_route53_zone", "aws_route_table", "aws_s3_bucket",
	"aws_secretsmanager_secret", "aws_security_group", "aws_sns_topic", "aws_sqs_queue",
	"aws_ssm_parameter", "aws_subnet", "aws_vpc", "aws_vpc_dhcp_options", "aws_vpc_endpoint",
	"aws_vpc_peering_connection", "aws_vpc_security_group_egress_rule",
	"aws_vpc_security_group_ingress_rule", "aws_vpn_connection", "aws_vpn_gateway",
	# GCP (labels; google_container_cluster: resource_labels)
	"google_artifact_registry_repository", "google_bigquery_dataset",
	"google_cloud_run_v2_service", "google_cloudfunctions2_function", "google_compute_address",
	"google_compute_disk", "google_compute_forwarding_rule", "google_compute_global_address",
	"google_compute_image", "google_compute_instance", "google_compute_instance_template",
	"google_compute_region_instance_template", "google_compute_snapshot",
	"google_container_cluster", "google_dns_managed_zone", "google_filestore_instance",
	"google_kms_crypto_key", "google_project", "google_pubsub_subscription",
	"google_pubsub_topic", "google_redis_instance", "google_secret_manager_secret",
	"google_storage_bucket",
	# Azure
	"azurerm_application_gateway", "azurerm_application_security_group",
	"azurerm_bastion_host", "azurerm_container_registry", "azurerm_disk_encryption_set",
	"azurerm_dns_zone", "azurerm_firewall", "azurerm_key_vault", "azurerm_key_vault_key",
	"azurerm_key_vault_secret", "azurerm_kubernetes_cluster",
	"azurerm_kubernetes_cluster_node_pool", "azurerm_lb", "azurerm_linux_virtual_machine",
	"azurerm_linux_virtual_machine_scale_set", "azurerm_log_analytics_workspace",
	"azurerm_managed_disk", "azurerm_monitor_action_group", "azurerm_mssql_server",
	"azurerm_nat_gateway", "azurerm_network_interface", "azurerm_network_security_group",
	"azurerm_network_watcher", "azurerm_network_watcher_flow_log",
	"azurerm_postgresql_flexible_server", "azurerm_private_dns_zone", "azurerm_private_endpoint",
	"azurerm_public_ip", "azurerm_resource_group", "azurerm_route_table",
	"azurerm_storage_account", "azurerm_user_assigned_identity", "azurerm_virtual_machine",
	"azurerm_virtual_network", "azurerm_windows_virtual_machine",
	"azurerm_windows_virtual_machine_scale_set",
}

# Tag attributes as the plan shows them (provider defaults already merged in).
plan_tag_attributes := {
	"aws": ["tags_all", "tags"],
	"gcp": ["terraform_labels", "effective_labels", "labels", "resource_labels"],
	"azure": ["tags"],
}

# Attributes whose presence in the plan proves the type takes provider-level tags/labels.
# (GCP: only resources with terraform_labels take default_labels; a bare `labels` can be
# configuration, e.g. on google_monitoring_notification_channel.)
plan_taggable_markers := {
	"aws": ["tags_all", "tags"],
	"gcp": ["terraform_labels", "effective_labels"],
	"azure": ["tags"],
}

# Tag attributes as written in HCL.
hcl_tag_attributes := {
	"aws": ["tags"],
	"gcp": ["labels", "resource_labels"],
	"azure": ["tags"],
}

# GCP types whose `labels` argument is not resource labels.
not_resource_labels := {"google_monitoring_notification_channel"}

# METADATA
# description: Resources this policy checks.
taggable contains res if {
	some res in lib.resources
	res.type in taggable_types
}

taggable contains res if {
	some res in lib.resources
	not res.hcl
	some attribute in plan_taggable_markers[res.cloud]
	has_attribute(res, attribute)
}

taggable contains res if {
	some res in lib.resources
	res.hcl
	not res.type in not_resource_labels
	some attribute in hcl_tag_attributes[res.cloud]
	res.values[attribute] != null
}

has_attribute(res, attribute) if attribute in object.keys(res.values)

has_attribute(res, attribute) if res.unknown[attribute]

# --- plan JSON ------------------------------------------------------------------------------

plan_tag_keys(res) := {key |
	some attribute in plan_tag_attributes[res.cloud]
	tags := res.values[attribute]
	is_object(tags)
	some key, value in tags
	filled(value)
}

plan_tags_unknown(res) if {
	some attribute in plan_tag_attributes[res.cloud]
	res.unknown[attribute] == true
}

plan_tags_unknown(res) if {
	some attribute in plan_tag_attributes[res.cloud]
	some flag in res.unknown[attribute]
	flag == true
}

# --- HCL ------------------------------------------------------------------------------------

# Map expressions as hcl2json writes them, with the keys they define:
#   {"k": "v", ...}                      a literal map (values may be "${var.x}")
#   "${local.tags}" / "${var.tags}"      a map defined in locals / a variable default
#   "${merge(local.tags, {Name = ...})}" the union of the keys of every argument
# map_keys is undefined for anything else (for-expressions, module outputs, functions).

map_keys(expression, _) := {key | some key, value in expression; filled(value)} if is_object(expression)

map_keys(expression, maps) := maps[lib.reference_name(expression)]

map_keys(expression, maps) := keys if {
	arguments := merge_arguments(expression)
	every reference in arguments.references {
		maps[reference]
	}
	keys := merge_keys(arguments, maps)
}

# Whitespace around `merge(` is allowed; the argument list may span lines.
merge_pattern := `^\$\{\s*merge\(([\s\S]*)\)\s*\}$`

# An HCL object constructor, allowing "${...}" interpolations (one level) inside it.
object_pattern := `\{(?:[^{}]|\$\{[^{}]*\})*\}`

# A key at the start of an object item: `{Name =`, `, "managed-by" =`, newline `env:`.
object_key_pattern := `(?:^|[{,\n])\s*"?([A-Za-z0-9_./:@-]+)"?\s*[=:]`

# merge(...) split into its object literals (as key sets) and its other arguments
# ("local.tags", "var.extra", or anything else, which then stays unresolved).
merge_arguments(expression) := {"objects": objects, "references": references} if {
	is_string(expression)
	[[_, inner]] := regex.find_all_string_submatch_n(merge_pattern, expression, 1)
	objects := [object_literal_keys(literal) | some literal in regex.find_n(object_pattern, inner, -1)]
	rest := regex.replace(inner, object_pattern, "")
	references := [trim_space(argument) |
		some argument in split(rest, ",")
		trim_space(argument) != ""
	]
}

# The keys of the arguments that can be resolved.
merge_keys(arguments, maps) := {key |
	some part in array.concat(arguments.objects, [maps[ref] | some ref in arguments.references])
	some key in part
}

# The keys an expression surely defines: all of them when it resolves, else those of the
# resolvable merge() arguments (the rest is reported as unresolved).
known_keys(expression, maps) := keys if {
	keys := map_keys(expression, maps)
} else := keys if {
	keys := merge_keys(merge_arguments(expression), maps)
} else := set()

object_literal_keys(literal) := {match[1] | some match in regex.find_all_string_submatch_n(object_key_pattern, literal, -1)}

# METADATA
# description: >-
#   Per directory, "local.<name>" / "var.<name>" -> the tag keys of that map. Two levels, so a
#   local built with merge() of other locals resolves too.
known_maps[dir] := object.union(first, second) if {
	some dir in lib.hcl_dirs
	first := {name: map_keys(value, {}) | some name, value in lib.named_values[dir]; is_object(value)}
	second := {name: keys |
		some name, value in lib.named_values[dir]
		not is_object(value)
		keys := map_keys(value, first)
	}
}

# The maps that end up in a resource's tags: provider defaults, then the resource's own.
tag_expressions(res) := array.concat(default_tag_expressions(res), [expression |
	some attribute in hcl_tag_attributes[res.cloud]
	expression := res.values[attribute]
	expression != null
])

default_tag_expressions(res) := [block.default_tags[0].tags |
	some block in provider_blocks(res)
	block.default_tags[0].tags
] if res.cloud == "aws"

default_tag_expressions(res) := [block.default_labels |
	some block in provider_blocks(res)
	block.default_labels
] if res.cloud == "gcp"

default_tag_expressions(res) := [] if res.cloud == "azure"

hcl_tag_keys(res) := {key |
	some expression in tag_expressions(res)
	some key in known_keys(expression, object.get(known_maps, res.dir, {}))
}

unresolved_tag_expressions(res) := [expression |
	some expression in tag_expressions(res)
	not map_keys(expression, object.get(known_maps, res.dir, {}))
]

# Provider blocks that configure the resource: same directory, same provider and alias
# (`provider = aws.use1`), hcl2json writes that reference as "${aws.use1}".
provider_blocks(res) := [block |
	some doc in lib.hcl_documents
	doc.dir == res.dir
	some block in doc.contents.provider[provider.name]
	object.get(block, "alias", "") == provider.alias
] if provider := provider_of(res)

provider_of(res) := {"name": match[1], "alias": match[3]} if {
	[match] := regex.find_all_string_submatch_n(`^\$\{([a-z0-9-]+)(\.([A-Za-z0-9_-]+))?\}$`, res.values.provider, 1)
} else := {"name": default_provider[res.cloud], "alias": ""}

default_provider := {"aws": "aws", "gcp": "google", "azure": "azurerm"}

provider_visible(res) if count(provider_blocks(res)) > 0

# --- findings -------------------------------------------------------------------------------

filled(value) if {
	value != null
	value != ""
}

missing_tags(res) := required_tags - plan_tag_keys(res) if not res.hcl

missing_tags(res) := required_tags - hcl_tag_keys(res) if res.hcl

# What to write where, per cloud.
fix := {
	"aws": "add them to default_tags in the provider \"aws\" block or to the resource's tags",
	"gcp": "add them to default_labels in the provider \"google\" block or to the resource's labels (resource_labels on google_container_cluster)",
	"azure": "add them to the resource's tags (azurerm has no provider default tags; e.g. tags = local.tags)",
}

noun := {"aws": "tags", "gcp": "labels", "azure": "tags"}

# METADATA
# title: Required tags are missing
# description: A taggable resource lacks managed-by or environment.
# scope: document
deny contains msg if {
	some res in taggable
	not res.hcl
	missing := missing_tags(res)
	count(missing) > 0
	not plan_tags_unknown(res)
	msg := sprintf("%s: missing required %s %s; %s", [res.label, noun[res.cloud], names(missing), fix[res.cloud]])
}

deny contains msg if {
	some res in taggable
	res.hcl
	missing := missing_tags(res)
	count(missing) > 0
	count(unresolved_tag_expressions(res)) == 0
	defaults_checked(res)
	msg := sprintf("%s: missing required %s %s; %s", [res.label, noun[res.cloud], names(missing), fix[res.cloud]])
}

# Provider defaults were visible (or the cloud has none), so absent tags are really absent.
defaults_checked(res) if res.cloud == "azure"

defaults_checked(res) if provider_visible(res)

# METADATA
# title: Required tags cannot be verified
# description: Tags unknown until apply, an unresolvable expression, or provider defaults not in view.
# scope: document
warn contains msg if {
	some res in taggable
	not res.hcl
	missing := missing_tags(res)
	count(missing) > 0
	plan_tags_unknown(res)
	msg := sprintf(
		"%s: %s are unknown until apply (after_unknown), so required %s %s are not verified; make every tag value known at plan time",
		[res.label, noun[res.cloud], noun[res.cloud], names(missing)],
	)
}

warn contains msg if {
	some res in taggable
	res.hcl
	missing := missing_tags(res)
	count(missing) > 0
	unresolved := unresolved_tag_expressions(res)
	count(unresolved) > 0
	msg := sprintf(
		"%s: cannot resolve %s = %s, so required %s %s are not verified; use a literal map, a local, a variable default or merge() of those (the plan JSON gate checks the real values)",
		[res.label, noun[res.cloud], shorten(unresolved[0]), noun[res.cloud], names(missing)],
	)
}

warn contains msg if {
	some res in taggable
	res.hcl
	missing := missing_tags(res)
	count(missing) > 0
	count(unresolved_tag_expressions(res)) == 0
	not defaults_checked(res)
	msg := sprintf(
		"%s: required %s %s are missing unless the provider \"%s\" block adds them, and that block is not in this input; run conftest test --combine on the whole Terraform root directory",
		[res.label, noun[res.cloud], names(missing), provider_of(res).name],
	)
}

names(keys) := concat(", ", sort(keys))

# An HCL expression on one line, at most 80 characters.
shorten(expression) := short if {
	one_line := regex.replace(sprintf("%v", [expression]), `\s+`, " ")
	text := regex.replace(one_line, `^\$\{(.*)\}$`, "$1")
	short := truncate(text, 80)
}

truncate(text, limit) := text if count(text) <= limit

truncate(text, limit) := sprintf("%s...", [substring(text, 0, limit - 3)]) if count(text) > limit
