################################################################################
# VM service account
################################################################################

# A dedicated, non-default service account (GCP-0044 is CRITICAL for the
# Compute Engine default account, which has the Editor role).
resource "google_service_account" "vm" {
  account_id   = "${var.name_prefix}-vm"
  display_name = "VM (${var.name_prefix})"
  description  = "Identity of the gitops-infra-pipeline VM: write logs and metrics only."
}

resource "google_project_iam_member" "vm" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.vm.email}"
}

################################################################################
# Compute instance
################################################################################

# count = 0 until GCP is activated (see README.md): the code is planned,
# linted and scanned on every run but creates nothing to pay for.
resource "google_compute_instance" "this" {
  count = var.vm_count

  name         = "${var.name_prefix}-vm"
  description  = "gitops-infra-pipeline VM, reachable over IAP only."
  zone         = var.zone
  machine_type = var.vm_machine_type

  # Not a router (GCP-0043).
  can_ip_forward = false

  boot_disk {
    auto_delete = true

    initialize_params {
      image = var.vm_image
      size  = var.vm_disk_size_gb
      type  = "pd-balanced"
    }
  }

  # No access_config block: no external IP (GCP-0031). SSH arrives through
  # IAP (see the firewall in network.tf), egress through Cloud NAT.
  network_interface {
    subnetwork = google_compute_subnetwork.this.id
  }

  service_account {
    email  = google_service_account.vm.email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    # SSH keys come from OS Login (IAM), not from metadata, and the
    # project-wide metadata keys are not accepted on this VM.
    enable-oslogin         = true
    block-project-ssh-keys = true
    serial-port-enable     = false
  }

  labels = local.labels

  depends_on = [google_project_iam_member.vm]
}
