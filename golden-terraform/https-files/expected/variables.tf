variable "cluster_name" {
  description = "Name of the AKS cluster resource."
  type        = string
  default     = "prod-cluster"
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

variable "ssl_cert_pem_base64" {
  description = "Base64 of the azureml-fe certificate PEM: base64 -w0 cert.pem"
  type        = string
  sensitive   = true
}

variable "ssl_key_pem_base64" {
  description = "Base64 of the azureml-fe private key PEM: base64 -w0 key.pem"
  type        = string
  sensitive   = true
}
