# The one value the local target overrides: the generated local_override.tf replaces this block
# (override files merge per block, so this local lives alone in its own block and file).
locals {
  api_base_url = module.api.api_endpoint
}
