################################################################################
# Virtual network
################################################################################

resource "azurerm_virtual_network" "this" {
  name                = "vnet-${var.name_prefix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  address_space       = [var.vnet_cidr]
  tags                = local.tags
}

################################################################################
# Subnets
################################################################################

resource "azurerm_subnet" "vm" {
  name                 = "snet-vm"
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.vm_subnet_cidr]
}

# AKS nodes get their IPs here; Pods use the overlay range (aks.tf).
resource "azurerm_subnet" "aks" {
  name                 = "snet-aks"
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.aks_subnet_cidr]
}

################################################################################
# Network security groups
################################################################################

# VM subnet: SSH from one named range only, never from `*`, 0.0.0.0/0, ::/0,
# Internet or Any (AZU-0050 / AZU-0047, OPA network policy; the variable's
# validation rejects them too). Everything else inbound from outside the VNet
# falls through to Azure's built-in DenyAllInBound rule.
resource "azurerm_network_security_group" "vm" {
  name                = "nsg-${var.name_prefix}-vm"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location

  security_rule {
    name                       = "AllowSshFromAdminCidr"
    description                = "SSH to the VM subnet from the admin range only."
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "22"
    source_address_prefix      = var.ssh_allowed_cidr
    destination_address_prefix = var.vm_subnet_cidr
  }

  tags = local.tags
}

# AKS subnet: no custom rules. The built-in rules (VNet and load balancer in,
# internet denied) are what AKS needs; AKS adds its own rules to the NSG it
# manages in the node resource group.
resource "azurerm_network_security_group" "aks" {
  name                = "nsg-${var.name_prefix}-aks"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  tags                = local.tags
}

resource "azurerm_subnet_network_security_group_association" "vm" {
  subnet_id                 = azurerm_subnet.vm.id
  network_security_group_id = azurerm_network_security_group.vm.id
}

resource "azurerm_subnet_network_security_group_association" "aks" {
  subnet_id                 = azurerm_subnet.aks.id
  network_security_group_id = azurerm_network_security_group.aks.id
}

################################################################################
# VM network interface
################################################################################

# One NIC per VM, private IP only: no public_ip_address_id.
resource "azurerm_network_interface" "vm" {
  count = var.vm_count

  name                  = "nic-${var.name_prefix}-vm"
  resource_group_name   = azurerm_resource_group.this.name
  location              = azurerm_resource_group.this.location
  ip_forwarding_enabled = false

  ip_configuration {
    name                          = "internal"
    subnet_id                     = azurerm_subnet.vm.id
    private_ip_address_allocation = "Dynamic"
  }

  tags = local.tags
}

# The VM subnet's NSG is also bound to the NIC itself, so the SSH rule still
# applies if the NIC is ever moved to another subnet (Trivy AZU-0068).
resource "azurerm_network_interface_security_group_association" "vm" {
  count = var.vm_count

  network_interface_id      = azurerm_network_interface.vm[count.index].id
  network_security_group_id = azurerm_network_security_group.vm.id
}
