# Inputs every root stack takes, with the same meaning and default: one file, symlinked into
# terraform/{s3,efs,oci}/ as variables_shared.tf. Each stack's own variables.tf holds the rest.

variable "name" {
  description = "Name of the stack: the function, its API, role, log groups and repository are named after it. Lowercase because ECR repository and S3 bucket names must be. null names it inference-<variant> (inference-s3, inference-efs, inference-oci)."
  type        = string
  default     = null

  validation {
    condition     = var.name == null || can(regex("^[a-z][a-z0-9-]{1,27}[a-z0-9]$", var.name))
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

variable "memory_size" {
  description = "Memory of the function in MB (the sample's 6000; CPU scales with memory). New AWS accounts may be limited to 3008 MB until a quota increase."
  type        = number
  default     = 6000
}

variable "timeout" {
  description = "Timeout of one invocation of the API function in seconds: under the HTTP API's 30 s integration timeout, so a request the gateway gave up on does not hold its environment (the sample had 180)."
  type        = number
  default     = 25
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the API function: caps the cost, the load on the model store, and how many environments a burst of expensive requests can hold. Accounts with the initial concurrency quota of 10 cannot reserve any: set -1 (unreserved) there."
  type        = number
  default     = 10
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

variable "api_authorization" {
  description = "Who may call the API: NONE (public, as the sample), AWS_IAM (SigV4-signed requests of principals allowed execute-api:Invoke) or JWT (a bearer token from jwt_issuer for one of jwt_audiences)."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM", "JWT"], var.api_authorization)
    error_message = "api_authorization must be NONE, AWS_IAM or JWT."
  }
}

variable "jwt_issuer" {
  description = "Issuer of the accepted tokens when api_authorization = JWT (its keys: <issuer>/.well-known/jwks.json); an https URL, or http://127.0.0.1:<port> on the local cloud. The API module validates it."
  type        = string
  default     = null
}

variable "jwt_audiences" {
  description = "Audiences (aud) the API accepts when api_authorization = JWT; at least one."
  type        = list(string)
  default     = []
}

variable "example_model_type" {
  description = "model_type the curl_command output asks (one the published catalog serves)."
  type        = string
  default     = "nlp1"
}

variable "models_manifest_sha256" {
  description = "sha256 of the published models manifest. The EFS stack re-seeds its file system whenever it changes; the other stacks record it in the state (outputs) so a plan shows what was published."
  type        = string
  default     = ""

  validation {
    condition     = var.models_manifest_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.models_manifest_sha256))
    error_message = "models_manifest_sha256 must be empty or 64 lowercase hex digits."
  }
}
