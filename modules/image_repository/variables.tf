variable "name" {
  description = "Name of the ECR repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be a valid ECR repository name: lowercase letters, digits and . _ - / separators, 2-256 characters."
  }
}

variable "keep_images" {
  description = "How many images the lifecycle policy keeps (the newest pushes); older ones are expired."
  type        = number
  default     = 10

  validation {
    condition     = var.keep_images >= 1 && floor(var.keep_images) == var.keep_images
    error_message = "keep_images must be a whole number >= 1."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key to encrypt images with. null uses AES256 (ECR-managed keys)."
  type        = string
  default     = null
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repository while it still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
