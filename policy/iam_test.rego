# METADATA
# title: Tests for terraform.iam (dev cannot reach prod through IAM)
package terraform.iam_test

import data.terraform.iam as policy

# --- helpers ------------------------------------------------------------------------------------

# One HCL file with one policy document, one statement per environment (for_each).
per_env(statement) := {"data": {"aws_iam_policy_document": {"deploy": [{"for_each": "${local.deploy}", "statement": [statement]}]}}}

single(name, statement) := {"data": {"aws_iam_policy_document": {name: [{"statement": [statement]}]}}}

tag_condition(variable, values) := {"test": "StringEquals", "variable": variable, "values": values}

env_tag := tag_condition("aws:ResourceTag/environment", ["${each.key}"])

role_arns := "arn:${local.partition}:iam::${local.account_id}:role/gitops-infra-${each.key}-*"

# A plan with one resource.
plan(type, name, after) := plan_with_unknown(type, name, after, {})

plan_with_unknown(type, name, after, unknown) := {"resource_changes": [plan_change(type, name, after, unknown)]}

plan_change(type, name, after, unknown) := {
	"address": sprintf("%s.%s", [type, name]),
	"mode": "managed",
	"type": type,
	"name": name,
	"change": {"actions": ["create"], "after": after, "after_unknown": unknown},
}

role_policy(role, statements) := {"name": "p", "role": role, "policy": json.marshal({"Version": "2012-10-17", "Statement": statements})}

# --- (1) writes on everything -------------------------------------------------------------------

test_fail_write_on_everything_without_environment_condition if {
	statement := {"sid": "Ec2", "actions": ["ec2:CreateVpc", "ec2:DeleteVpc"], "resources": ["*"], "condition": [tag_condition("aws:RequestedRegion", ["us-east-1"])]}
	policy.deny == {"data.aws_iam_policy_document.deploy: statement \"Ec2\" allows ec2:CreateVpc, ec2:DeleteVpc on every resource (*) without a condition on a tag naming the environment (aws:ResourceTag/environment or aws:RequestTag/environment) and without a resource ARN scoped to it"} with input as per_env(statement)
}

