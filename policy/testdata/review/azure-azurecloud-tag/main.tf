# NSG rule from the AzureCloud service tag (every Azure customer).
resource "azurerm_network_security_group" "vm" {
  name                = "nsg-vm"
  location            = "westeurope"
  resource_group_name = "rg-review"

  security_rule {
    name                       = "AllowSsh"
    priority                   = 100
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "22"
    destination_address_prefix = "*"
    direction                  = "Inbound"
    access                     = "Allow"
    source_address_prefix      = "AzureCloud"
  }

  tags = {
    "managed-by"  = "terraform"
    "environment" = "review"
  }
}
