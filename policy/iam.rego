# METADATA
# title: IAM that keeps dev out of prod
# description: >-
#   Checks the IAM policy documents of a Terraform root (HCL data "aws_iam_policy_document"
#   blocks; in plan JSON the policy, assume_role_policy and inline_policy JSON of aws_iam_policy,
#   aws_iam_role_policy and aws_iam_role) so that an environment's deploy role cannot reach
#   another environment, directly or through a role it creates:
#   (1) no write or data-reading action on "*" (or on every resource of a type) without a
#   condition on a tag that names the environment, unless it is one of the few actions that
#   have no resource (Session Manager channels) or are pinned by their own condition;
#   (2) every statement that lets a role be created or its permissions changed requires
#   iam:PermissionsBoundary to be the same environment's boundary, and that boundary itself
#   allows only environment-scoped writes and no IAM or STS;
#   (3) GitHub OIDC trust policies pin the audience and, with StringEquals, the repository and
#   the GitHub environment; a role trusted for a branch instead of an environment may only read;
#   (4) iam:PassRole needs iam:PassedToService and the environment, iam:UpdateAssumeRolePolicy
#   a tag condition on the environment; nothing may remove a permissions boundary;
#   (5) ec2:RunInstances on instances is limited to the approved instance types.
#   Documents or values that cannot be read without a plan are warnings, never a silent pass.
# scope: package
package terraform.iam

import data.terraform.compute
import data.terraform.lib

environments := {"dev", "prod"}

# --- policy documents, normalised ---------------------------------------------------------------
# A document: {id, label, dir, hcl, env, statements}; env is "each" for an HCL document with
# for_each (one per environment, the environment being each.key), an environment named in the
# document's (or its role's / policy's) name, or "". A statement: {sid, effect, actions,
# not_actions, resources, not_resources, principals, conditions: [{test, variable, values}]}.

# METADATA
# description: Every IAM policy document of the input, HCL and plan JSON.
documents contains doc if {
	some node in lib.data_sources
	node.type == "aws_iam_policy_document"
	doc := {
		"id": lib.resource_key(node),
		"label": node.label,
		"dir": node.dir,
		"hcl": true,
		"env": hcl_env(node),
		"statements": [hcl_statement(block) | some block in lib.blocks(node, "statement")],
	}
}

documents contains doc if {
	some res in lib.resources
	not res.hcl
	some attribute, text in plan_policy_texts(res)
	json.is_valid(text)
	parsed := json.unmarshal(text)
	doc := {
		"id": plan_document_id(res, attribute),
		"label": sprintf("%s (%s)", [res.address, attribute]),
		"dir": res.dir,
		"hcl": false,
		"env": name_env(plan_names(res)),
		"statements": [json_statement(statement) | some statement in lib.as_list(object.get(parsed, "Statement", []))],
	}
}

hcl_env(node) := "each" if node.values.for_each

hcl_env(node) := name_env(node.name) if not node.values.for_each

# The one environment a name mentions as a word ("plan_prod_refresh", "gitops-infra-deploy-dev").
name_env(name) := env if {
	envs := {e | some e in environments; mentions_word(name, e)}
	count(envs) == 1
	some env in envs
} else := ""

mentions_word(text, word) if regex.match(sprintf(`(^|[^a-z])%s([^a-z]|$)`, [word]), lower(text))

hcl_statement(node) := {
	"sid": object.get(node.values, "sid", ""),
	"effect": effect(node),
	"actions": raw_list(node, "actions"),
	"not_actions": raw_list(node, "not_actions"),
	"resources": raw_list(node, "resources"),
	"not_resources": raw_list(node, "not_resources"),
	"principals": count(array.concat(lib.blocks(node, "principals"), lib.blocks(node, "not_principals"))) > 0,
	"conditions": [{
		"test": raw_string(condition, "test"),
		"variable": raw_string(condition, "variable"),
		"values": raw_list(condition, "values"),
	} |
		some condition in lib.blocks(node, "condition")
	],
}

effect(node) := lib.value(node, "effect") if lib.value(node, "effect")

effect(node) := "Allow" if not lib.value(node, "effect")

# The items of a list attribute with variable defaults and locals resolved, keeping expressions
# that cannot be resolved as their "${...}" text (the checks below read ARNs and conditions
# textually).
raw_list(node, key) := [lib.resolved(node, item) |
	some item in lib.as_list(lib.resolved(node, object.get(node.values, key, [])))
	item != null
]

