# Network firewall policy with inline rules.
resource "google_compute_network_firewall_policy_with_rules" "main" {
  name = "main"

  rule {
    priority  = 1000
    action    = "allow"
    direction = "INGRESS"

    match {
      src_ip_ranges = ["0.0.0.0/1", "128.0.0.0/1"]

      layer4_config {
        ip_protocol = "tcp"
        ports       = ["22"]
      }
    }
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
