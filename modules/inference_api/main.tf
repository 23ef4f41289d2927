data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # Built from known parts (not the log group's ARN attribute) so the role's policy is known at
  # plan time and shows in the plan.
  log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name}"

  # The request limits become the function's variables only when set, so the function's own
  # defaults (function/inference/config.py) stay the one definition of each.
  request_limits = {
    MAX_CONTEXT_CHARS   = var.request_limits.max_context_chars
    MAX_QUESTION_CHARS  = var.request_limits.max_question_chars
    MAX_QUESTION_TOKENS = var.request_limits.max_question_tokens
    MAX_WINDOWS         = var.request_limits.max_windows
  }
  # Likewise the model cache's budget: unset, the function derives it from its memory size.
  model_settings = {
    MODEL_MEMORY_BUDGET_MB = var.model_memory_budget_mb
  }
  environment = merge(
    var.environment_variables,
    { for name, value in merge(local.request_limits, local.model_settings) : name => tostring(value) if value != null },
  )

  in_vpc     = length(var.vpc_subnet_ids) > 0
  mounts_efs = var.efs_access_point_arn != null
  reads_s3   = var.model_bucket_arn != null

  # The function may read objects and list keys only under its prefix.
  model_object_arn    = var.model_prefix == "" ? "${coalesce(var.model_bucket_arn, "-")}/*" : "${coalesce(var.model_bucket_arn, "-")}/${var.model_prefix}/*"
  model_list_prefixes = var.model_prefix == "" ? [] : [var.model_prefix, "${var.model_prefix}/*"]

  has_image_config = var.image_command != null || var.image_entry_point != null || var.image_working_directory != null

  managed_policy_arns = merge(
    local.in_vpc ? { vpc = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole" } : {},
    var.tracing_mode == "Active" ? { tracing = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess" } : {},
  )
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 14 days): a demo's request logs are not worth a year of storage.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

################################################################################
# IAM: the function's role, least privilege
################################################################################

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name}-lambda"
  description          = "Execution role of the ${var.name} function"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  permissions_boundary = var.role_permissions_boundary

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  dynamic "statement" {
    for_each = local.reads_s3 ? [1] : []

    content {
      sid       = "ReadModels"
      actions   = ["s3:GetObject"]
      resources = [local.model_object_arn]
    }
  }

  dynamic "statement" {
    for_each = local.reads_s3 ? [1] : []

    content {
      sid       = "ListModels"
      actions   = ["s3:ListBucket"]
      resources = [var.model_bucket_arn]

      dynamic "condition" {
        for_each = length(local.model_list_prefixes) > 0 ? [1] : []

        content {
          test     = "StringLike"
          variable = "s3:prefix"
          values   = local.model_list_prefixes
        }
      }
    }
  }

  dynamic "statement" {
    for_each = local.mounts_efs ? [1] : []

    content {
      sid       = var.efs_write_access ? "MountModelFileSystemReadWrite" : "MountModelFileSystemReadOnly"
      actions   = concat(["elasticfilesystem:ClientMount"], var.efs_write_access ? ["elasticfilesystem:ClientWrite"] : [])
      resources = [coalesce(var.efs_file_system_arn, "-")]

      condition {
        test     = "StringEquals"
        variable = "elasticfilesystem:AccessPointArn"
        values   = [var.efs_access_point_arn]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.managed_policy_arns

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

################################################################################
# Function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invocations are synchronous (HTTP API, RequestResponse invoke): a dead-letter queue only receives failed asynchronous events.
  #checkov:skip=CKV_AWS_272:Code signing applies to .zip packages only; container images are pinned by content-hash tag in an IMMUTABLE repository instead.
  function_name = var.name
  description   = var.description
  role          = aws_iam_role.this.arn

  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = var.architectures

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  dynamic "image_config" {
    for_each = local.has_image_config ? [1] : []

    content {
      command           = var.image_command
      entry_point       = var.image_entry_point
      working_directory = var.image_working_directory
    }
  }

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  dynamic "environment" {
    for_each = length(local.environment) > 0 ? [1] : []

    content {
      variables = local.environment
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "vpc_config" {
    for_each = local.in_vpc ? [1] : []

    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  dynamic "file_system_config" {
    for_each = local.mounts_efs ? [1] : []

    content {
      arn              = var.efs_access_point_arn
      local_mount_path = var.efs_local_mount_path
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = !local.mounts_efs || (var.efs_file_system_arn != null && local.in_vpc)
      error_message = "An EFS mount needs efs_file_system_arn (for the IAM grant) and vpc_subnet_ids (Lambda reaches EFS through the VPC)."
    }

    precondition {
      condition     = !local.in_vpc || length(var.vpc_security_group_ids) > 0
      error_message = "A function in a VPC needs vpc_security_group_ids."
    }
  }

  # The log group must exist before Lambda creates it with infinite retention, and the role must be
  # able to log, mount and read before the first invocation.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
    aws_iam_role_policy_attachment.this,
  ]
}

################################################################################
# HTTP API
################################################################################

resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 14 days): a demo's access logs are not worth a year of storage.
  count = var.create_api ? 1 : 0

  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_apigatewayv2_api" "this" {
  count = var.create_api ? 1 : 0

  name          = var.name
  description   = "Question answering with the model chosen per request (${var.name})"
  protocol_type = "HTTP"

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "this" {
  count = var.create_api ? 1 : 0

  api_id                 = aws_apigatewayv2_api.this[0].id
  description            = "Lambda proxy to ${var.name}"
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this.arn
  payload_format_version = "2.0"
  timeout_milliseconds   = var.integration_timeout_milliseconds
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.create_api && var.api_authorization_type == "JWT" ? 1 : 0

  api_id           = aws_apigatewayv2_api.this[0].id
  name             = "${var.name}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_issuer
    audience = var.jwt_audiences
  }
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:Authorization is the api_authorization_type variable: NONE by default (the sample's public demo API, throttled per route), AWS_IAM or JWT by opting in.
  for_each = var.create_api ? toset(var.api_routes) : toset([])

  api_id             = aws_apigatewayv2_api.this[0].id
  route_key          = each.value
  authorization_type = var.api_authorization_type
  authorizer_id      = var.api_authorization_type == "JWT" ? aws_apigatewayv2_authorizer.jwt[0].id : null
  target             = "integrations/${aws_apigatewayv2_integration.this[0].id}"

  lifecycle {
    precondition {
      condition     = var.api_authorization_type != "JWT" || (var.jwt_issuer != null && length(var.jwt_audiences) > 0)
      error_message = "api_authorization_type = JWT needs jwt_issuer and at least one jwt_audiences entry."
    }
  }
}

resource "aws_apigatewayv2_stage" "this" {
  count = var.create_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.this[0].id
  name        = var.stage_name
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api[0].arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
    })
  }

  tags = var.tags
}

resource "aws_lambda_permission" "api" {
  count = var.create_api ? 1 : 0

  statement_id  = "AllowInvokeFromHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  # Only this API's stage may invoke the function, on any of its routes.
  source_arn = "${aws_apigatewayv2_api.this[0].execution_arn}/${var.stage_name}/*"
}
