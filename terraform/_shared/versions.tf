# The Terraform and provider requirements and the backend of every root stack; symlinked into
# terraform/{s3,efs,oci}/ as versions.tf. Stacks bound the provider to the release they are tested
# on (their .terraform.lock.hcl pins it); modules only set a lower bound (modules/_shared/).

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State stays local: plain `terraform init` keeps it in this folder; the harness passes
  # -backend-config=path=.state/terraform/<target>/<variant>/terraform.tfstate.
  backend "local" {}
}
