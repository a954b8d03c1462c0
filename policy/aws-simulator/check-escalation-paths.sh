#!/usr/bin/env bash
# Asks the AWS policy simulator whether the escalation paths in escalation-paths.json are closed, for
# every environment's deploy role and boundary (terraform/bootstrap) as they are deployed in the account,
# not as the code says. It lives with the policies, so the workflow always runs its own (current) version
# whatever Freight is promoted.
#
#   bash policy/aws-simulator/check-escalation-paths.sh [--out results.json] [--cases file.json]
#
# Needs AWS credentials for a principal allowed iam:SimulatePrincipalPolicy on the deploy roles,
# iam:SimulateCustomPolicy, and iam:GetPolicy / iam:GetPolicyVersion on the boundaries: the read-only role
# gitops-infra-iam-audit (iam_audit.tf). Environment: ENVIRONMENTS (default "dev prod"), AWS_REGION.
#
# Writes its verdicts in Conftest's JSON shape (one result, namespace aws.simulator, a failure per path
# that is open or per control that is closed), so the workflow's gate-result converter reads them like
# Conftest output. Exit 0 when every path is closed and every control open, 1 otherwise, 2 on usage error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cases_file="$here/escalation-paths.json"
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --cases) cases_file=$2; shift 2 ;;
    *) echo "usage: $0 [--out results.json] [--cases escalation-paths.json]" >&2; exit 2 ;;
  esac
done
[[ -f "$cases_file" ]] || { echo "no cases file at $cases_file" >&2; exit 2; }
region=${AWS_REGION:?AWS_REGION must be set}
environments=${ENVIRONMENTS:-dev prod}

failures=()
successes=0
fail() { failures+=("$1"); echo "OPEN   $1" >&2; }

caller=$(aws sts get-caller-identity --query Arn --output text) || { echo "no AWS credentials" >&2; exit 1; }
partition=$(cut -d: -f2 <<<"$caller")
account=$(cut -d: -f5 <<<"$caller")
allow_all='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

for env in $environments; do
  case "$env" in dev) other=prod ;; prod) other=dev ;; *) echo "unknown environment $env" >&2; exit 2 ;; esac
  role="arn:$partition:iam::$account:role/gitops-infra-deploy-$env"
  boundary_arn="arn:$partition:iam::$account:policy/gitops-infra-workload-boundary-$env"
  boundary=""
  if version=$(aws iam get-policy --policy-arn "$boundary_arn" --query Policy.DefaultVersionId --output text); then
    boundary=$(aws iam get-policy-version --policy-arn "$boundary_arn" --version-id "$version" \
      --query PolicyVersion.Document --output json) || boundary=""
  fi
  [[ -n "$boundary" ]] || fail "$env: cannot read the boundary $boundary_arn (is terraform/bootstrap applied?)"

  # One line per case, placeholders filled in: id, as, action, resource, expect, then its context
  # entries in the CLI's shorthand, all separated by tabs.
  while IFS=$'\t' read -r id as action resource expect context_line; do
    context_args=()
    if [[ -n "$context_line" ]]; then
      IFS=$'\x1f' read -r -a context <<<"$context_line"
      context_args=(--context-entries "${context[@]}")
    fi

    if [[ "$as" == principal ]]; then
      result=$(aws iam simulate-principal-policy --policy-source-arn "$role" --action-names "$action" \
        --resource-arns "$resource" "${context_args[@]}" --output json </dev/null)
    else
      [[ -n "$boundary" ]] || continue
      result=$(aws iam simulate-custom-policy --policy-input-list "$allow_all" \
        --permissions-boundary-policy-input-list "$boundary" --action-names "$action" \
        --resource-arns "$resource" "${context_args[@]}" --output json </dev/null)
    fi
    if [[ $? -ne 0 || -z "$result" ]]; then
      fail "$env/$id: the simulator could not evaluate $action on $resource"
      continue
    fi
    decisions=$(jq -r '[.EvaluationResults[].EvalDecision] | unique | join(",")' <<<"$result")
    subject="$env/$id: $action on $resource as $([[ "$as" == principal ]] && echo "gitops-infra-deploy-$env" || echo "a role under gitops-infra-workload-boundary-$env")"
    if [[ "$expect" == denied ]]; then
      if [[ -n "$decisions" && ",$decisions," != *,allowed,* ]]; then
        successes=$((successes + 1)); echo "closed $subject ($decisions)" >&2
      else
        fail "$subject is $decisions, expected implicitDeny or explicitDeny (an escalation path is open)"
      fi
    else
      if [[ "$decisions" == allowed ]]; then
        successes=$((successes + 1)); echo "open   $subject (control, $decisions)" >&2
      else
        fail "$subject is ${decisions:-no decision}, expected allowed (control: the simulation does not reach the deployed policies)"
      fi
    fi
  done < <(jq -r --arg env "$env" --arg other "$other" --arg partition "$partition" \
    --arg region "$region" --arg account "$account" '
    def fill: gsub("{env}"; $env) | gsub("{other}"; $other) | gsub("{partition}"; $partition)
      | gsub("{region}"; $region) | gsub("{account}"; $account);
    .cases[]
    | [.id, .as, .action, (.resource | fill), .expect,
       ([.context | to_entries[] | "ContextKeyName=\(.key),ContextKeyValues=\(.value | fill),ContextKeyType=string"]
        | join("\u001f"))]
    | join("\t")' "$cases_file")
done

report=$(jq -n --argjson successes "$successes" '$ARGS.positional as $f | [{
    filename: "aws-policy-simulator", namespace: "aws.simulator", successes: $successes,
    failures: [$f[] | {msg: .}], warnings: []
  }]' --args "${failures[@]}")
if [[ -n "$out" ]]; then printf '%s\n' "$report" > "$out"; else printf '%s\n' "$report"; fi
echo "policy simulator: $successes checks as expected, ${#failures[@]} not" >&2
[[ ${#failures[@]} -eq 0 ]]