raw_string(node, key) := sprintf("%v", [lib.resolved(node, node.values[key])]) if node.values[key] != null

raw_string(node, key) := "" if object.get(node.values, key, null) == null

json_statement(statement) := {
	"sid": object.get(statement, "Sid", ""),
	"effect": object.get(statement, "Effect", "Allow"),
	"actions": lib.as_list(object.get(statement, "Action", [])),
	"not_actions": lib.as_list(object.get(statement, "NotAction", [])),
	"resources": lib.as_list(object.get(statement, "Resource", [])),
	"not_resources": lib.as_list(object.get(statement, "NotResource", [])),
	"principals": count({key | some key in ["Principal", "NotPrincipal"]; statement[key]}) > 0,
	"conditions": [{"test": test, "variable": variable, "values": lib.as_list(values)} |
		some test, by_variable in object.get(statement, "Condition", {})
		some variable, values in by_variable
	],
}

# Plan JSON: the policy texts of a resource, attribute -> JSON string (known values only).
plan_policy_texts(res) := object.union(
	{attribute: res.values[attribute] |
		some attribute in object.get(policy_attributes, res.type, [])
		is_string(res.values[attribute])
	},
	{sprintf("inline_policy[%d]", [i]): block.policy |
		res.type == "aws_iam_role"
		some i, block in lib.as_list(object.get(res.values, "inline_policy", []))
		is_string(block.policy)
	},
)

policy_attributes := {
	"aws_iam_policy": ["policy"],
	"aws_iam_role_policy": ["policy"],
	"aws_iam_role": ["assume_role_policy"],
}

plan_document_id(res, attribute) := sprintf("%s|%s|%s", [res.dir, res.address, attribute])

# Names that tell a plan document's environment: the policy's and its role's.
plan_names(res) := concat(" ", [sprintf("%v", [object.get(res.values, key, "")]) | some key in ["name", "role"]])

# METADATA
# description: Allow statements of identity policies and boundaries (no principals).
allows(doc) := [statement |
	some statement in doc.statements
	lower(statement.effect) == "allow"
	not statement.principals
]

# --- actions ------------------------------------------------------------------------------------

# Action names and patterns are compared as IAM does: case-insensitively, `*` and `?` as
# wildcards. action_covers(pattern, action): the pattern matches the action name.
action_covers(pattern, action) if regex.match(glob_regex(pattern), action)

glob_regex(pattern) := sprintf("(?i)^%s$", [replace(replace(regex.replace(pattern, `[.+^$(){}|\[\]\\*?]`, `\$0`), `\*`, ".*"), `\?`, ".")])

# Verbs that only return metadata. A pattern is a read when its verb starts with one of them
# ("ec2:Describe*") and it covers none of the data-reading actions below.
read_verbs := {"Describe", "Get", "List", "BatchGet", "BatchCheck", "Head", "Simulate", "Lookup", "Search", "View"}

# Reads that return data (secrets, parameters, objects, items, key material in use).
data_reads := [
	"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
	"ec2:GetPasswordData", "kms:Decrypt", "lambda:GetFunction", "s3:GetObject",
	"s3:GetObjectVersion", "secretsmanager:GetSecretValue", "ssm:GetParameter",
	"ssm:GetParameterHistory", "ssm:GetParameters", "ssm:GetParametersByPath",
]

is_read(action) if {
	[_, verb] := split(action, ":")
	prefix := trim_right(verb, "*")
	prefix != ""
	some read_verb in read_verbs
	startswith(lower(prefix), lower(read_verb))
	not reads_data(action)
}

reads_data(action) if {
	some data_read in data_reads
	action_covers(action, data_read)
}

# Only reads, data reads included (what a role trusted without a GitHub environment may do).
read_only(action) if is_read(action)

read_only(action) if {
	some data_read in data_reads
	action_covers(data_read, action)
}

# --- resources and conditions ---------------------------------------------------------------------

# "unscoped": "*", or every resource of a type ("arn:...:instance/*"); "env": a resource named
# after the environment; "scoped": a named resource or a reference to one; "unknown": an
# expression that cannot be read without a plan.
resource_scope(_, resource) := "unscoped" if resource == "*"

