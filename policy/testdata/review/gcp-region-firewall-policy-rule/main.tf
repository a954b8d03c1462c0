# Regional network firewall policy rule, IPv6 anywhere spelled 0::/0.
resource "google_compute_region_network_firewall_policy" "main" {
  name   = "main"
  region = "us-central1"
}

resource "google_compute_region_network_firewall_policy_rule" "ssh" {
  firewall_policy = google_compute_region_network_firewall_policy.main.name
  region          = "us-central1"
  action          = "allow"
  direction       = "INGRESS"
  priority        = 1000

  match {
    src_ip_ranges = ["0::/0"]

    layer4_configs {
      ip_protocol = "tcp"
      ports       = ["22"]
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
