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

################################################################################
# Function
################################################################################

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB (models are baked into the image, /tmp only holds scratch files)."
  type        = number
  default     = 512
}

