################################################################################
# Function
################################################################################

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB (models live on EFS, /tmp only holds scratch files)."
  type        = number
  default     = 512
}

################################################################################
# File system and seeding
################################################################################

variable "vpc_cidr" {
  description = "CIDR block of the stack's VPC (private subnets in two availability zones)."
  type        = string
  default     = "10.42.0.0/16"
}

variable "efs_throughput_mode" {
  description = "Throughput mode of the file system: bursting, provisioned or elastic."
  type        = string
  default     = "bursting"
}

variable "seed_memory_size" {
  description = "Memory of the seeder function in MB (it streams files from S3 to EFS; more memory is more network and CPU)."
  type        = number
  default     = 2048
}

variable "seed_timeout" {
  description = "Timeout of one seeding run in seconds (copying and verifying every model of the manifest)."
  type        = number
  default     = 900
}

variable "seed_reserved_concurrency" {
  description = "Reserved concurrency of the seeder: -1 (the default) leaves it unreserved, because accounts with the initial concurrency quota of 10 cannot reserve any. Two seedings at once are safe either way: they take turns on a lock file at the file system's root (function/inference/seed.py). Terraform itself invokes it once per apply."
  type        = number
  default     = -1
}

variable "seed_on_apply" {
  description = "Invoke the seeder during apply whenever the manifest or the file system changes. Set false only where no Lambda data plane exists (plain moto in tests); the API then serves whatever the file system already holds."
  type        = bool
  default     = true
}
