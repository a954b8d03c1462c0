#!/usr/bin/env bash
# Builds the pinned IaC and test toolchain from the Go module proxy into a cache outside the repository.
#
#   tools/install.sh                 build whatever is missing (a no-op when everything is present)
#   tools/install.sh opa trivy       build only these
#   tools/install.sh --bin-dir       print the directory holding the binaries and exit
#
# Versions live in tools/versions.env; tools that need replace/exclude directives have their own
# tools module (tools/<name>/go.mod + go.sum) because `go install pkg@v` refuses such modules.
# Offline by design: nothing here downloads a prebuilt binary, and GOTOOLCHAIN=local keeps Go from
# fetching a newer toolchain.
set -euo pipefail

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$tools_dir/versions.env"

cache_root=${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-infra-pipeline}
bin_dir="$cache_root/bin"
plugin_dir="$cache_root/tflint-plugins"
stamp_dir="$cache_root/stamps"

if [[ "${1:-}" == "--bin-dir" ]]; then echo "$bin_dir"; exit 0; fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
mkdir -p "$bin_dir" "$plugin_dir" "$stamp_dir"

log() { printf '[tools] %s\n' "$*" >&2; }

# up_to_date NAME VERSION BINARY: true when BINARY exists and was built from VERSION.
up_to_date() {
  [[ -x "$3" && -f "$stamp_dir/$1" && "$(cat "$stamp_dir/$1")" == "$2" ]]
}

# build NAME VERSION BINARY COMMAND...: runs COMMAND unless the tool is already built at VERSION.
build() {
  local name=$1 version=$2 binary=$3; shift 3
  if up_to_date "$name" "$version" "$binary"; then
    log "$name $version: cached"
    return 0
  fi
  log "$name $version: building (this can take minutes on a cold cache)"
  local started=$SECONDS
  "$@"
  [[ -x "$binary" ]] || { log "$name: build finished but $binary is missing"; return 1; }
  echo "$version" > "$stamp_dir/$name"
  log "$name $version: built in $((SECONDS - started))s"
}

