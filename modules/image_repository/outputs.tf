output "repository_url" {
  description = "URL of the repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>): push images there and pass <url>:<tag> as image_uri."
  value       = aws_ecr_repository.this.repository_url
}

output "name" {
  description = "Name of the repository."
  value       = aws_ecr_repository.this.name
}

output "arn" {
  description = "ARN of the repository."
  value       = aws_ecr_repository.this.arn
}

output "registry_id" {
  description = "Account ID of the registry that holds the repository."
  value       = aws_ecr_repository.this.registry_id
}
