variable "bucket_name" {
  description = "Name of the bucket. null lets Terraform generate a unique name from bucket_prefix (bucket names are global)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "bucket_prefix" {
  description = "Prefix of the generated bucket name when bucket_name is null (at most 37 characters)."
  type        = string
  default     = "models-"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{0,36}$", var.bucket_prefix))
    error_message = "bucket_prefix must be 1-37 lowercase letters, digits, dots or hyphens."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with every model version in it. Keep false where models are expensive to publish again."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "ARN of a KMS key for SSE-KMS. null encrypts with S3-managed keys (SSE-S3), which readers need no KMS grant for."
  type        = string
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which replaced model versions are deleted (the manifest pins what is served; old revisions are only a rollback window)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which parts of an interrupted multipart upload (a failed publish) are deleted."
  type        = number
  default     = 1

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
