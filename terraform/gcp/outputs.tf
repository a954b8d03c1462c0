################################################################################
# Compute instance
################################################################################

output "instance_id" {
  description = "Server-assigned numeric ID of the VM; null while vm_count = 0."
  value       = one(google_compute_instance.this[*].instance_id)
}

output "instance_internal_ip" {
  description = "Internal IP of the VM (it has no external IP); null while vm_count = 0."
  value       = one(google_compute_instance.this[*].network_interface[0].network_ip)
}

################################################################################
# GKE
################################################################################

output "cluster_name" {
  description = "Name of the GKE cluster."
  value       = google_container_cluster.this.name
}

output "cluster_endpoint" {
  description = "IP of the GKE control plane (the private endpoint while enable_private_endpoint = true; reachable from the VPC only)."
  value       = google_container_cluster.this.endpoint
}

################################################################################
# Network
################################################################################

output "network_name" {
  description = "Name of the VPC network."
  value       = google_compute_network.this.name
}