resource_scope(doc, resource) := scope if {
	startswith(resource, "arn:")
	parts := split(resource, ":")
	count(parts) >= 6
	part := regex.replace(concat(":", array.slice(parts, 5, count(parts))), `\$\{[^}]*\}`, "X")
	scope := arn_scope(doc, resource, part)
}

resource_scope(doc, resource) := scope if {
	regex.match(`^\$\{(data\.)?(aws|google|azurerm)_[a-z0-9_]+\.[A-Za-z0-9_-]+`, resource)
	scope := named_scope(doc, resource)
}

resource_scope(_, resource) := "unknown" if {
	not startswith(resource, "arn:")
	resource != "*"
	contains(resource, "${")
	not regex.match(`^\$\{(data\.)?(aws|google|azurerm)_[a-z0-9_]+\.[A-Za-z0-9_-]+`, resource)
}

resource_scope(doc, resource) := named_scope(doc, resource) if {
	not startswith(resource, "arn:")
	resource != "*"
	not contains(resource, "${")
}

arn_scope(_, _, part) := "unscoped" if regex.match(`^(\*|[A-Za-z0-9-]+/\*|\*/\*)$`, part)

arn_scope(doc, resource, part) := named_scope(doc, resource) if not regex.match(`^(\*|[A-Za-z0-9-]+/\*|\*/\*)$`, part)

named_scope(doc, resource) := "env" if mentions_env(doc, resource)

named_scope(doc, resource) := "scoped" if not mentions_env(doc, resource)

# The text names the document's environment: each.key / each.value in a for_each document, the
# environment's name otherwise (any environment's when the document has none).
mentions_env(doc, text) if {
	doc.env == "each"
	regex.match(`each\.(key|value)`, text)
}

mentions_env(doc, text) if {
	doc.env in environments
	mentions_word(text, doc.env)
}

mentions_env(doc, text) if {
	doc.env == ""
	some env in environments
	mentions_word(text, env)
}

mentions_env(doc, text) if {
	doc.env == ""
	regex.match(`each\.(key|value)`, text)
}

exact_tests := {"StringEquals", "StringLike", "ArnEquals", "ArnLike"}

# A condition that only holds for resources (or requests) of the document's environment:
# StringEquals/StringLike on a resource or request tag whose key or values name it.
env_condition(doc, statement) if {
	some condition in statement.conditions
	condition.test in {"StringEquals", "StringLike"}
	regex.match(`(?i)^[a-z0-9-]+:(resourcetag|requesttag)/.+`, condition.variable)
	mentions_env(doc, sprintf("%s %s", [condition.variable, json.marshal(condition.values)]))
}

has_condition(statement, variable) if {
	some condition in statement.conditions
	lower(condition.variable) == lower(variable)
	condition.test in (exact_tests | {"Bool", "Null", "NumericEquals"})
}

# Actions that may run on "*" without an environment condition: Session Manager's channels
# have no resource-level permissions and carry the caller's own session; the others are pinned
# by their own condition key.
unscoped_allowed := [
	{"action": "ssmmessages:*", "type": "", "key": ""},
	{"action": "ec2messages:*", "type": "", "key": ""},
	{"action": "iam:CreateServiceLinkedRole", "type": "", "key": "iam:AWSServiceName"},
	{"action": "ec2:CreateTags", "type": "", "key": "ec2:CreateAction"},
	{"action": "ec2:RunInstances", "type": "image", "key": "ec2:Owner"},
]

exempt(statement, action, resource) if {
	some entry in unscoped_allowed
	action_covers(entry.action, action)
	resource_type_matches(resource, entry.type)
	condition_present(statement, entry.key)
}

resource_type_matches(_, "") := true

resource_type_matches(resource, type) if {
	type != ""
	regex.match(sprintf(`^arn:[^:]*:[^:]*:[^:]*:[^:]*:%s/`, [type]), resource)
}

condition_present(_, "") := true

condition_present(statement, key) if {
	key != ""
	has_condition(statement, key)
}

truncated(items) := concat(", ", items) if count(items) <= 6

truncated(items) := sprintf("%s and %d more", [concat(", ", array.slice(items, 0, 6)), count(items) - 6]) if count(items) > 6

statement_name(statement) := sprintf("statement %q", [statement.sid]) if statement.sid != ""

statement_name(statement) := "a statement without sid" if statement.sid == ""

# --- (1) writes on everything ---------------------------------------------------------------------