test_fail_every_resource_of_a_type if {
	statement := {"actions": ["ec2:TerminateInstances"], "resources": ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*"]}
	count(policy.deny) == 1 with input as per_env(statement)
}

test_fail_environment_condition_for_another_environment if {
	statement := {"actions": ["ec2:TerminateInstances"], "resources": ["*"], "condition": [tag_condition("aws:ResourceTag/environment", ["prod"])]}
	count(policy.deny) == 1 with input as per_env(statement)
	count(policy.deny) == 0 with input as single("deploy_prod", statement)
	count(policy.deny) == 1 with input as single("deploy_dev", statement)
}

test_success_environment_tag_condition_or_environment_arn if {
	every statement in [
		{"actions": ["ec2:TerminateInstances"], "resources": ["*"], "condition": [env_tag]},
		{"actions": ["ec2:CreateVpc"], "resources": ["*"], "condition": [tag_condition("aws:RequestTag/environment", ["${each.key}"])]},
		{"actions": ["ec2:Delete*"], "resources": ["*"], "condition": [tag_condition("aws:ResourceTag/kubernetes.io/cluster/gitops-infra-${each.key}", ["owned"])]},
		{"actions": ["iam:TagRole"], "resources": [role_arns]},
		{"actions": ["s3:PutObject"], "resources": ["${aws_s3_bucket.state.arn}/aws/x"]},
		{"actions": ["ec2:Describe*", "s3:ListBucket", "kms:ListAliases"], "resources": ["*"]},
	] {
		count(policy.deny) == 0 with input as per_env(statement)
		count(policy.warn) == 0 with input as per_env(statement)
	}
}

test_fail_data_reads_on_everything if {
	every action in ["ssm:GetParameter", "ssm:Get*", "secretsmanager:GetSecretValue", "kms:Decrypt", "s3:GetObject", "*"] {
		msgs := policy.deny with input as per_env({"actions": [action], "resources": ["*"]})
		some msg in msgs
		contains(msg, sprintf("allows %s on every resource (*)", [action]))
	}
}

test_fail_allow_with_not_action_or_not_resource if {
	policy.deny == {"data.aws_iam_policy_document.deploy: a statement without sid is an Allow with NotAction, which grants everything it does not list; list the actions and resources instead"} with input as per_env({"not_actions": ["iam:*"], "resources": [role_arns]})
	count(policy.deny) == 1 with input as per_env({"actions": ["ec2:DescribeVpcs"], "not_resources": ["x"]})
	count(policy.deny) == 0 with input as per_env({"effect": "Deny", "not_actions": ["iam:*"], "resources": ["*"]})
}

test_success_exempt_actions_with_their_conditions if {
	every statement in [
		{"actions": ["ssmmessages:OpenDataChannel", "ec2messages:GetMessages"], "resources": ["*"]},
		{"actions": ["iam:CreateServiceLinkedRole"], "resources": ["*"], "condition": [tag_condition("iam:AWSServiceName", ["eks.amazonaws.com"])]},
		{"actions": ["ec2:CreateTags"], "resources": ["arn:aws:ec2:us-east-1:111122223333:*/*"], "condition": [tag_condition("ec2:CreateAction", ["ec2:CreateVpc"])]},
		{"actions": ["ec2:RunInstances"], "resources": ["arn:${local.partition}:ec2:${var.region}::image/*"], "condition": [tag_condition("ec2:Owner", ["amazon"])]},
	] {
		count(policy.deny) == 0 with input as per_env(statement)
	}
	every statement in [
		{"actions": ["iam:CreateServiceLinkedRole"], "resources": ["*"]},
		{"actions": ["ec2:CreateTags"], "resources": ["*"]},
		{"actions": ["ec2:RunInstances"], "resources": ["arn:aws:ec2:us-east-1::image/*"]},
	] {
		count(policy.deny) > 0 with input as per_env(statement)
	}
}

test_warn_write_on_resources_that_cannot_be_read if {
	statement := {"sid": "Roles", "actions": ["iam:DeleteRole"], "resources": ["${each.value.role_arns}"]}
	count(policy.deny) == 0 with input as per_env(statement)
	policy.warn == {"data.aws_iam_policy_document.deploy: statement \"Roles\" allows iam:DeleteRole on resources that cannot be read without a plan (${each.value.role_arns}); write the ARNs out (with the environment) so the scope can be checked"} with input as per_env(statement)
	policy.warn == {"data.aws_iam_policy_document.deploy: statement \"X\" has actions that cannot be read without a plan (${concat(local.a, local.b)}); list them literally or in a local so the checks can see them"} with input as per_env({"sid": "X", "actions": "${concat(local.a, local.b)}", "resources": [role_arns]})
}

test_success_actions_and_resources_from_locals if {
	root := [
		{"path": "b/locals.tf", "contents": {"locals": [{"writes": ["ec2:DeleteVpc"], "everything": "*"}]}},
		{"path": "b/iam.tf", "contents": per_env({"actions": "${local.writes}", "resources": ["${local.everything}"]})},
	]
	count(policy.deny) == 1 with input as root
	count(policy.warn) == 0 with input as root
}

# --- (2) permissions boundaries -------------------------------------------------------------------

create_role(condition) := {"sid": "CreateRoles", "actions": ["iam:CreateRole", "iam:PutRolePolicy"], "resources": [role_arns], "condition": condition}

boundary_condition(values) := {"test": "StringEquals", "variable": "iam:PermissionsBoundary", "values": values}

test_fail_role_changes_without_boundary if {
	policy.deny == {"data.aws_iam_policy_document.deploy: statement \"CreateRoles\" allows iam:CreateRole, iam:PutRolePolicy without an iam:PermissionsBoundary condition: a role created or changed this way is not capped by the environment's boundary"} with input as per_env(create_role([]))
	msgs := policy.deny with input as per_env({"actions": ["iam:*"], "resources": [role_arns], "condition": [env_tag]})
	some msg in msgs
	contains(msg, "iam:CreateRole, iam:CreateUser, iam:DeleteRolePolicy, iam:DetachRolePolicy, iam:PutRolePermissionsBoundary, iam:PutRolePolicy, iam:PutUserPermissionsBoundary, iam:PutUserPolicy without an iam:PermissionsBoundary condition")
}

test_fail_boundary_shared_by_every_environment if {
	policy.deny == {"data.aws_iam_policy_document.deploy: statement \"CreateRoles\" allows iam:CreateRole, iam:PutRolePolicy under a boundary that is not this environment's (${aws_iam_policy.workload_boundary.arn}); give each environment its own boundary"} with input as per_env(create_role([boundary_condition(["${aws_iam_policy.workload_boundary.arn}"])]))
}

test_success_boundary_of_the_environment if {
	count(policy.deny) == 0 with input as per_env(create_role([boundary_condition(["${aws_iam_policy.workload_boundary[each.key].arn}"])]))
	count(policy.deny) == 0 with input as per_env(create_role([boundary_condition(["arn:aws:iam::111122223333:policy/boundary-${each.key}"])]))
}

test_fail_removing_a_boundary if {
	count(policy.deny) == 1 with input as per_env({"actions": ["iam:DeleteRolePermissionsBoundary"], "resources": [role_arns], "condition": [env_tag]})
	msgs := policy.deny with input as per_env({"sid": "All", "actions": ["iam:*"], "resources": [role_arns], "condition": [env_tag, boundary_condition(["${aws_iam_policy.b[each.key].arn}"])]})
	"data.aws_iam_policy_document.deploy: statement \"All\" allows iam:DeleteRolePermissionsBoundary, iam:DeleteUserPermissionsBoundary: a role could shed its permissions boundary" in msgs
}

# A root: the deploy document requires aws_iam_policy.workload_boundary[each.key], whose policy
# is data.aws_iam_policy_document.boundary.
boundary_root(boundary_statements) := {
	"data": {"aws_iam_policy_document": {
		"deploy": [{"for_each": "${local.deploy}", "statement": [create_role([boundary_condition(["${aws_iam_policy.workload_boundary[each.key].arn}"])])]}],
		"boundary": [{"for_each": "${local.deploy}", "statement": boundary_statements}],
	}},
	"resource": {"aws_iam_policy": {"workload_boundary": [{
		"for_each": "${local.deploy}",
		"name": "gitops-infra-workload-boundary-${each.key}",
		"policy": "${data.aws_iam_policy_document.boundary[each.key].json}",
	}]}},
}

test_fail_boundary_not_scoped_to_its_environment if {
	root := boundary_root([{"sid": "Services", "actions": ["ec2:*", "kms:Decrypt", "ssm:GetParameter"], "resources": ["*"]}])
	policy.deny == {
		"data.aws_iam_policy_document.boundary (a permissions boundary): statement \"Services\" allows ec2:*, kms:Decrypt, ssm:GetParameter beyond the environment (*): a role created under this boundary could act on other environments' or untagged resources; condition it on the environment tag or name the environment in the resource",
		"data.aws_iam_policy_document.boundary: statement \"Services\" allows ec2:*, kms:Decrypt, ssm:GetParameter on every resource (*) without a condition on a tag naming the environment (aws:ResourceTag/environment or aws:RequestTag/environment) and without a resource ARN scoped to it",
		"data.aws_iam_policy_document.boundary: statement \"Services\" allows ec2:RunInstances of any instance type; add a StringEquals ec2:InstanceType condition with the approved types (t3.medium, t3.micro, t3.small)",
	} with input as root
	named := boundary_root([{"sid": "Keys", "actions": ["kms:Decrypt"], "resources": ["${aws_kms_key.state.arn}"]}])
	count(policy.deny) == 1 with input as named
}

test_success_boundary_scoped_to_its_environment if {
	root := boundary_root([
		{"actions": ["ec2:Describe*"], "resources": ["*"]},
		{"actions": ["ec2:Delete*"], "resources": ["*"], "condition": [env_tag]},
		{"actions": ["kms:Decrypt"], "resources": ["arn:aws:kms:us-east-1:111122223333:key/*"], "condition": [env_tag]},
		{"actions": ["ssm:GetParameter"], "resources": ["arn:aws:ssm:us-east-1::parameter/aws/service/*", "arn:aws:ssm:us-east-1:111122223333:parameter/gitops-infra/${each.key}/*"]},
		{"actions": ["ssmmessages:OpenDataChannel"], "resources": ["*"]},
	])
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_fail_boundary_that_allows_iam_or_sts if {
	root := boundary_root([{"sid": "Iam", "actions": ["iam:PassRole", "sts:AssumeRole"], "resources": [role_arns]}])
	msgs := policy.deny with input as root
	"data.aws_iam_policy_document.boundary (a permissions boundary): statement \"Iam\" allows iam:PassRole, sts:AssumeRole: roles under a boundary must not change IAM or assume other roles" in msgs
}

test_fail_plan_boundary_found_by_arn if {
	deploy := role_policy("gitops-infra-deploy-dev", [{"Sid": "CreateRoles", "Effect": "Allow", "Action": "iam:CreateRole", "Resource": "arn:aws:iam::111122223333:role/gitops-infra-dev-*", "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/gitops-infra-workload-boundary-dev"}}}])
	boundary := {"name": "gitops-infra-workload-boundary-dev", "policy": json.marshal({"Statement": [{"Sid": "Ec2", "Effect": "Allow", "Action": ["ec2:TerminateInstances"], "Resource": "arn:aws:ec2:us-east-1:111122223333:instance/*"}]})}
	input_plan := {"resource_changes": [
		plan_change("aws_iam_role_policy", "deploy", deploy, {}),
		plan_change("aws_iam_policy", "boundary", boundary, {}),
	]}
	policy.deny == {
		"aws_iam_policy.boundary (policy) (a permissions boundary): statement \"Ec2\" allows ec2:TerminateInstances beyond the environment (arn:aws:ec2:us-east-1:111122223333:instance/*): a role created under this boundary could act on other environments' or untagged resources; condition it on the environment tag or name the environment in the resource",
		"aws_iam_policy.boundary (policy): statement \"Ec2\" allows ec2:TerminateInstances on every resource (arn:aws:ec2:us-east-1:111122223333:instance/*) without a condition on a tag naming the environment (aws:ResourceTag/environment or aws:RequestTag/environment) and without a resource ARN scoped to it",
	} with input as input_plan
	wrong := json.marshal({"Statement": [{"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/gitops-infra-workload-boundary-prod"}}}]})
	msgs := policy.deny with input as plan("aws_iam_role_policy", "deploy", object.union(deploy, {"policy": wrong}))
	some msg in msgs
	contains(msg, "under a boundary that is not this environment's (arn:aws:iam::111122223333:policy/gitops-infra-workload-boundary-prod)")
}

