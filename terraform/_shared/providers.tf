# The provider of every root stack; symlinked into terraform/{s3,efs,oci}/ (each stack names
# itself in local.variant, in its main.tf). Versions and backend: terraform/_shared/versions.tf.

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