unscoped_writes(doc, statement) := sort({action |
	some action in statement.actions
	not is_read(action)
	some resource in statement.resources
	resource_scope(doc, resource) == "unscoped"
	not exempt(statement, action, resource)
})

unknown_writes(doc, statement) := sort({action |
	some action in statement.actions
	not is_read(action)
	some resource in statement.resources
	resource_scope(doc, resource) == "unknown"
})

# METADATA
# title: IAM lets one environment reach another
# description: >-
#   A write or data read on every resource without an environment condition; a role that can
#   be created or changed without the environment's boundary; a boundary that is not scoped to
#   its environment; a GitHub trust policy that does not pin audience, repository and
#   environment; PassRole / UpdateAssumeRolePolicy without conditions; instance types outside
#   the approved list.
# scope: document
deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	writes := unscoped_writes(doc, statement)
	count(writes) > 0
	not env_condition(doc, statement)
	msg := sprintf(
		"%s: %s allows %s on every resource (%s) without a condition on a tag naming the environment (aws:ResourceTag/environment or aws:RequestTag/environment) and without a resource ARN scoped to it",
		[doc.label, statement_name(statement), truncated(writes), concat(", ", {r | some r in statement.resources; resource_scope(doc, r) == "unscoped"})],
	)
}

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	some key, element in {"not_actions": "NotAction", "not_resources": "NotResource"}
	count(statement[key]) > 0
	msg := sprintf(
		"%s: %s is an Allow with %s, which grants everything it does not list; list the actions and resources instead",
		[doc.label, statement_name(statement), element],
	)
}

# --- (2) permissions boundaries -------------------------------------------------------------------

# Actions that create a role or user or change what it may do: each must require the
# environment's boundary.
permission_changing_actions := [
	"iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:CreateRole", "iam:CreateUser",
	"iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
	"iam:PutRolePolicy", "iam:PutUserPermissionsBoundary", "iam:PutUserPolicy",
]

boundary_removing_actions := ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]

covered(statement, names) := sort({name |
	some action in statement.actions
	some name in names
	action_covers(action, name)
})

boundary_conditions(statement) := [condition |
	some condition in statement.conditions
	lower(condition.variable) == "iam:permissionsboundary"
	condition.test in exact_tests
]

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	actions := covered(statement, permission_changing_actions)
	count(actions) > 0
	count(boundary_conditions(statement)) == 0
	msg := sprintf(
		"%s: %s allows %s without an iam:PermissionsBoundary condition: a role created or changed this way is not capped by the environment's boundary",
		[doc.label, statement_name(statement), concat(", ", actions)],
	)
}

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	actions := covered(statement, permission_changing_actions)
	count(actions) > 0
	some condition in boundary_conditions(statement)
	not mentions_env(doc, json.marshal(condition.values))
	msg := sprintf(
		"%s: %s allows %s under a boundary that is not this environment's (%s); give each environment its own boundary",
		[doc.label, statement_name(statement), concat(", ", actions), concat(", ", condition.values)],
	)
}

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	actions := covered(statement, boundary_removing_actions)
	count(actions) > 0
	msg := sprintf("%s: %s allows %s: a role could shed its permissions boundary", [doc.label, statement_name(statement), concat(", ", actions)])
}

# METADATA
# description: >-
#   The documents of the policies named as permissions boundaries (iam:PermissionsBoundary
#   conditions): HCL aws_iam_policy resources referenced there, and the document their policy
#   refers to; in plan JSON the aws_iam_policy whose name ends the boundary ARN.
boundary_documents contains doc if {
	some identity in documents
	identity.hcl
	some statement in allows(identity)
	some condition in boundary_conditions(statement)
	some match in regex.find_all_string_submatch_n(`aws_iam_policy\.([A-Za-z0-9_-]+)`, json.marshal(condition.values), -1)
	some res in lib.resources
	res.hcl
	res.dir == identity.dir
	res.type == "aws_iam_policy"
	res.name == match[1]
	some ref in regex.find_all_string_submatch_n(`data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)`, sprintf("%v", [res.values.policy]), -1)
	some doc in documents
	doc.id == sprintf("%s|data.aws_iam_policy_document.%s", [res.dir, ref[1]])
}

