################################################################################
# VPC
################################################################################

resource "google_compute_network" "this" {
  name        = "${var.name_prefix}-vpc"
  description = "VPC for the gitops-infra-pipeline GCP stack."

  # Custom-mode VPC: only the subnet declared below exists, with ranges we
  # chose, instead of one auto subnet per region.
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

################################################################################
# Subnet
################################################################################

locals {
  pods_range_name     = "${var.name_prefix}-pods"
  services_range_name = "${var.name_prefix}-services"
}

resource "google_compute_subnetwork" "this" {
  name          = "${var.name_prefix}-subnet"
  description   = "VM and GKE node subnet, with secondary ranges for GKE Pods and Services."
  region        = var.region
  network       = google_compute_network.this.id
  ip_cidr_range = var.subnet_cidr

  # Nothing here has an external IP: Google APIs (Artifact Registry, Logging,
  # Monitoring) are reached over Private Google Access instead.
  private_ip_google_access = true

  # VPC-native GKE takes Pod and Service IPs from these alias ranges.
  secondary_ip_range {
    range_name    = local.pods_range_name
    ip_cidr_range = var.pods_cidr
  }

  secondary_ip_range {
    range_name    = local.services_range_name
    ip_cidr_range = var.services_cidr
  }

  # VPC flow logs, sampled, so network activity can be investigated.
  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

################################################################################
# Firewall
################################################################################

# SSH is allowed from Identity-Aware Proxy's TCP forwarding range ONLY
# (`gcloud compute ssh --tunnel-through-iap`). IAP authenticates the user and
# checks IAM before forwarding, so the VM never needs a public IP and port 22
# is never open to the internet (GCP-0027, OPA network policy).
# Ingress not allowed here is denied by the VPC's implied deny-ingress rule.
resource "google_compute_firewall" "iap_ssh" {
  name        = "${var.name_prefix}-allow-iap-ssh"
  description = "SSH to the VM from Identity-Aware Proxy TCP forwarding only."
  network     = google_compute_network.this.id
  direction   = "INGRESS"
  priority    = 1000

  source_ranges = ["35.235.240.0/20"]

  # Scoped to the VM's service account rather than a network tag: changing a
  # service account needs more privilege than editing an instance's tags.
  target_service_accounts = [google_service_account.vm.email]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

################################################################################
# Cloud NAT (egress for private nodes and the VM)
################################################################################

# GKE nodes are private and the VM has no external IP, so outbound internet
# traffic (OS updates, images outside Artifact Registry) goes through Cloud
# NAT. NAT is egress-only: it never makes anything reachable from outside.
resource "google_compute_router" "this" {
  name    = "${var.name_prefix}-router"
  region  = var.region
  network = google_compute_network.this.id
}

resource "google_compute_router_nat" "this" {
  name   = "${var.name_prefix}-nat"
  router = google_compute_router.this.name
  region = var.region

  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}
