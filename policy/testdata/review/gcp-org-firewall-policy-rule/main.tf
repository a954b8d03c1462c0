# Organization (hierarchical) firewall policy rule matching whole countries.
resource "google_compute_firewall_policy" "org" {
  parent     = "organizations/123456789012"
  short_name = "org"
}

resource "google_compute_firewall_policy_rule" "ssh" {
  firewall_policy = google_compute_firewall_policy.org.name
  action          = "allow"
  direction       = "INGRESS"
  priority        = 1000

  match {
    src_region_codes = ["US", "DE"]

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
