//! `images.registry`: rewrites the registry of every extension image (on
//! `mcr.microsoft.com`) to a private or air-gapped one (release 1.0.29: "ML extension
//! deployment from on premises container registry"). Images on other registries are left
//! alone. Covers containers and init containers of pod templates, and the Prometheus
//! custom resource's `spec.image`.

use serde_json::Value;

use crate::config::DEFAULT_REGISTRY;
use crate::object::{self, Object};

pub fn apply(mut objects: Vec<Object>, registry: &str) -> Vec<Object> {
    let registry = registry.trim_end_matches('/');
    if registry == DEFAULT_REGISTRY {
        return objects;
    }
    let from = format!("{DEFAULT_REGISTRY}/");
    let rewrite = |image: &mut Value| {
        if let Some(rest) = image.as_str().and_then(|s| s.strip_prefix(&from)) {
            *image = Value::String(format!("{registry}/{rest}"));
        }
    };
    for o in &mut objects {
        if object::group(&o.value) == super::PROMETHEUS_GROUP
            && let Some(image) = o.value.pointer_mut("/spec/image")
        {
            rewrite(image);
        }
        let Some(spec) = object::pod_template_mut(&mut o.value).and_then(|t| t.get_mut("spec"))
        else {
            continue;
        };
        for list in ["containers", "initContainers"] {
            if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in containers {
                    if let Some(image) = c.get_mut("image") {
                        rewrite(image);
                    }
                }
            }
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::{expect, objects};

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {initContainers: [{name: i, image: mcr.microsoft.com/azureml/amlarc/docker/init:1.1.35}], containers: [{name: c, image: mcr.microsoft.com/azureml/amlarc/docker/gateway:1.1.35}, {name: o, image: docker.io/library/busybox:1}]}}}\n";

    #[test]
    fn the_default_registry_changes_nothing() {
        expect(&apply(objects(DEPLOYMENT), "mcr.microsoft.com"), DEPLOYMENT);
    }

    #[test]
    fn extension_images_move_to_the_private_registry() {
        expect(
            &apply(objects(DEPLOYMENT), "registry.contoso.com/mirror/"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {initContainers: [{name: i, image: registry.contoso.com/mirror/azureml/amlarc/docker/init:1.1.35}], containers: [{name: c, image: registry.contoso.com/mirror/azureml/amlarc/docker/gateway:1.1.35}, {name: o, image: docker.io/library/busybox:1}]}}}\n",
        );
    }

    #[test]
    fn the_prometheus_image_moves_too() {
        expect(
            &apply(
                objects(
                    "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: p}\nspec: {image: mcr.microsoft.com/azureml/amlarc/docker/prometheus:1.1.35}\n",
                ),
                "acr.io",
            ),
            "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: p}\nspec: {image: acr.io/azureml/amlarc/docker/prometheus:1.1.35}\n",
        );
    }
}
