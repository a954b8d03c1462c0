################################################################################
# GKE node service account
################################################################################

# Nodes run as a dedicated, minimally privileged service account instead of
# the Compute Engine default account, which has the Editor role, and which
# locked-down organizations disable or strip of every role
# (iam.automaticIamGrantsForDefaultServiceAccounts): a node pool created with
# it then never becomes ready. This includes the default node pool GKE creates
# (and this stack removes) with the cluster: see node_config in the cluster.
resource "google_service_account" "gke_nodes" {
  account_id   = "${var.name_prefix}-gke-nodes"
  display_name = "GKE nodes (${var.name_prefix})"
  description  = "Identity of the GKE nodes: write logs and metrics, pull images. Nothing else."
}

# The narrow project roles a node needs (what GKE's roles/container.defaultNodeServiceAccount
# bundles): write logs, metrics and resource metadata. Never owner, editor or any *admin role
# (Trivy GCP-0007). Workloads get their own identities through Workload Identity, not through
# this account.
resource "google_project_iam_member" "gke_nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.gke_nodes.email}"
}

# Pulling images: reader on the named Artifact Registry repositories only, not on every
# repository of the project. GKE's own system images come from Google-owned registries and
# need no grant.
resource "google_artifact_registry_repository_iam_member" "gke_nodes" {
  for_each = { for repo in var.node_image_repositories : "${repo.location}/${repo.repository}" => repo }

  project    = coalesce(each.value.project, var.project_id)
  location   = each.value.location
  repository = each.value.repository
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.gke_nodes.email}"
}

################################################################################
# GKE cluster
################################################################################

resource "google_container_cluster" "this" {
  name        = "${var.name_prefix}-gke"
  description = "GKE cluster of the gitops-infra-pipeline GCP stack."

  # Zonal on purpose: a dev cluster with one control plane costs less, and
  # GKE's free tier covers one zonal cluster's management fee per account.
  location = var.zone

  network    = google_compute_network.this.id
  subnetwork = google_compute_subnetwork.this.id

  deletion_protection = var.deletion_protection

  # The default node pool cannot be configured as tightly as a separate
  # google_container_node_pool (and cannot be changed without recreating the
  # cluster), so create the smallest one and delete it straight away.
  remove_default_node_pool = true
  initial_node_count       = 1

  # ... but it still boots before it is removed, and without this block it
  # would boot as the Compute Engine default service account, which fails in
  # organizations that disable it. Same identity and hardening as the pool.
  node_config {
    machine_type    = var.gke_machine_type
    service_account = google_service_account.gke_nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    metadata = {
      disable-legacy-endpoints = "true"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    resource_labels = local.labels
  }

  # VPC-native: Pod and Service IPs come from the subnet's secondary ranges.
  networking_mode = "VPC_NATIVE"
  ip_allocation_policy {
    cluster_secondary_range_name  = local.pods_range_name
    services_secondary_range_name = local.services_range_name
  }

  # Private nodes (no external IPs) and a private control plane endpoint.
  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = var.enable_private_endpoint
    master_ipv4_cidr_block  = var.master_ipv4_cidr_block
  }

  # Only private ranges may reach the control plane (GCP-0061 / GCP-0053).
  master_authorized_networks_config {
    gcp_public_cidrs_access_enabled = false

    cidr_blocks {
      cidr_block   = var.subnet_cidr
      display_name = "${var.name_prefix}-subnet"
    }

    dynamic "cidr_blocks" {
      for_each = var.additional_master_authorized_networks

      content {
        cidr_block   = cidr_blocks.value.cidr_block
        display_name = cidr_blocks.value.display_name
      }
    }
  }

  # Pods get Google identities through Workload Identity, never the node's.
  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  # Dataplane V2 (eBPF/Cilium) enforces Kubernetes NetworkPolicy natively;
  # it is GKE's recommended network policy implementation for new clusters
  # and replaces the Calico `network_policy` add-on (the two are exclusive).
  datapath_provider = "ADVANCED_DATAPATH"

  # Explicit, although they are GKE's defaults: Trivy and reviewers read code.
  enable_shielded_nodes = true
  enable_legacy_abac    = false

  # No client certificate: access goes through IAM (GCP-0064).
  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  release_channel {
    channel = var.release_channel
  }

  resource_labels = local.labels

  # The default pool's nodes need their roles from the first boot, and node_config changes
  # force a new cluster: keep later edits of the (removed) pool from recreating it.
  depends_on = [google_project_iam_member.gke_nodes]

  lifecycle {
    ignore_changes = [node_config]
  }
}

################################################################################
# GKE node pool
################################################################################

resource "google_container_node_pool" "this" {
  name     = "${var.name_prefix}-pool"
  cluster  = google_container_cluster.this.id
  location = var.zone

  node_count = var.gke_node_count

  # Release channels require auto-upgrade; auto-repair replaces broken nodes.
  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    strategy        = "SURGE"
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type = var.gke_machine_type
    image_type   = "COS_CONTAINERD"
    disk_type    = "pd-balanced"
    disk_size_gb = var.gke_disk_size_gb

    # Dedicated account with the narrow roles above; the broad scope is
    # Google's recommendation when permissions are controlled by IAM roles.
    service_account = google_service_account.gke_nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]

    # Pods see the GKE metadata server, not the node's credentials (GCP-0057).
    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    # Legacy (v0.1/v1beta1) metadata endpoints off (GCP-0048).
    metadata = {
      disable-legacy-endpoints = "true"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    # Node VMs and disks are Compute Engine resources: provider
    # default_labels do not reach them through a node pool, so set them here.
    resource_labels = local.labels
  }

  # Nodes must be able to write logs and pull images from their first boot.
  depends_on = [
    google_project_iam_member.gke_nodes,
    google_artifact_registry_repository_iam_member.gke_nodes,
  ]
}
