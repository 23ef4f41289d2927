################################################################################
# Function
################################################################################

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB: the S3 store caches downloaded models there, so it must hold every model the function serves."
  type        = number
  default     = 2048
}
