################################################################################
# Function
################################################################################

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "function_invoke_arn" {
  description = "ARN API Gateway uses to invoke the function."
  value       = aws_lambda_function.this.invoke_arn
}

output "image_uri" {
  description = "Image the function runs."
  value       = aws_lambda_function.this.image_uri
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

################################################################################
# HTTP API (empty when create_api = false)
################################################################################

output "api_id" {
  description = "ID of the HTTP API."
  value       = try(aws_apigatewayv2_api.this[0].id, "")
}

output "api_endpoint" {
  description = "Base URL of the HTTP API, without the stage (https://<api-id>.execute-api.<region>.amazonaws.com)."
  value       = try(aws_apigatewayv2_api.this[0].api_endpoint, "")
}

output "api_execution_arn" {
  description = "Execution ARN of the HTTP API (the prefix of the invoke permission's source ARN)."
  value       = try(aws_apigatewayv2_api.this[0].execution_arn, "")
}

output "stage_name" {
  description = "Name of the HTTP API stage."
  value       = try(aws_apigatewayv2_stage.this[0].name, "")
}

output "stage_invoke_url" {
  description = "URL of the stage as AWS reports it (https://<api-id>.execute-api.<region>.amazonaws.com/<stage>)."
  value       = try(aws_apigatewayv2_stage.this[0].invoke_url, "")
}

output "api_log_group_name" {
  description = "Log group of the stage's access logs."
  value       = try(aws_cloudwatch_log_group.api[0].name, "")
}