build_opa() {
  build opa "$OPA_VERSION" "$bin_dir/opa" \
    env GOBIN="$bin_dir" go install "github.com/open-policy-agent/opa@$OPA_VERSION"
}
build_conftest() {
  build conftest "$CONFTEST_VERSION" "$bin_dir/conftest" \
    env GOBIN="$bin_dir" go install "github.com/open-policy-agent/conftest@$CONFTEST_VERSION"
}
build_trivy() {
  # Trivy v0.74 imports encoding/json/v2, which Go 1.26 provides only under GOEXPERIMENT=jsonv2.
  build trivy "$TRIVY_VERSION" "$bin_dir/trivy" \
    env GOBIN="$bin_dir" GOEXPERIMENT=jsonv2 go install \
      -ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION" \
      "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
}
build_tflint() {
  build tflint "$TFLINT_VERSION" "$bin_dir/tflint" \
    env GOBIN="$bin_dir" go install "github.com/terraform-linters/tflint@$TFLINT_VERSION"
  local ruleset version version_var
  for ruleset in aws google azurerm; do
    version_var="TFLINT_RULESET_${ruleset^^}_VERSION"
    version=${!version_var}
    # Built from a tools module (tools/tflint-ruleset-<name>/go.mod pins the version): the proxy refuses
    # the version list these modules' `go install pkg@v` deprecation check asks for. The binary is named
    # tflint-ruleset-<name>, exactly what TFLint looks for in its plugin dir.
    grep -q "github.com/terraform-linters/tflint-ruleset-$ruleset $version" "$tools_dir/tflint-ruleset-$ruleset/go.mod" || {
      log "tools/tflint-ruleset-$ruleset/go.mod does not pin $version (run: cd tools/tflint-ruleset-$ruleset && go get -tool github.com/terraform-linters/tflint-ruleset-$ruleset@$version)"
      return 1
    }
    build "tflint-ruleset-$ruleset" "$version" "$plugin_dir/tflint-ruleset-$ruleset" \
      bash -c "cd '$tools_dir/tflint-ruleset-$ruleset' && go build -o '$plugin_dir/tflint-ruleset-$ruleset' github.com/terraform-linters/tflint-ruleset-$ruleset"
  done
}
build_actionlint() {
  build actionlint "$ACTIONLINT_VERSION" "$bin_dir/actionlint" \
    env GOBIN="$bin_dir" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
}
build_terraform() {
  # Only `terraform fmt` runs offline; any installed terraform does that better than the fallback.
  if command -v terraform >/dev/null 2>&1 && [[ "$(command -v terraform)" != "$bin_dir/terraform" ]]; then
    log "terraform: using $(command -v terraform)"
    return 0
  fi
  build terraform "$TERRAFORM_FALLBACK_VERSION" "$bin_dir/terraform" \
    env GOBIN="$bin_dir" go install -ldflags=-checklinkname=0 \
      "github.com/hashicorp/terraform@$TERRAFORM_FALLBACK_VERSION"
}
build_etcd() {
  build etcd "$ETCD_VERSION" "$bin_dir/etcd" \
    bash -c "cd '$tools_dir/etcd' && go build -o '$bin_dir/etcd' go.etcd.io/etcd/server/v3"
}
build_kube_apiserver() {
  local minor=${KUBE_APISERVER_VERSION#v1.}; minor=${minor%%.*}
  build kube-apiserver "$KUBE_APISERVER_VERSION" "$bin_dir/kube-apiserver" \
    bash -c "cd '$tools_dir/kube-apiserver' && go build -o '$bin_dir/kube-apiserver' -ldflags '-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBE_APISERVER_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor' \
      k8s.io/kubernetes/cmd/kube-apiserver"
}
build_helm() {
  # Helm's go.mod has no replace directives: a plain `go install`. The -X flags put the release into
  # `helm version` (and .Capabilities.HelmVersion), as Helm's own Makefile does for a tagged build.
  local major=${HELM_VERSION%%.*}
  build helm "$HELM_VERSION" "$bin_dir/helm" \
    env GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w \
      -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION \
      -X helm.sh/helm/$major/internal/version.gitTreeState=clean" \
      "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
}

build_kargo() {
  # Kargo's control plane (controller, management-controller, kubernetes-webhooks-server) from the Go
  # module proxy plus the two nested modules the proxy does not serve, vendored unmodified beside the
  # project (shared/vendor/kargo-src). tools/kargo/go.mod replaces them with a path relative to the
  # project's usual place; the build runs in a scratch copy whose replaces point at wherever the vendored
  # source really is ($KARGO_SRC_DIR, or ../shared/vendor/kargo-src from the project root).
  local project_root src scratch
  project_root=$(cd "$tools_dir/.." && pwd)
  src=${KARGO_SRC_DIR:-$project_root/../shared/vendor/kargo-src}
  # Built before (at this version) with its chart files copied: the source is not needed again.
  if up_to_date kargo-controlplane "$KARGO_VERSION" "$bin_dir/kargo-controlplane" &&
    [[ -f "$cache_root/kargo-crds/kargo.akuity.io_clusterconfigs.yaml" && -d "$cache_root/kargo-crds/kubernetes-webhooks-server" ]]; then
    log "kargo-controlplane $KARGO_VERSION: cached"
    return 0
  fi
  if [[ ! -f "$src/api/go.mod" ]]; then
    log "kargo: vendored Kargo source not found at $src (set KARGO_SRC_DIR); cannot build kargo-controlplane"
    return 1
  fi
  src=$(cd "$src" && pwd)
  grep -q "github.com/akuity/kargo $KARGO_VERSION" "$tools_dir/kargo/go.mod" || {
    log "tools/kargo/go.mod does not pin github.com/akuity/kargo $KARGO_VERSION"
    return 1
  }
  scratch="$cache_root/build/kargo"
  build kargo-controlplane "$KARGO_VERSION" "$bin_dir/kargo-controlplane" bash -c "
    set -euo pipefail
    rm -rf '$scratch' && mkdir -p '$scratch'
    cp '$tools_dir/kargo/go.mod' '$tools_dir/kargo/go.sum' '$scratch/'
    cd '$scratch'
    go mod edit -replace=github.com/akuity/kargo/api='$src/api' \
      -replace=github.com/akuity/kargo/pkg/x/client/generated='$src/pkg/x/client/generated'
    go build -trimpath -ldflags '-s -w' -o '$bin_dir/kargo-controlplane' github.com/akuity/kargo/cmd/controlplane
  "
  # The management controller needs the ClusterConfig CRD, which ships in Kargo's chart (module zip),
  # not in the vendored CRDs: copy it beside the binary for the test harness.
  local crd_dir="$cache_root/kargo-crds"
  mkdir -p "$crd_dir"
  if [[ ! -f "$crd_dir/kargo.akuity.io_clusterconfigs.yaml" || ! -d "$crd_dir/kubernetes-webhooks-server" ]]; then
    local moddir
    moddir=$(cd "$tools_dir/kargo" && go mod download -json "github.com/akuity/kargo@$KARGO_VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
    cp "$moddir/charts/kargo/resources/crds/kargo.akuity.io_clusterconfigs.yaml" "$crd_dir/"
    # The chart's webhook configurations (templates), which the test harness points at a loopback server.
    rm -rf "$crd_dir/kubernetes-webhooks-server"
    cp -r "$moddir/charts/kargo/templates/kubernetes-webhooks-server" "$crd_dir/kubernetes-webhooks-server"
    chmod -R u+w "$crd_dir"
  fi
}

all=(opa conftest actionlint tflint terraform trivy etcd kube-apiserver kargo helm)
wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=("${all[@]}")

for tool in "${wanted[@]}"; do
  case "$tool" in
    opa) build_opa ;;
    conftest) build_conftest ;;
    trivy) build_trivy ;;
    tflint) build_tflint ;;
    actionlint) build_actionlint ;;
    terraform) build_terraform ;;
    etcd) build_etcd ;;
    kube-apiserver) build_kube_apiserver ;;
    kargo) build_kargo ;;
    helm) build_helm ;;
    *) log "unknown tool '$tool' (known: ${all[*]})"; exit 2 ;;
  esac
done
log "binaries in $bin_dir; TFLint plugins in $plugin_dir"
