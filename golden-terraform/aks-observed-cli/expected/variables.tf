variable "cluster_name" {
  description = "Name of the AKS cluster resource."
  type        = string
  default     = "dev-cluster"
}

variable "resource_group_name" {
  description = "Resource group of the cluster."
  type        = string
  default     = "ml-rg"
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