boundary_documents contains doc if {
	some identity in documents
	not identity.hcl
	some statement in allows(identity)
	some condition in boundary_conditions(statement)
	some arn in condition.values
	name := regex.replace(arn, `^.*:policy/(.*/)?`, "")
	some res in lib.resources
	not res.hcl
	res.type == "aws_iam_policy"
	res.values.name == name
	some doc in documents
	doc.id == plan_document_id(res, "policy")
}

# What a boundary must never allow, whatever the scope: changing IAM, assuming roles.
boundary_forbidden := array.concat(permission_changing_actions, [
	"iam:PassRole", "iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey", "iam:CreatePolicyVersion",
	"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity",
])

# Resources outside any environment that a boundary may still name (public AMI parameters).
env_neutral_resources := [`:parameter/aws/service/`]

env_neutral(resource) if {
	some pattern in env_neutral_resources
	contains(resource, pattern)
}

# In a boundary every write or data read must be tied to the environment: by a tag condition,
# or because every resource it names is the environment's (or environment-neutral).
boundary_unscoped(doc, statement) := sort({action |
	some action in statement.actions
	not is_read(action)
	some resource in statement.resources
	not resource_scope(doc, resource) == "env"
	not env_neutral(resource)
	not exempt(statement, action, resource)
})

deny contains msg if {
	some doc in boundary_documents
	some statement in allows(doc)
	actions := boundary_unscoped(doc, statement)
	count(actions) > 0
	not env_condition(doc, statement)
	msg := sprintf(
		"%s (a permissions boundary): %s allows %s beyond the environment (%s): a role created under this boundary could act on other environments' or untagged resources; condition it on the environment tag or name the environment in the resource",
		[doc.label, statement_name(statement), truncated(actions), concat(", ", sort({r | some r in statement.resources; not resource_scope(doc, r) == "env"}))],
	)
}

deny contains msg if {
	some doc in boundary_documents
	some statement in allows(doc)
	actions := covered(statement, boundary_forbidden)
	count(actions) > 0
	msg := sprintf(
		"%s (a permissions boundary): %s allows %s: roles under a boundary must not change IAM or assume other roles",
		[doc.label, statement_name(statement), concat(", ", actions)],
	)
}

# --- (3) GitHub OIDC trust ------------------------------------------------------------------------

web_identity_statements contains [doc, statement] if {
	some doc in documents
	some statement in doc.statements
	lower(statement.effect) == "allow"
	statement.principals
	some action in statement.actions
	action_covers(action, "sts:AssumeRoleWithWebIdentity")
}

claim_conditions(statement, claim) := [condition |
	some condition in statement.conditions
	endswith(lower(condition.variable), sprintf(":%s", [claim]))
]

# The text of condition values, with the locals they name (two levels) appended, so that a
# subject built from local.github_subject_prefixes still shows its "repo:" prefix.
expanded_text(doc, values) := text if {
	not doc.hcl
	text := json.marshal(values)
} else := concat(" ", array.concat([first], [json.marshal(lib.named_values[doc.dir][name]) | some name in local_names(first)])) if {
	first := concat(" ", array.concat(
		[json.marshal(values)],
		[json.marshal(lib.named_values[doc.dir][name]) | some name in local_names(json.marshal(values))],
	))
}

local_names(text) := {sprintf("local.%s", [match[1]]) | some match in regex.find_all_string_submatch_n(`local\.([A-Za-z0-9_]+)`, text, -1)}

audience_pinned(statement) if {
	some condition in claim_conditions(statement, "aud")
	condition.test == "StringEquals"
	{value | some value in condition.values} == {"sts.amazonaws.com"}
}

# Everything wrong with the sub conditions of a web-identity statement.
subject_problems(doc, statement) := ((({"has no condition on the token's sub claim" |
	count(claim_conditions(statement, "sub")) == 0
} | {sprintf("matches the sub claim with %s (only StringEquals pins it)", [condition.test]) |
	some condition in claim_conditions(statement, "sub")
	condition.test != "StringEquals"
}) | {"has a wildcard in the sub claim" |
	some condition in claim_conditions(statement, "sub")
	regex.match(`[*?]`, json.marshal(condition.values))
}) | {"does not name the repository (repo:<owner>/<name>) in the sub claim" |
	some condition in claim_conditions(statement, "sub")
	not contains(expanded_text(doc, condition.values), "repo:")
}) | {"pins neither a GitHub environment (:environment:<env>) nor a branch (:ref:refs/heads/<branch>) in the sub claim" |
	some condition in claim_conditions(statement, "sub")
	text := expanded_text(doc, condition.values)
	not contains(text, ":environment:")
	not contains(text, ":ref:refs/heads/")
}

