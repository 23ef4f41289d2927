# The Terraform and provider requirements of every module, root stack and plan fixture: symlinked
# as versions.tf into modules/*/, terraform/{s3,efs,oci}/ and tests/terraform/fixtures/*/, so a
# provider bump is one edit. (The root stacks' backend and provider: terraform/_shared/providers.tf.)

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
