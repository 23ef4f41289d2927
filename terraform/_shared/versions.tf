# The Terraform and provider requirements of every root stack; symlinked into terraform/{s3,efs,oci}/
# (each stack names itself in local.variant, in its main.tf).

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

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project   = "lambda-inference"
        Stack     = var.name
        Variant   = local.variant
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
