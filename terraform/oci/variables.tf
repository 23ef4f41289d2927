################################################################################
# Stack
################################################################################

variable "name" {
  description = "Name of the stack: the function, its API, role, log groups and repository are named after it. Lowercase because ECR repository and S3 bucket names must be."
  type        = string
  default     = "inference-oci"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,27}[a-z0-9]$", var.name))
    error_message = "name must be 3-29 lowercase letters, digits or hyphens, starting with a letter (it prefixes the bucket name, whose prefix may be 37 characters)."
  }
}

variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name like us-east-1."
  }
}

variable "tags" {
  description = "Tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}

################################################################################
# Image
################################################################################

variable "image_uri" {
  description = "Image of the function, in this stack's repository (see the repository_url output): <repository_url>:<content-hash tag> or <repository_url>@sha256:<digest>. A new tag redeploys; the same tag never does. Any placeholder will do for the first, targeted apply of the repository."
  type        = string

  # Only a blank value is refused here: the first, targeted apply (-target=module.image_repository)
  # runs before any image exists and may pass a placeholder. The function's module checks the
  # <repository>:<tag> form whenever the function itself is planned.
  validation {
    condition     = can(regex("^\\S+$", var.image_uri))
    error_message = "image_uri must not be empty or contain whitespace."
  }
}

variable "repository_name" {
  description = "Name of the ECR repository the image is pushed to. null uses name."
  type        = string
  default     = null
}

variable "keep_images" {
  description = "How many images the repository keeps; older pushes expire."
  type        = number
  default     = 10
}

################################################################################
# Function
################################################################################

variable "memory_size" {
  description = "Memory of the function in MB (the sample's 6000; CPU scales with memory). New AWS accounts may be limited to 3008 MB until a quota increase."
  type        = number
  default     = 6000
}

variable "timeout" {
  description = "Timeout of one invocation in seconds (the sample's 180). The HTTP API itself answers 503 after 30 s."
  type        = number
  default     = 180
}

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB (models are baked into the image, /tmp only holds scratch files)."
  type        = number
  default     = 512
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the API function: caps cost and load. -1 (the default) leaves it unreserved, because accounts with the initial concurrency quota of 10 cannot reserve any."
  type        = number
  default     = -1
}

variable "log_retention_days" {
  description = "Retention of the function's and the API's log groups, in days."
  type        = number
  default     = 14
}

variable "tracing_mode" {
  description = "X-Ray tracing of the functions: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "environment_variables" {
  description = "Extra environment variables of the API function (e.g. MANIFEST_TTL_SECONDS, MAX_CONTEXT_CHARS); the stack's own MODEL_* settings win."
  type        = map(string)
  default     = {}
}

################################################################################
# HTTP API
################################################################################

variable "stage_name" {
  description = "Stage of the HTTP API, part of the URL (the sample's develop)."
  type        = string
  default     = "develop"
}

variable "throttling_burst_limit" {
  description = "Burst limit of the API's routes (requests)."
  type        = number
  default     = 20
}

variable "throttling_rate_limit" {
  description = "Steady-state rate limit of the API's routes (requests per second)."
  type        = number
  default     = 10
}

variable "example_model_type" {
  description = "model_type the curl_command output asks (one the published catalog serves)."
  type        = string
  default     = "nlp1"
}

################################################################################
# Models
################################################################################

variable "models_manifest_sha256" {
  description = "sha256 of the published models manifest. The EFS stack re-seeds its file system whenever it changes; the other stacks record it in the state (outputs) so a plan shows what was published."
  type        = string
  default     = ""

  validation {
    condition     = var.models_manifest_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.models_manifest_sha256))
    error_message = "models_manifest_sha256 must be empty or 64 lowercase hex digits."
  }
}
