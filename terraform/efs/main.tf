locals {
  variant    = "efs"
  model_root = "/mnt/models"

  # The API function (api.tf) mounts the access point read-only and loads models from it.
  model_store = {
    description            = "Question answering, models on EFS (${module.model_filesystem.file_system_id})"
    environment            = { MODEL_STORE = "efs", MODEL_ROOT = local.model_root }
    vpc_subnet_ids         = module.model_filesystem.private_subnet_ids
    vpc_security_group_ids = [module.model_filesystem.function_security_group_id]
    # access_point_arn is only known once every mount target exists (terraform-aws-lambda #620).
    efs_access_point_arn = module.model_filesystem.access_point_arn
    efs_file_system_arn  = module.model_filesystem.file_system_arn
    efs_local_mount_path = local.model_root
  }
}

################################################################################
# Network and file system
################################################################################

module "model_filesystem" {
  source = "../../modules/model_filesystem"

  name            = local.name
  vpc_cidr        = var.vpc_cidr
  throughput_mode = var.efs_throughput_mode
  # Functions in the VPC reach only the model bucket, read-only, through the gateway endpoint.
  s3_endpoint_bucket_arns = [module.model_bucket.bucket_arn]
}

################################################################################
# The seeder: the same image with another handler copies the manifest's models from the bucket
# into the file system (verified, manifest last). It runs once per published manifest instead of
# the sample's copy at every cold start.
################################################################################

module "seeder" {
  source = "../../modules/inference_api"

  name                 = "${local.name}-seed"
  description          = "Copies the models of s3://${module.model_bucket.bucket_id}/${var.model_prefix}/ into EFS"
  image_uri            = var.image_uri
  image_command        = ["inference.seed.handler"]
  memory_size          = var.seed_memory_size
  timeout              = var.seed_timeout
  reserved_concurrency = var.seed_reserved_concurrency
  tracing_mode         = var.tracing_mode
  log_retention_days   = var.log_retention_days
  create_api           = false

  environment_variables = {
    MODEL_BUCKET            = module.model_bucket.bucket_id
    MODEL_PREFIX            = var.model_prefix
    MODEL_ROOT              = local.model_root
    POWERTOOLS_SERVICE_NAME = "inference-seed"
  }

  model_bucket_arn = module.model_bucket.bucket_arn
  model_prefix     = var.model_prefix

  vpc_subnet_ids         = module.model_filesystem.private_subnet_ids
  vpc_security_group_ids = [module.model_filesystem.function_security_group_id]
  efs_access_point_arn   = module.model_filesystem.access_point_arn
  efs_file_system_arn    = module.model_filesystem.file_system_arn
  efs_local_mount_path   = local.model_root
  efs_write_access       = true
}

resource "aws_lambda_invocation" "seed" {
  count = var.seed_on_apply ? 1 : 0

  function_name = module.seeder.function_name
  input         = jsonencode({})

  # Re-seed when a new manifest is published or the file system or its root directory is new.
  triggers = {
    manifest     = var.models_manifest_sha256
    file_system  = module.model_filesystem.file_system_id
    access_point = module.model_filesystem.access_point_id
  }

  # The mount must succeed on the very first invocation.
  depends_on = [module.model_filesystem]
}
