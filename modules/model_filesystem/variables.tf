################################################################################
# General
################################################################################

variable "name" {
  description = "Name prefix of the VPC, security groups and file system."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,200}$", var.name))
    error_message = "name must be letters, digits, hyphens or underscores."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "CIDR block of the VPC; the private subnets are carved from it (/24s for a /16)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be an IPv4 CIDR block between /16 and /24."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC's prefix for each private subnet (8 turns a /16 into /24s)."
  type        = number
  default     = 8

  validation {
    condition     = var.subnet_newbits >= 1 && var.subnet_newbits <= 12
    error_message = "subnet_newbits must be between 1 and 12."
  }
}

variable "availability_zones" {
  description = "The two or more availability zones of the private subnets (one mount target each). Empty picks the region's first two available zones."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "availability_zones must be empty or name at least two zones."
  }
}

variable "s3_endpoint_bucket_arns" {
  description = "Buckets reachable through the S3 gateway endpoint (read-only). Empty leaves the endpoint's default full-access policy."
  type        = list(string)
  default     = []
}

################################################################################
# File system
################################################################################

variable "throughput_mode" {
  description = "EFS throughput mode: bursting (the sample's; a new file system starts with burst credits), provisioned (pay for provisioned_throughput_in_mibps) or elastic (pay per read/write; steady for many concurrent cold starts)."
  type        = string
  default     = "bursting"

  validation {
    condition     = contains(["bursting", "provisioned", "elastic"], var.throughput_mode)
    error_message = "throughput_mode must be bursting, provisioned or elastic."
  }
}

variable "provisioned_throughput_in_mibps" {
  description = "Throughput in MiB/s when throughput_mode is provisioned; ignored otherwise."
  type        = number
  default     = 100

  validation {
    condition     = var.provisioned_throughput_in_mibps >= 1
    error_message = "provisioned_throughput_in_mibps must be at least 1."
  }
}

variable "transition_to_ia" {
  description = "When files move to Infrequent Access (the sample's 14 days)."
  type        = string
  default     = "AFTER_14_DAYS"

  validation {
    condition     = contains(["AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS", "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS"], var.transition_to_ia)
    error_message = "transition_to_ia must be one of AFTER_1_DAY, AFTER_7_DAYS, AFTER_14_DAYS, AFTER_30_DAYS, AFTER_60_DAYS, AFTER_90_DAYS, AFTER_180_DAYS, AFTER_270_DAYS, AFTER_365_DAYS."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key for encryption at rest. null uses the AWS managed key for EFS (still encrypted)."
  type        = string
  default     = null
}

################################################################################
# Access point
################################################################################

variable "root_directory_path" {
  description = "Directory of the file system the access point exposes as its root (created on first use)."
  type        = string
  default     = "/lambda"

  validation {
    condition     = can(regex("^/[^\\s]*$", var.root_directory_path))
    error_message = "root_directory_path must be an absolute path."
  }
}

variable "owner_uid" {
  description = "Owner UID of the root directory when EFS creates it."
  type        = number
  default     = 1001
}

variable "owner_gid" {
  description = "Owner GID of the root directory when EFS creates it."
  type        = number
  default     = 1001
}

variable "root_directory_permissions" {
  description = "POSIX permissions (octal) of the root directory when EFS creates it."
  type        = string
  default     = "750"

  validation {
    condition     = can(regex("^[0-7]{3,4}$", var.root_directory_permissions))
    error_message = "root_directory_permissions must be an octal mode like 750."
  }
}

variable "posix_uid" {
  description = "UID every access through the access point is made as (enforced, whatever user the function runs as)."
  type        = number
  default     = 1001
}

variable "posix_gid" {
  description = "GID every access through the access point is made as."
  type        = number
  default     = 1001
}
