# The bucket the models are published to, in the stacks that keep them in one (terraform/s3 reads
# them from it, terraform/efs seeds its file system from it): symlinked into both as
# model_bucket.tf. The oci stack bakes its models into the image and has no bucket.

variable "model_prefix" {
  description = "Key prefix of the models in the bucket: the manifest is s3://<model_bucket>/<model_prefix>/manifest.json. The function that reads the bucket (the API function of s3, the seeder of efs) may read and list only under it."
  type        = string
  default     = "models"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.model_prefix))
    error_message = "model_prefix must be a non-empty key prefix without leading or trailing slashes."
  }
}

################################################################################
# Created first (apply -target=module.image_repository -target=module.model_bucket; the
# repository is in image_repository.tf):
# the image is pushed and the models published before the functions exist.
################################################################################

module "model_bucket" {
  source = "../../modules/model_bucket"

  bucket_prefix = "${local.name}-models-"
  # A demo stack: `terraform destroy` must leave nothing behind, and every model version in the
  # bucket is published again from its pinned source in minutes.
  force_destroy = true
}

output "model_bucket" {
  description = "Bucket the models are published to."
  value       = module.model_bucket.bucket_id
}

output "model_prefix" {
  description = "Key prefix of the models in the bucket (the manifest is <model_prefix>/manifest.json)."
  value       = var.model_prefix
}
