################################################################################
# AKS identity
################################################################################

# A user-assigned identity exists before the cluster, so it can be given its
# network permission first (a system-assigned one only exists afterwards).
resource "azurerm_user_assigned_identity" "aks" {
  name                = "id-${var.name_prefix}-aks"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  tags                = local.tags
}

# AKS joins nodes and internal load balancers to our own subnet; that needs
# Network Contributor on this subnet, and on nothing wider.
resource "azurerm_role_assignment" "aks_subnet" {
  scope                = azurerm_subnet.aks.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_user_assigned_identity.aks.principal_id
  principal_type       = "ServicePrincipal"
}

################################################################################
# AKS monitoring
################################################################################

# Container insights (oms_agent) sends node and Pod logs here.
resource "azurerm_log_analytics_workspace" "aks" {
  name                = "log-${var.name_prefix}-aks"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

################################################################################
# AKS cluster
################################################################################

resource "azurerm_kubernetes_cluster" "this" {
  name                = "aks-${var.name_prefix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  dns_prefix          = var.name_prefix
  sku_tier            = "Free"

  # API server on a private IP in the VNet only (AZU-0041), with an
  # AKS-managed private DNS zone and no public FQDN. CI kubectl/helm must run
  # inside the VNet, or use `az aks command invoke` (run command stays on).
  private_cluster_enabled             = true
  private_dns_zone_id                 = "System"
  private_cluster_public_fqdn_enabled = false

  # Kubernetes RBAC explicitly on (AZU-0042), authentication through
  # Microsoft Entra ID with Azure RBAC, and no local admin kubeconfig.
  role_based_access_control_enabled = true
  local_account_disabled            = true

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled     = true
    admin_group_object_ids = var.aks_admin_group_object_ids
  }

  # Pods get Entra identities through workload identity, never the node's.
  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  azure_policy_enabled = true

  automatic_upgrade_channel = "patch"
  node_os_upgrade_channel   = "NodeImage"

  default_node_pool {
    name                        = "system"
    temporary_name_for_rotation = "systemtmp"
    vm_size                     = var.aks_vm_size
    node_count                  = var.aks_node_count
    vnet_subnet_id              = azurerm_subnet.aks.id
    os_sku                      = "AzureLinux"
    node_public_ip_enabled      = false
    host_encryption_enabled     = var.encryption_at_host_enabled

    upgrade_settings {
      max_surge = "10%"
    }

    tags = local.tags
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.aks.id]
  }

  # Azure CNI Overlay with the Cilium dataplane, which enforces Kubernetes
  # NetworkPolicy (AZU-0043). Pods take IPs from the overlay range, so the
  # node subnet stays small.
  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    pod_cidr            = var.aks_pod_cidr
    service_cidr        = var.aks_service_cidr
    dns_service_ip      = cidrhost(var.aks_service_cidr, 10)
    load_balancer_sku   = "standard"
    outbound_type       = "loadBalancer"
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.aks.id
    msi_auth_for_monitoring_enabled = true
  }

  tags = local.tags

  # The identity must hold its subnet role before AKS places nodes there.
  depends_on = [
    azurerm_role_assignment.aks_subnet,
    azurerm_subnet_network_security_group_association.aks,
  ]
}
