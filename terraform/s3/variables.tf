################################################################################
# Function
################################################################################

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB: the S3 store caches downloaded models there, so it must hold every model the function serves."
  type        = number
  default     = 2048
}

################################################################################
# Models
################################################################################

variable "model_prefix" {
  description = "Key prefix of the models in the bucket: the manifest is s3://<model_bucket>/<model_prefix>/manifest.json. The function may read and list only under it."
  type        = string
  default     = "models"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.model_prefix))
    error_message = "model_prefix must be a non-empty key prefix without leading or trailing slashes."
  }
}
