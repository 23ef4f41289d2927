# The Terraform and provider requirements of every module; symlinked into modules/*/versions.tf,
# so a provider bump is one edit (the root stacks pin the same in terraform/_shared/versions.tf).

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