# --- (3) GitHub OIDC trust -----------------------------------------------------------------------

trust(conditions) := {
	"sid": "GitHub",
	"actions": ["sts:AssumeRoleWithWebIdentity"],
	"principals": [{"type": "Federated", "identifiers": ["${local.github_oidc_provider_arn}"]}],
	"condition": conditions,
}

aud := tag_condition("token.actions.githubusercontent.com:aud", ["sts.amazonaws.com"])

sub(values) := tag_condition("token.actions.githubusercontent.com:sub", values)

test_success_trust_pins_audience_repository_and_environment if {
	count(policy.deny) == 0 with input as per_env(trust([aud, sub(["repo:acme/infra:environment:${each.key}"])]))
	root := [
		{"path": "b/locals.tf", "contents": {"locals": [{"prefixes": ["repo:${var.org}/${var.repo}"]}]}},
		{"path": "b/iam.tf", "contents": per_env(trust([aud, sub("${[for p in local.prefixes : \"${p}:environment:${each.key}\"]}")]))},
	]
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
}

test_fail_trust_problems if {
	cases := {
		"without StringEquals aud = sts.amazonaws.com": [sub(["repo:acme/infra:environment:dev"])],
		"has no condition on the token's sub claim": [aud],
		"matches the sub claim with StringLike (only StringEquals pins it)": [aud, {"test": "StringLike", "variable": "token.actions.githubusercontent.com:sub", "values": ["repo:acme/infra:environment:dev"]}],
		"has a wildcard in the sub claim": [aud, sub(["repo:acme/infra:*"])],
		"does not name the repository (repo:<owner>/<name>) in the sub claim": [aud, sub(["environment:dev"])],
		"pins neither a GitHub environment (:environment:<env>) nor a branch (:ref:refs/heads/<branch>) in the sub claim": [aud, sub(["repo:acme/infra:pull_request"])],
	}
	every problem, conditions in cases {
		msgs := policy.deny with input as per_env(trust(conditions))
		some msg in msgs
		contains(msg, problem)
	}
	wrong_aud := policy.deny with input as per_env(trust([tag_condition("token.actions.githubusercontent.com:aud", ["sts.amazonaws.com", "other"]), sub(["repo:acme/infra:environment:dev"])]))
	count(wrong_aud) == 1
}

