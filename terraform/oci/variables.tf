################################################################################
# Function
################################################################################

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB (models are baked into the image, /tmp only holds scratch files)."
  type        = number
  default     = 512
}