deny contains msg if {
	some [doc, statement] in web_identity_statements
	not audience_pinned(statement)
	msg := sprintf("%s: %s trusts web identities without StringEquals aud = sts.amazonaws.com", [doc.label, statement_name(statement)])
}

deny contains msg if {
	some [doc, statement] in web_identity_statements
	some problem in subject_problems(doc, statement)
	msg := sprintf("%s: %s %s; pin repo:<owner>/<name>:environment:<env> with StringEquals", [doc.label, statement_name(statement), problem])
}

# Trusted for a branch, not for a GitHub environment: any job on that branch can assume it, so
# it may only read.
branch_trusted(doc) if {
	some [trust, statement] in web_identity_statements
	trust.id == doc.id
	some condition in claim_conditions(statement, "sub")
	text := expanded_text(doc, condition.values)
	contains(text, ":ref:refs/heads/")
	not contains(text, ":environment:")
}

# Documents of the policies attached to the roles a trust document is the trust policy of.
attached_documents(trust) := {doc |
	trust.hcl
	some role in lib.resources
	role.hcl
	role.type == "aws_iam_role"
	role.dir == trust.dir
	referenced_document(role, role.values.assume_role_policy) == trust.id
	some attachment in lib.resources
	attachment.hcl
	attachment.dir == trust.dir
	attachment.type == "aws_iam_role_policy"
	regex.match(sprintf(`aws_iam_role\.%s[\[.]`, [role.name]), sprintf("%v", [attachment.values.role]))
	some doc in documents
	doc.id == referenced_document(attachment, attachment.values.policy)
} | {doc |
	not trust.hcl
	some role in lib.resources
	not role.hcl
	role.type == "aws_iam_role"
	plan_document_id(role, "assume_role_policy") == trust.id
	some attachment in lib.resources
	not attachment.hcl
	attachment.type == "aws_iam_role_policy"
	attachment.values.role == role.values.name
	some doc in documents
	doc.id == plan_document_id(attachment, "policy")
}

referenced_document(node, text) := sprintf("%s|data.aws_iam_policy_document.%s", [node.dir, match[1]]) if {
	[match] := regex.find_all_string_submatch_n(`data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)`, sprintf("%v", [text]), 1)
}

deny contains msg if {
	some trust in documents
	branch_trusted(trust)
	some doc in attached_documents(trust)
	some statement in allows(doc)
	writes := sort({action | some action in statement.actions; not read_only(action)})
	count(writes) > 0
	msg := sprintf(
		"%s: the role is trusted for a branch, not a GitHub environment, yet %s in %s allows %s; such a role may only read (use an environment-pinned role for writes)",
		[trust.label, statement_name(statement), doc.label, truncated(writes)],
	)
}

# --- (4) PassRole and UpdateAssumeRolePolicy ----------------------------------------------------

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	count(covered(statement, ["iam:PassRole"])) > 0
	not pass_role_scoped(doc, statement)
	msg := sprintf(
		"%s: %s allows iam:PassRole without both an iam:PassedToService condition and the environment (a tag condition or role ARNs naming it): a role could be handed to any service, or a role outside the environment passed",
		[doc.label, statement_name(statement)],
	)
}

pass_role_scoped(doc, statement) if {
	has_condition(statement, "iam:PassedToService")
	environment_bound(doc, statement)
}

environment_bound(doc, statement) if env_condition(doc, statement)

environment_bound(doc, statement) if {
	count(statement.resources) > 0
	every resource in statement.resources {
		resource_scope(doc, resource) == "env"
	}
}

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	count(covered(statement, ["iam:UpdateAssumeRolePolicy"])) > 0
	not env_condition(doc, statement)
	msg := sprintf(
		"%s: %s allows iam:UpdateAssumeRolePolicy without a condition on the role's environment tag (aws:ResourceTag/environment): any matching role's trust could be opened to another principal",
		[doc.label, statement_name(statement)],
	)
}

# --- (5) instance types -----------------------------------------------------------------------------

launches_instances(statement) if {
	count(covered(statement, ["ec2:RunInstances"])) > 0
	some resource in statement.resources
	covers_instances(resource)
}

covers_instances(resource) if resource == "*"

