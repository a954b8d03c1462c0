################################################################################
# Resource group
################################################################################

output "resource_group_name" {
  description = "Name of the resource group that holds every resource of this stack."
  value       = azurerm_resource_group.this.name
}

################################################################################
# Linux VM
################################################################################

output "vm_id" {
  description = "Resource ID of the Linux VM; null while vm_count = 0."
  value       = one(azurerm_linux_virtual_machine.this[*].id)
}

output "private_ip" {
  description = "Private IP of the Linux VM (it has no public IP); null while vm_count = 0."
  value       = one(azurerm_linux_virtual_machine.this[*].private_ip_address)
}

################################################################################
# AKS
################################################################################

output "cluster_name" {
  description = "Name of the AKS cluster."
  value       = azurerm_kubernetes_cluster.this.name
}

output "cluster_fqdn" {
  description = "Private FQDN of the AKS API server; resolvable only inside the VNet."
  value       = azurerm_kubernetes_cluster.this.private_fqdn
}
