# The oci stack has no outputs of its own: they are all in outputs_shared.tf (terraform/_shared).