covers_instances(resource) if {
	startswith(resource, "arn:")
	parts := split(resource, ":")
	count(parts) >= 6
	action_covers(parts[2], "ec2")
	part := regex.replace(concat(":", array.slice(parts, 5, count(parts))), `\$\{[^}]*\}`, "*")
	action_covers(part, "instance/i-0123456789abcdef0")
}

instance_type_values(statement) := {value |
	some condition in statement.conditions
	lower(condition.variable) == "ec2:instancetype"
	condition.test in exact_tests
	some value in condition.values
}

approved_aws_types := {lower(type) | some type in compute.approved_instance_types.aws}

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	launches_instances(statement)
	count(instance_type_values(statement)) == 0
	msg := sprintf(
		"%s: %s allows ec2:RunInstances of any instance type; add a StringEquals ec2:InstanceType condition with the approved types (%s)",
		[doc.label, statement_name(statement), concat(", ", sort(approved_aws_types))],
	)
}

deny contains msg if {
	some doc in documents
	some statement in allows(doc)
	launches_instances(statement)
	unapproved := {value |
		some value in instance_type_values(statement)
		not contains(value, "${")
		not lower(value) in approved_aws_types
	}
	count(unapproved) > 0
	msg := sprintf(
		"%s: %s allows ec2:RunInstances of %s, outside the approved types (%s; policy/data/approved_instance_types.yaml)",
		[doc.label, statement_name(statement), concat(", ", sort(unapproved)), concat(", ", sort(approved_aws_types))],
	)
}

# --- what cannot be checked -------------------------------------------------------------------------

# METADATA
# title: IAM cannot be verified
# description: >-
#   Resources of a write that are expressions this policy cannot read, instance-type conditions
#   that cannot be resolved, and plan policies that are unknown until apply.
# scope: document
warn contains msg if {
	some doc in documents
	some statement in allows(doc)
	writes := unknown_writes(doc, statement)
	count(writes) > 0
	not env_condition(doc, statement)
	msg := sprintf(
		"%s: %s allows %s on resources that cannot be read without a plan (%s); write the ARNs out (with the environment) so the scope can be checked",
		[doc.label, statement_name(statement), truncated(writes), concat(", ", sort({r | some r in statement.resources; resource_scope(doc, r) == "unknown"}))],
	)
}

warn contains msg if {
	some doc in documents
	some statement in doc.statements
	unreadable := sort({action | some action in statement.actions; contains(action, "${")})
	count(unreadable) > 0
	msg := sprintf(
		"%s: %s has actions that cannot be read without a plan (%s); list them literally or in a local so the checks can see them",
		[doc.label, statement_name(statement), concat(", ", unreadable)],
	)
}

warn contains msg if {
	some doc in documents
	some statement in allows(doc)
	launches_instances(statement)
	some value in instance_type_values(statement)
	contains(value, "${")
	msg := sprintf(
		"%s: %s limits ec2:RunInstances to instance types that cannot be resolved (%s); use a variable default or a literal list",
		[doc.label, statement_name(statement), value],
	)
}

# A plan policy unknown until apply (it names resources created in the same apply, such as a key's
# ARN): in the root module the HCL gate of the same root has checked the document it comes from (the
# workflow runs both, prod with --fail-on-warn), so only a module's policy is left unchecked.
warn contains msg if {
	some res in lib.resources
	not res.hcl
	startswith(res.address, "module.")
	some attribute in object.get(policy_attributes, res.type, [])
	lib.unknown(res, attribute)
	msg := sprintf(
		"%s: %s is unknown until apply and comes from a module, so the IAM policy checks cannot read it; check the module's policy documents",
		[res.address, attribute],
	)
}

# HCL: a policy that is not an aws_iam_policy_document (jsonencode, a heredoc, a file) is not read by
# these checks; the plan JSON gate reads it when it is known.
warn contains msg if {
	some res in lib.resources
	res.hcl
	some attribute in object.get(policy_attributes, res.type, [])
	value := res.values[attribute]
	value != null
	not regex.match(`^\$\{data\.aws_iam_policy_document\.[A-Za-z0-9_-]+(\[[^\]]*\])?\.json\}$`, sprintf("%v", [value]))
	msg := sprintf(
		"%s: %s is not a data \"aws_iam_policy_document\", so the IAM policy checks cannot read it; write it as a policy document",
		[res.label, attribute],
	)
}
