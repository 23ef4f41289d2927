# The Terraform and provider requirements of every module and plan fixture: symlinked as
# versions.tf into modules/*/ and tests/terraform/fixtures/*/, so a provider bump is one edit.
# Modules take a lower bound (terraform-aws-modules' habit): the release the stacks are tested on.
# The root stacks bound it (~> 5.100) in terraform/_shared/versions.tf.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}
