# The function's limits, declared once: this file is symlinked into modules/inference_api (as
# variables_limits.tf) and into every root stack (through terraform/_shared), which passes them on.

variable "request_limits" {
  description = "Request limits of the API function, each checked before the work it bounds (413 beyond); an attribute left out (null) keeps the function's own default. max_context_chars: longest context in characters, checked before tokenizing (default 100000; MAX_CONTEXT_CHARS). max_question_chars: longest question in characters, checked before tokenizing (default 2000; MAX_QUESTION_CHARS). max_question_tokens: longest question in tokens, 1-252, since a window of 384 tokens must keep more than the 128-token stride for context (default 128; MAX_QUESTION_TOKENS). max_windows: most 384-token windows one request may make, checked before any forward pass, what bounds a request's time (default 48, 6.5 s on one vCPU with the offline catalog's nlp1 on torch; about 18 keeps the default catalog's distilbert models under 10 s; MAX_WINDOWS)."
  type = object({
    max_context_chars   = optional(number)
    max_question_chars  = optional(number)
    max_question_tokens = optional(number)
    max_windows         = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for limit in values(var.request_limits) : limit == null ? true : (limit >= 1 && floor(limit) == limit)])
    error_message = "request_limits' attributes must be null or whole numbers >= 1."
  }

  validation {
    condition     = var.request_limits.max_question_tokens == null ? true : var.request_limits.max_question_tokens <= 252
    error_message = "request_limits.max_question_tokens must be at most 252."
  }
}

variable "model_memory_budget_mb" {
  description = "Memory in MB the function's in-memory model cache may hold (the least asked-for models are unloaded beyond it). null derives it from memory_size (memory_size - 640 MB for the runtime itself). Sets MODEL_MEMORY_BUDGET_MB."
  type        = number
  default     = null

  validation {
    condition     = var.model_memory_budget_mb == null ? true : (var.model_memory_budget_mb >= 1 && floor(var.model_memory_budget_mb) == var.model_memory_budget_mb)
    error_message = "model_memory_budget_mb must be null or a whole number of MB >= 1."
  }
}
