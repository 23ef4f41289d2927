# The s3 stack has no outputs of its own: they are in outputs_shared.tf and model_bucket.tf (terraform/_shared).
