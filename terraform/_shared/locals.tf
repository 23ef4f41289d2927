# What every root stack computes the same way: the API URL and the example request its
# curl_command output sends. Symlinked into terraform/{s3,efs,oci}/ as locals_shared.tf.

locals {
  api_url = "${local.api_base_url}/${module.api.stage_name}/"

  # What curl_command adds to authenticate: curl signs SigV4 itself; a JWT comes from $TOKEN.
  curl_authorization = {
    NONE    = ""
    AWS_IAM = " --aws-sigv4 'aws:amz:${var.region}:execute-api' --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\""
    JWT     = " --header \"Authorization: Bearer $TOKEN\""
  }[var.api_authorization]

  # The sample README's question, answered "1886" by every model of the catalogs.
  example_request = {
    model_type = var.example_model_type
    question   = "When was the car invented?"
    context    = "Cars came into global use during the 20th century, and developed economies depend on them. The year 1886 is regarded as the birth year of the modern car when German inventor Karl Benz patented his Benz Patent-Motorwagen. Cars became widely available in the early 20th century. One of the first cars accessible to the masses was the 1908 Model T, an American car manufactured by the Ford Motor Company. Cars were rapidly adopted in the US, where they replaced animal-drawn carriages and carts."
  }
}
