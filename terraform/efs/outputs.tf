output "file_system_id" {
  description = "ID of the EFS file system that holds the models."
  value       = module.model_filesystem.file_system_id
}

output "access_point_id" {
  description = "ID of the access point the functions mount."
  value       = module.model_filesystem.access_point_id
}

output "seeder_function_name" {
  description = "Name of the seeder function (invoke it with {} to re-seed by hand)."
  value       = module.seeder.function_name
}

output "seed_result" {
  description = "What the last seeding returned (null when seed_on_apply is false)."
  value       = try(jsondecode(aws_lambda_invocation.seed[0].result), null)
}
