################################################################################
# Resource group
################################################################################

resource "azurerm_resource_group" "this" {
  name     = "rg-${var.name_prefix}"
  location = var.location
  tags     = local.tags
}

################################################################################
# Linux VM
################################################################################

# count = 0 until Azure is activated (see README.md): the code is linted and
# scanned on every run but creates nothing to pay for.
resource "azurerm_linux_virtual_machine" "this" {
  count = var.vm_count

  name                = "vm-${var.name_prefix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location

  # B-series v1 (Standard_B1s, Standard_B2s) is announced for retirement on
  # 2028-11-15; TFLint reports that as a Notice, which would fail the gate
  # once vm_count = 1. Standard_B1s is the size this design and the OPA
  # approved list mandate, so the notice is acknowledged here: replace the
  # size (and the approved list) with a B-series v2 size before 2028.
  # tflint-ignore: azurerm_linux_virtual_machine_retired_size
  size = var.vm_size

  # Private NIC only (network.tf): no public IP.
  network_interface_ids = [azurerm_network_interface.vm[count.index].id]

  # Key-based login only (AZU-0039).
  admin_username                  = var.admin_username
  disable_password_authentication = true

  admin_ssh_key {
    username   = var.admin_username
    public_key = var.admin_ssh_public_key
  }

  # Managed disks are always encrypted at rest with platform-managed keys;
  # encryption at host also covers the temp disk and the disk caches.
  encryption_at_host_enabled = var.encryption_at_host_enabled

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "StandardSSD_LRS"
    disk_size_gb         = 30
  }

  # Trusted Launch: secure boot and a virtual TPM (needs a Gen2 image).
  secure_boot_enabled = true
  vtpm_enabled        = true

  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }

  # Serial console and screenshots without a storage account of our own.
  boot_diagnostics {}

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.admin_ssh_public_key != null
      error_message = "admin_ssh_public_key must be set (TF_VAR_admin_ssh_public_key from the AZURE_SSH_PUBLIC_KEY secret) when vm_count > 0."
    }
  }
}
