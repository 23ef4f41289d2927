# Outputs every root stack gives, computed the same way: one file, symlinked into
# terraform/{s3,efs,oci}/ as outputs_shared.tf. Each stack's own outputs.tf holds the rest.

output "api_url" {
  description = "URL of the API's stage: POST a question to it, GET models under it."
  value       = local.api_url
}

output "function_name" {
  description = "Name of the API function (make invoke, make logs)."
  value       = module.api.function_name
}

output "curl_command" {
  description = "A ready curl that asks the sample's question (signed with curl's --aws-sigv4 under AWS_IAM, with $TOKEN as bearer token under JWT)."
  value       = "curl --silent --show-error --request POST '${local.api_url}' --header 'Content-Type: application/json'${local.curl_authorization} --data-raw '${jsonencode(local.example_request)}'"
}

output "api_authorization" {
  description = "How callers authenticate: NONE, AWS_IAM or JWT (make invoke signs or sends $TOKEN accordingly)."
  value       = var.api_authorization
}

output "repository_url" {
  description = "ECR repository the image is pushed to (image_uri = <repository_url>:<tag>)."
  value       = module.image_repository.repository_url
}

output "api_id" {
  description = "ID of the HTTP API."
  value       = module.api.api_id
}

output "stage_name" {
  description = "Stage of the HTTP API."
  value       = module.api.stage_name
}

output "log_group_name" {
  description = "Log group of the API function."
  value       = module.api.log_group_name
}

output "image_uri" {
  description = "Image the API function runs."
  value       = module.api.image_uri
}

output "models_manifest_sha256" {
  description = "sha256 of the models manifest this apply was given."
  value       = var.models_manifest_sha256
}

output "region" {
  description = "Region of the stack."
  value       = var.region
}
