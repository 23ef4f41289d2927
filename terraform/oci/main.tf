locals {
  variant = "oci"
}

################################################################################
# Created first (apply -target=module.image_repository): the image, with the models baked in,
# is pushed before the function exists.
################################################################################

module "image_repository" {
  source = "../../modules/image_repository"

  name        = coalesce(var.repository_name, var.name)
  keep_images = var.keep_images
  # A demo stack: `terraform destroy` must leave nothing behind, pushed images included;
  # every image is rebuilt from this repository in minutes.
  force_delete = true
}

################################################################################
# The function: models baked into the image under /opt/models
################################################################################

module "api" {
  source = "../../modules/inference_api"

  name                 = var.name
  description          = "Question answering, models baked into the image"
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
    MODEL_STORE                  = "image"
    MODEL_ROOT                   = "/opt/models"
    POWERTOOLS_SERVICE_NAME      = "inference"
    POWERTOOLS_METRICS_NAMESPACE = "LambdaInference"
  })

  stage_name             = var.stage_name
  throttling_burst_limit = var.throttling_burst_limit
  throttling_rate_limit  = var.throttling_rate_limit
}