# A role trusted for main (no environment) with one inline policy.
branch_role(statements) := {
	"data": {"aws_iam_policy_document": {
		"plan_trust": [{"statement": [trust([aud, sub(["repo:acme/infra:ref:refs/heads/main"])])]}],
		"plan_refresh": [{"statement": statements}],
	}},
	"resource": {
		"aws_iam_role": {"plan": [{"name": "plan", "assume_role_policy": "${data.aws_iam_policy_document.plan_trust.json}"}]},
		"aws_iam_role_policy": {"refresh": [{"role": "${aws_iam_role.plan.id}", "policy": "${data.aws_iam_policy_document.plan_refresh.json}"}]},
	},
}

test_success_branch_trusted_role_that_only_reads if {
	root := branch_role([{"actions": ["ec2:Describe*", "s3:GetObject", "kms:Decrypt"], "resources": ["${aws_s3_bucket.state.arn}/x", "${aws_kms_key.state.arn}"]}])
	count(policy.deny) == 0 with input as root
}

test_fail_branch_trusted_role_that_writes if {
	root := branch_role([{"sid": "Write", "actions": ["s3:PutObject"], "resources": ["${aws_s3_bucket.state.arn}/x"]}])
	policy.deny == {"data.aws_iam_policy_document.plan_trust: the role is trusted for a branch, not a GitHub environment, yet statement \"Write\" in data.aws_iam_policy_document.plan_refresh allows s3:PutObject; such a role may only read (use an environment-pinned role for writes)"} with input as root
}

