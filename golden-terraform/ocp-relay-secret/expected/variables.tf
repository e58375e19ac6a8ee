variable "cluster_name" {
  description = "Name of the Arc-connected cluster resource."
  type        = string
  default     = "ocp-cluster"
}

variable "resource_group_name" {
  description = "Resource group of the cluster."
  type        = string
  default     = "ocp-rg"
}

variable "extension_name" {
  description = "Name of the extension resource (the Helm release name)."
  type        = string
  default     = "azureml"
}

variable "subscription_id" {
  description = "Subscription of the cluster. null: the provider's own (ARM_SUBSCRIPTION_ID, az login)."
  type        = string
  default     = null
}

variable "relay_connection_string" {
  description = "Connection string of an existing Azure Relay hybrid connection rule (Manage, Send, Listen) for this cluster."
  type        = string
  sensitive   = true
}
