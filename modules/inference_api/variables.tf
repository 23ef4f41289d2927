################################################################################
# General
################################################################################

variable "name" {
  description = "Name of the Lambda function; also the prefix of its IAM role, log groups and HTTP API."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,56}$", var.name))
    error_message = "name must be 1-56 letters, digits, hyphens or underscores (Lambda allows 64; the IAM role appends a suffix)."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = "Extractive question answering with several models behind one API"
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

################################################################################
# Function
################################################################################

variable "image_uri" {
  description = "ECR image URI of the function (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or `@sha256:<digest>`). Use content-hash or digest tags: the same tag pushed again does not redeploy."
  type        = string

  validation {
    condition     = can(regex("^[^\\s@]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image_uri))
    error_message = "image_uri must be <repository>:<tag> or <repository>@sha256:<digest>."
  }
}

variable "image_command" {
  description = "Overrides the image's CMD (the handler), e.g. [\"inference.seed.handler\"]. null keeps the image's CMD."
  type        = list(string)
  default     = null
}

variable "image_entry_point" {
  description = "Overrides the image's ENTRYPOINT. null keeps the image's ENTRYPOINT."
  type        = list(string)
  default     = null
}

variable "image_working_directory" {
  description = "Overrides the image's working directory. null keeps the image's WORKDIR."
  type        = string
  default     = null
}

variable "architectures" {
  description = "Instruction set of the function; the image must be built for it."
  type        = list(string)
  default     = ["x86_64"]

  validation {
    condition     = length(var.architectures) == 1 && contains(["x86_64", "arm64"], var.architectures[0])
    error_message = "architectures must be exactly one of [\"x86_64\"] or [\"arm64\"]."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (CPU scales with it: 1769 MB is one vCPU)."
  type        = number
  default     = 6000

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of one invocation in seconds. The default stays under the HTTP API's 30 s integration timeout, so a request the gateway has answered 504 for does not keep its environment busy; the request limits keep accepted requests well inside it. The EFS seeder passes its own."
  type        = number
  default     = 25

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB (the S3 store caches models there)."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240 && floor(var.ephemeral_storage_mb) == var.ephemeral_storage_mb
    error_message = "ephemeral_storage_mb must be a whole number of MB between 512 and 10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: caps the cost and the load on the model store. -1 leaves the function unreserved, 0 disables it. Accounts with the initial concurrency quota of 10 cannot reserve any."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency >= -1 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be -1 (unreserved) or a whole number >= 0."
  }
}

################################################################################
# Request limits (the function's 413s; null keeps the function's own default)
################################################################################

variable "environment_variables" {
  description = "Environment variables of the function (MODEL_STORE, MODEL_BUCKET, MODEL_ROOT, ...; see docs/design.md)."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of a KMS key that encrypts the function's environment variables. null uses the AWS managed key."
  type        = string
  default     = null
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the function: Active samples and sends traces (the function's Powertools tracer uses them), PassThrough does not. Active attaches AWSXRayDaemonWriteAccess to the role."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

################################################################################
# Network and file system
################################################################################

variable "vpc_subnet_ids" {
  description = "Subnets the function runs in. Empty runs it outside any VPC (no ENI permissions are granted then)."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Security groups of the function's network interfaces; needed when vpc_subnet_ids is set."
  type        = list(string)
  default     = []
}

variable "efs_access_point_arn" {
  description = "ARN of the EFS access point the function mounts. null mounts nothing. Pass an ARN that depends on the mount targets (model_filesystem's access_point_arn does) or the first invocations fail to mount."
  type        = string
  default     = null
}

variable "efs_file_system_arn" {
  description = "ARN of the file system behind efs_access_point_arn; the IAM grant names it and conditions on the access point."
  type        = string
  default     = null
}

variable "efs_local_mount_path" {
  description = "Where the access point is mounted in the function; Lambda requires a path under /mnt/."
  type        = string
  default     = "/mnt/models"

  validation {
    condition     = can(regex("^/mnt/[a-zA-Z0-9._-]+$", var.efs_local_mount_path))
    error_message = "efs_local_mount_path must be /mnt/<name>."
  }
}

variable "efs_write_access" {
  description = "Grant elasticfilesystem:ClientWrite too (only the seeder writes; the API function mounts read-only)."
  type        = bool
  default     = false
}

################################################################################
# Model bucket
################################################################################

variable "model_bucket_arn" {
  description = "ARN of the bucket the function reads models from. null grants no S3 access."
  type        = string
  default     = null
}

variable "model_prefix" {
  description = "Key prefix of the models in the bucket (no leading or trailing slash). The function may read and list only under it; \"\" grants the whole bucket."
  type        = string
  default     = "models"

  validation {
    condition     = var.model_prefix == "" || can(regex("^[^/].*[^/]$|^[^/]$", var.model_prefix))
    error_message = "model_prefix must not start or end with a slash."
  }
}

################################################################################
# IAM and logs
################################################################################

variable "role_permissions_boundary" {
  description = "ARN of a permissions boundary for the function's IAM role."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the function's and the API's log groups, in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the log groups. null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

################################################################################
# HTTP API
################################################################################

variable "create_api" {
  description = "Create an API Gateway v2 HTTP API in front of the function (false for functions that are only invoked, like the EFS seeder)."
  type        = bool
  default     = true
}

variable "api_routes" {
  description = "Route keys the HTTP API sends to the function."
  type        = list(string)
  default     = ["POST /", "GET /models"]

  validation {
    condition     = alltrue([for r in var.api_routes : can(regex("^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /.*$", r)) || r == "$default"])
    error_message = "api_routes must be route keys like \"POST /\" or \"$default\"."
  }
}

variable "api_authorization_type" {
  description = "Authorization of the routes: NONE (a public demo API, like the sample), AWS_IAM (callers sign requests with SigV4 and need execute-api:Invoke) or JWT (callers send `Authorization: Bearer <token>`, checked by a JWT authorizer against jwt_issuer and jwt_audiences)."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM", "JWT"], var.api_authorization_type)
    error_message = "api_authorization_type must be NONE, AWS_IAM or JWT."
  }
}

variable "jwt_issuer" {
  description = "Issuer (`iss`) of the tokens the JWT authorizer accepts; its signing keys are read from `<issuer>/.well-known/jwks.json` (OIDC discovery). Required with api_authorization_type = JWT. AWS needs https; the local cloud also takes http://127.0.0.1:<port>."
  type        = string
  default     = null

  validation {
    condition     = var.jwt_issuer == null ? true : can(regex("^(https://[^\\s/]+|http://127\\.0\\.0\\.1(:[0-9]+)?)(/\\S*)?$", var.jwt_issuer))
    error_message = "jwt_issuer must be an https:// URL (or http://127.0.0.1[:port] for the local cloud)."
  }
}

variable "jwt_audiences" {
  description = "Audiences (`aud`) the JWT authorizer accepts, at least one with api_authorization_type = JWT."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for audience in var.jwt_audiences : length(trimspace(audience)) > 0])
    error_message = "jwt_audiences must not contain blank entries."
  }
}

variable "stage_name" {
  description = "Name of the HTTP API stage; part of the URL."
  type        = string
  default     = "develop"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be 1-128 letters, digits, hyphens or underscores."
  }
}

variable "throttling_burst_limit" {
  description = "Burst limit of every route of the stage (requests)."
  type        = number
  default     = 20
}

variable "throttling_rate_limit" {
  description = "Steady-state rate limit of every route of the stage (requests per second)."
  type        = number
  default     = 10
}

variable "integration_timeout_milliseconds" {
  description = "How long the HTTP API waits for the function (50-30000 ms); a cold start that loads a model needs most of it."
  type        = number
  default     = 30000

  validation {
    condition     = var.integration_timeout_milliseconds >= 50 && var.integration_timeout_milliseconds <= 30000
    error_message = "integration_timeout_milliseconds must be between 50 and 30000."
  }
}