test_fail_plan_branch_trusted_role_that_writes if {
	trust_json := json.marshal({"Statement": [{
		"Effect": "Allow",
		"Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
		"Condition": {"StringEquals": {
			"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
			"token.actions.githubusercontent.com:sub": "repo:acme/infra:ref:refs/heads/main",
		}},
	}]})
	input_plan := {"resource_changes": [
		plan_change("aws_iam_role", "plan", {"name": "gitops-infra-plan-prod", "assume_role_policy": trust_json}, {}),
		plan_change("aws_iam_role_policy", "refresh", role_policy("gitops-infra-plan-prod", [{"Effect": "Allow", "Action": ["ec2:CreateVpc"], "Resource": "*", "Condition": {"StringEquals": {"aws:RequestTag/environment": "prod"}}}]), {}),
	]}
	policy.deny == {"aws_iam_role.plan (assume_role_policy): the role is trusted for a branch, not a GitHub environment, yet a statement without sid in aws_iam_role_policy.refresh (policy) allows ec2:CreateVpc; such a role may only read (use an environment-pinned role for writes)"} with input as input_plan
}

# --- (4) PassRole and UpdateAssumeRolePolicy ----------------------------------------------------

passed_to := tag_condition("iam:PassedToService", ["ec2.amazonaws.com"])

