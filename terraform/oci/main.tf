locals {
  variant = "oci"

  # The API function (api.tf) reads the models baked into the image under /opt/models.
  model_store = {
    description = "Question answering, models baked into the image"
    environment = { MODEL_STORE = "image", MODEL_ROOT = "/opt/models" }
  }
}

# Created first (apply -target=module.image_repository, in image_repository.tf): the image, with
# the models baked in, is pushed before the function exists.
