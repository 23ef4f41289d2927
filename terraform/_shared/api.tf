################################################################################
# The API function and its HTTP API, the same in every stack. Symlinked into terraform/{s3,efs,oci}/
# as api.tf. What differs is where the models live: each stack's main.tf sets local.model_store
# (description and environment always; bucket_arn and prefix for a bucket; vpc and efs for a file
# system). An attribute a store leaves out takes its default in local.api_store (the module's own).
################################################################################

locals {
  # merge, not try(): try() on an object with any value unknown at plan time is wholly unknown,
  # and the module's for_each keys (VPC access or not) must be known when planning.
  api_store = merge({
    bucket_arn             = null
    prefix                 = "models"
    vpc_subnet_ids         = []
    vpc_security_group_ids = []
    efs_access_point_arn   = null
    efs_file_system_arn    = null
    efs_local_mount_path   = "/mnt/models"
  }, local.model_store)
}

module "api" {
  source = "../../modules/inference_api"

  name                 = local.name
  description          = local.api_store.description
  image_uri            = var.image_uri
  image_command        = ["inference.handler.handler"]
  memory_size          = var.memory_size
  timeout              = var.timeout
  ephemeral_storage_mb = var.ephemeral_storage_mb
  reserved_concurrency = var.reserved_concurrency
  request_limits       = var.request_limits

  model_memory_budget_mb = var.model_memory_budget_mb
  tracing_mode           = var.tracing_mode
  log_retention_days     = var.log_retention_days

  environment_variables = merge(var.environment_variables, local.api_store.environment, {
    POWERTOOLS_SERVICE_NAME      = "inference"
    POWERTOOLS_METRICS_NAMESPACE = "LambdaInference"
  })

  model_bucket_arn = local.api_store.bucket_arn
  model_prefix     = local.api_store.prefix

  vpc_subnet_ids         = local.api_store.vpc_subnet_ids
  vpc_security_group_ids = local.api_store.vpc_security_group_ids
  efs_access_point_arn   = local.api_store.efs_access_point_arn
  efs_file_system_arn    = local.api_store.efs_file_system_arn
  efs_local_mount_path   = local.api_store.efs_local_mount_path

  api_authorization_type = var.api_authorization
  jwt_issuer             = var.jwt_issuer
  jwt_audiences          = var.jwt_audiences
  stage_name             = var.stage_name
  throttling_burst_limit = var.throttling_burst_limit
  throttling_rate_limit  = var.throttling_rate_limit
}