test_pass_role_needs_service_and_environment if {
	count(policy.deny) == 0 with input as per_env({"actions": ["iam:PassRole"], "resources": [role_arns], "condition": [passed_to]})
	count(policy.deny) == 0 with input as per_env({"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::1:role/x"], "condition": [passed_to, env_tag]})
	count(policy.deny) == 1 with input as per_env({"actions": ["iam:PassRole"], "resources": [role_arns]})
	count(policy.deny) == 1 with input as per_env({"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::1:role/x"], "condition": [passed_to]})
	policy.deny == {"data.aws_iam_policy_document.deploy: a statement without sid allows iam:PassRole without both an iam:PassedToService condition and the environment (a tag condition or role ARNs naming it): a role could be handed to any service, or a role outside the environment passed"} with input as per_env({"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::1:role/gitops-infra-*"], "condition": [passed_to]})
}

test_update_assume_role_policy_needs_environment_tag if {
	policy.deny == {"data.aws_iam_policy_document.deploy: statement \"Trust\" allows iam:UpdateAssumeRolePolicy without a condition on the role's environment tag (aws:ResourceTag/environment): any matching role's trust could be opened to another principal"} with input as per_env({"sid": "Trust", "actions": ["iam:UpdateAssumeRolePolicy"], "resources": [role_arns]})
	count(policy.deny) == 0 with input as per_env({"actions": ["iam:UpdateAssumeRolePolicy"], "resources": [role_arns], "condition": [env_tag]})
}

# --- (5) instance types ---------------------------------------------------------------------------

launch(conditions) := {
	"sid": "Launch",
	"actions": ["ec2:RunInstances"],
	"resources": ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*"],
	"condition": array.concat([tag_condition("aws:RequestTag/environment", ["${each.key}"])], conditions),
}

test_fail_run_instances_of_any_type if {
	policy.deny == {"data.aws_iam_policy_document.deploy: statement \"Launch\" allows ec2:RunInstances of any instance type; add a StringEquals ec2:InstanceType condition with the approved types (t3.medium, t3.micro, t3.small)"} with input as per_env(launch([]))
	policy.deny == {"data.aws_iam_policy_document.deploy: statement \"Launch\" allows ec2:RunInstances of m5.24xlarge, outside the approved types (t3.medium, t3.micro, t3.small; policy/data/approved_instance_types.yaml)"} with input as per_env(launch([tag_condition("ec2:InstanceType", ["t3.micro", "m5.24xlarge"])]))
}

test_success_run_instances_of_approved_types if {
	count(policy.deny) == 0 with input as per_env(launch([tag_condition("ec2:InstanceType", ["t3.micro", "T3.Small"])]))
	root := [
		{"path": "b/variables.tf", "contents": {"variable": {"types": [{"default": ["t3.micro"]}]}}},
		{"path": "b/iam.tf", "contents": per_env(launch([tag_condition("ec2:InstanceType", "${var.types}")]))},
	]
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
	subnet_only := {"actions": ["ec2:RunInstances"], "resources": ["arn:aws:ec2:us-east-1:1:subnet/*"], "condition": [env_tag]}
	count(policy.deny) == 0 with input as per_env(subnet_only)
}

test_warn_instance_types_that_cannot_be_resolved if {
	input_hcl := per_env(launch([tag_condition("ec2:InstanceType", "${var.no_default}")]))
	count(policy.deny) == 0 with input as input_hcl
	policy.warn == {"data.aws_iam_policy_document.deploy: statement \"Launch\" limits ec2:RunInstances to instance types that cannot be resolved (${var.no_default}); use a variable default or a literal list"} with input as input_hcl
}

# --- plan JSON --------------------------------------------------------------------------------------

test_plan_documents_and_their_environment if {
	statements := [{"Sid": "Ec2", "Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/environment": "prod"}}}]
	count(policy.deny) == 1 with input as plan("aws_iam_role_policy", "ec2", role_policy("gitops-infra-deploy-dev", statements))
	count(policy.deny) == 0 with input as plan("aws_iam_role_policy", "ec2", role_policy("gitops-infra-deploy-prod", statements))
	inline := {"name": "gitops-infra-deploy-dev", "assume_role_policy": "{}", "inline_policy": [{"name": "x", "policy": json.marshal({"Statement": statements})}]}
	policy.deny == {"aws_iam_role.r (inline_policy[0]): statement \"Ec2\" allows ec2:TerminateInstances on every resource (*) without a condition on a tag naming the environment (aws:ResourceTag/environment or aws:RequestTag/environment) and without a resource ARN scoped to it"} with input as plan("aws_iam_role", "r", inline)
}

