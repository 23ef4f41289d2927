################################################################################
# Network
################################################################################

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (one per availability zone), for the function's vpc_config."
  value       = aws_subnet.private[*].id
}

output "availability_zones" {
  description = "Availability zones of the private subnets."
  value       = local.azs
}

output "private_route_table_id" {
  description = "ID of the private route table (with the S3 gateway endpoint's routes)."
  value       = aws_route_table.private.id
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "function_security_group_id" {
  description = "Security group for the functions: the only source the file system admits NFS from."
  value       = aws_security_group.function.id
}

output "efs_security_group_id" {
  description = "Security group of the mount targets."
  value       = aws_security_group.efs.id
}

################################################################################
# File system
################################################################################

output "file_system_id" {
  description = "ID of the file system."
  value       = aws_efs_file_system.this.id
}

output "file_system_arn" {
  description = "ARN of the file system (the resource of the function's elasticfilesystem:ClientMount grant)."
  value       = aws_efs_file_system.this.arn
}

output "mount_target_ids" {
  description = "IDs of the mount targets, one per subnet."
  value       = aws_efs_mount_target.this[*].id
}

output "access_point_id" {
  description = "ID of the access point."
  value       = aws_efs_access_point.this.id
}

output "access_point_arn" {
  description = "ARN of the access point. Available only once every mount target exists, so a function configured with it is never created before it could mount (terraform-aws-lambda #620)."
  value       = aws_efs_access_point.this.arn

  depends_on = [aws_efs_mount_target.this]
}
