# Azure Machine Learning extension (Microsoft.AzureML.Kubernetes) for cluster type ocp, compiled by amlc.
# Rebuild with `amlc build --target terraform` rather than editing.

terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id

  features {}
}

# The cluster is read, not managed: its id and region, as az k8s-extension create reads them.
data "azurerm_resources" "cluster" {
  type                = "Microsoft.Kubernetes/connectedClusters"
  name                = var.cluster_name
  resource_group_name = var.resource_group_name
}

locals {
  cluster_id       = data.azurerm_resources.cluster.resources[0].id
  cluster_location = lower(data.azurerm_resources.cluster.resources[0].location)
}

resource "azurerm_arc_kubernetes_cluster_extension" "azureml" {
  name              = var.extension_name
  cluster_id        = local.cluster_id
  extension_type    = "Microsoft.AzureML.Kubernetes"
  release_train     = "stable"
  release_namespace = "azureml"
  version           = "1.1.35"

  identity {
    type = "SystemAssigned"
  }

  configuration_settings = {
    "clusterId"                                             = local.cluster_id
    "clusterPurpose"                                        = "DevTest"
    "cluster_name"                                          = local.cluster_id
    "cluster_name_friendly"                                 = var.cluster_name
    "domain"                                                = "${local.cluster_location}.cloudapp.azure.com"
    "enableInference"                                       = "False"
    "enableTraining"                                        = "True"
    "inferenceRouterHA"                                     = "false"
    "jobSchedulerLocation"                                  = local.cluster_location
    "location"                                              = local.cluster_location
    "nginxIngress.enabled"                                  = "false"
    "openshift"                                             = "true"
    "prometheus.prometheusSpec.externalLabels.cluster_name" = local.cluster_id
    "relayserver.enabled"                                   = "true"
    "servicebus.enabled"                                    = "false"
  }

  configuration_protected_settings = {
    "relayServerConnectionString"       = var.relay_connection_string
    "relayserver.relayConnectionString" = var.relay_connection_string
  }
}