test_warn_plan_policy_unknown_until_apply_in_a_module if {
	root := plan_with_unknown("aws_iam_role_policy", "p", {"name": "p", "role": "r"}, {"policy": true})
	count(policy.deny) == 0 with input as root
	count(policy.warn) == 0 with input as root
	change := object.union(root.resource_changes[0], {"address": "module.eks.aws_iam_role_policy.p", "module_address": "module.eks"})
	policy.warn == {"module.eks.aws_iam_role_policy.p: policy is unknown until apply and comes from a module, so the IAM policy checks cannot read it; check the module's policy documents"} with input as {"resource_changes": [change]}
}

test_warn_hcl_policy_that_is_not_a_document if {
	inline := {"resource": {"aws_iam_role_policy": {"p": [{"role": "r", "policy": "${jsonencode({Statement = []})}"}]}}}
	policy.warn == {"aws_iam_role_policy.p: policy is not a data \"aws_iam_policy_document\", so the IAM policy checks cannot read it; write it as a policy document"} with input as inline
	documented := {"resource": {"aws_iam_role": {"r": [{"name": "r", "assume_role_policy": "${data.aws_iam_policy_document.trust[each.key].json}"}]}}}
	count(policy.warn) == 0 with input as documented
}

test_success_helpers if {
	policy.is_read("ec2:Describe*")
	policy.is_read("s3:ListBucket")
	not policy.is_read("ssm:Get*")
	not policy.is_read("ec2:*")
	not policy.is_read("ec2:DeleteVpc")
	not policy.is_read("invalid")
	policy.read_only("kms:Decrypt")
	not policy.read_only("s3:PutObject")
	policy.action_covers("ec2:*", "ec2:RunInstances")
	policy.action_covers("EC2:run?nstances", "ec2:RunInstances")
	not policy.action_covers("ec2:Run", "ec2:RunInstances")
	policy.name_env("plan_prod_refresh") == "prod"
	policy.name_env("deploy") == ""
	policy.name_env("dev-to-prod") == ""
	policy.covers_instances("*")
	policy.covers_instances("arn:aws:ec2:*:*:*")
	not policy.covers_instances("arn:aws:ec2:us-east-1::image/*")
	not policy.covers_instances("arn:aws:s3:::bucket/*")
}

test_success_documents_without_environment_and_odd_values if {
	# A document with no environment of its own accepts a tag condition naming any environment.
	count(policy.deny) == 0 with input as single("shared", {"actions": ["ec2:DeleteVpc"], "resources": ["*"], "condition": [tag_condition("aws:ResourceTag/environment", ["dev"])]})
	count(policy.deny) == 0 with input as single("shared", {"actions": ["ec2:DeleteVpc"], "resources": ["*"], "condition": [tag_condition("aws:ResourceTag/environment", ["${each.key}"])]})
	count(policy.deny) == 1 with input as single("shared", {"actions": ["ec2:DeleteVpc"], "resources": ["*"], "condition": [tag_condition("aws:ResourceTag/team", ["a"])]})

	# A condition without a test never counts; a literal non-ARN resource is a named one.
	count(policy.deny) == 1 with input as per_env({"actions": ["ec2:DeleteVpc"], "resources": ["*"], "condition": [{"variable": "aws:ResourceTag/environment", "values": ["${each.key}"]}]})
	count(policy.deny) == 0 with input as per_env({"actions": ["s3:PutObject"], "resources": ["bucket/key"]})
}

test_success_long_action_lists_are_shortened if {
	policy.truncated(["a", "b", "c", "d", "e", "f", "g", "h"]) == "a, b, c, d, e, f and 2 more"
	policy.truncated(["a"]) == "a"
}
