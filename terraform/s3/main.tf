locals {
  variant = "s3"

  # The API function (api.tf) downloads the models from the bucket into /tmp, verified against
  # the manifest.
  model_store = {
    description = "Question answering, models from s3://${module.model_bucket.bucket_id}/${var.model_prefix}/"
    environment = {
      MODEL_STORE          = "s3"
      MODEL_BUCKET         = module.model_bucket.bucket_id
      MODEL_PREFIX         = var.model_prefix
      MODEL_CACHE_DIR      = "/tmp/models"
      EPHEMERAL_STORAGE_MB = tostring(var.ephemeral_storage_mb)
    }
    bucket_arn = module.model_bucket.bucket_arn
    prefix     = var.model_prefix
  }
}
