locals {
  variant = "s3"
}

################################################################################
# Created first (apply -target=module.image_repository -target=module.model_bucket):
# the image is pushed and the models published before the function exists.
################################################################################

module "image_repository" {
  source = "../../modules/image_repository"

  name        = coalesce(var.repository_name, var.name)
  keep_images = var.keep_images
  # A demo stack: `terraform destroy` must leave nothing behind, pushed images included;
  # every image is rebuilt from this repository in minutes.
  force_delete = true
}

module "model_bucket" {
  source = "../../modules/model_bucket"

  bucket_prefix = "${var.name}-models-"
  # A demo stack: `terraform destroy` must leave nothing behind, and every model version in the
  # bucket is published again from its pinned source in minutes.
  force_destroy = true
}

################################################################################
# The function: models downloaded from the bucket into /tmp, verified against the manifest
################################################################################

module "api" {
  source = "../../modules/inference_api"

  name                 = var.name
  description          = "Question answering, models from s3://${module.model_bucket.bucket_id}/${var.model_prefix}/"
  image_uri            = var.image_uri
  image_command        = ["inference.handler.handler"]
  memory_size          = var.memory_size
  timeout              = var.timeout
  ephemeral_storage_mb = var.ephemeral_storage_mb
  reserved_concurrency = var.reserved_concurrency
  max_context_chars    = var.max_context_chars
  max_question_chars   = var.max_question_chars
  max_question_tokens  = var.max_question_tokens
  max_windows          = var.max_windows

  model_memory_budget_mb = var.model_memory_budget_mb
  tracing_mode           = var.tracing_mode
  log_retention_days     = var.log_retention_days

  environment_variables = merge(var.environment_variables, {
    MODEL_STORE                  = "s3"
    MODEL_BUCKET                 = module.model_bucket.bucket_id
    MODEL_PREFIX                 = var.model_prefix
    MODEL_CACHE_DIR              = "/tmp/models"
    EPHEMERAL_STORAGE_MB         = tostring(var.ephemeral_storage_mb)
    POWERTOOLS_SERVICE_NAME      = "inference"
    POWERTOOLS_METRICS_NAMESPACE = "LambdaInference"
  })

  model_bucket_arn = module.model_bucket.bucket_arn
  model_prefix     = var.model_prefix

  stage_name             = var.stage_name
  throttling_burst_limit = var.throttling_burst_limit
  throttling_rate_limit  = var.throttling_rate_limit
}
