output "model_bucket" {
  description = "Bucket the models are published to."
  value       = module.model_bucket.bucket_id
}

output "model_prefix" {
  description = "Key prefix of the models in the bucket (the manifest is <model_prefix>/manifest.json)."
  value       = var.model_prefix
}
