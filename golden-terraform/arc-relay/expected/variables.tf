variable "cluster_name" {
  description = "Name of the Arc-connected cluster resource."
  type        = string
  default     = "edge-cluster"
}

variable "resource_group_name" {
  description = "Resource group of the cluster."
  type        = string
  default     = "edge-rg"
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

variable "relay_namespace_name" {
  description = "Azure Relay namespace created for the extension. null: amlrelay- and a hash of the cluster id. To reuse the namespace an earlier az k8s-extension create made, give its name."
  type        = string
  default     = null
}
