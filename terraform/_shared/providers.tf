# The backend and the provider of every root stack; symlinked into terraform/{s3,efs,oci}/ (each
# stack names itself in local.variant, in its main.tf). The Terraform and provider versions are
# the modules' own: each stack's versions.tf links to modules/_shared/versions.tf.

terraform {
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
        Stack     = local.name
        Variant   = local.variant
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
