# VPC firewall whose direction comes from a variable with no default.
variable "direction" {
  description = "INGRESS or EGRESS"
  type        = string
}

resource "google_compute_firewall" "ssh" {
  name          = "allow-ssh"
  network       = "default"
  direction     = var.direction
  source_ranges = ["0.0.0.0/0"]

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
