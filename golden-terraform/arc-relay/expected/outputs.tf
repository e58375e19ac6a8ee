output "extension_id" {
  description = "Resource id of the Azure Machine Learning extension."
  value       = azurerm_arc_kubernetes_cluster_extension.azureml.id
}
