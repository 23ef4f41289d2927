# The repository every root stack pushes its function image to, created first (apply
# -target=module.image_repository): one file, symlinked into terraform/{s3,efs,oci}/.

module "image_repository" {
  source = "../../modules/image_repository"

  name        = coalesce(var.repository_name, local.name)
  keep_images = var.keep_images
  # A demo stack: `terraform destroy` must leave nothing behind, pushed images included;
  # every image is rebuilt from this repository in minutes.
  force_delete = true
}
