terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }

  # State stays local: plain `terraform init` keeps it in this folder; the harness passes
  # -backend-config=path=.state/terraform/<target>/efs/terraform.tfstate.
  backend "local" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project   = "lambda-inference"
        Stack     = var.name
        Variant   = "efs"
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
