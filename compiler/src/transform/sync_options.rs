//! Argo CD on a fresh cluster: its dry run of a custom resource fails while the CRD that
//! serves the kind is not yet applied, so one sync cannot install both. Custom resources
//! whose CRD the render itself holds carry `SkipDryRunOnMissingResource=true` (facts sheet,
//! "Applying rendered YAML"; DESIGN.md, "Second round", "Deployable as rendered"). Flux
//! applies CRDs first by itself, and kubectl users apply in two phases (`--crds-only`,
//! `--skip-crds`), so the annotation is for Argo CD alone and harmless to the others.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::object::{self, Object};

pub const ANNOTATION: &str = "argocd.argoproj.io/sync-options";
pub const SKIP_DRY_RUN: &str = "SkipDryRunOnMissingResource=true";

/// The (group, kind) pairs the CRDs among `objects` serve.
pub fn served_kinds<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
) -> BTreeSet<(String, String)> {
    objects
        .into_iter()
        .filter(|v| object::kind(v) == "CustomResourceDefinition")
        .filter_map(|v| {
            let spec = &v["spec"];
            Some((
                spec["group"].as_str()?.to_owned(),
                spec["names"]["kind"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

pub fn apply(mut objects: Vec<Object>, served: &BTreeSet<(String, String)>) -> Vec<Object> {
    for o in &mut objects {
        let key = (object::group(&o.value).to_owned(), o.kind().to_owned());
        if !served.contains(&key) {
            continue;
        }
        let Some(metadata) = o.value.get_mut("metadata") else {
            continue;
        };
        let Some(annotations) = object::object_entry(metadata, "annotations") else {
            continue;
        };
        // A template's own sync options are kept, with this one added.
        let value = match annotations.get(ANNOTATION).and_then(Value::as_str) {
            Some(own) if own.split(',').any(|o| o.trim() == SKIP_DRY_RUN) => continue,
            Some(own) if !own.trim().is_empty() => format!("{own},{SKIP_DRY_RUN}"),
            _ => SKIP_DRY_RUN.to_owned(),
        };
        annotations.insert(ANNOTATION.to_owned(), Value::String(value));
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::table::{expect, objects};

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: instancetypes.amlarc.azureml.com}\nspec: {group: amlarc.azureml.com, names: {kind: InstanceType, plural: instancetypes}, scope: Namespaced}\n";

    #[test]
    fn custom_resources_of_rendered_crds_skip_the_dry_run() {
        let crd = objects(CRD);
        let served = served_kinds(crd.iter().map(|o| &o.value));
        let input = objects(
            "apiVersion: amlarc.azureml.com/v1alpha1\nkind: InstanceType\nmetadata: {name: a}\n---\napiVersion: amlarc.azureml.com/v1alpha1\nkind: InstanceType\nmetadata: {name: b, annotations: {argocd.argoproj.io/sync-options: Prune=false}}\n---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
        );
        let out = apply(input, &served);
        expect(
            &out,
            "apiVersion: amlarc.azureml.com/v1alpha1\nkind: InstanceType\nmetadata: {name: a, annotations: {argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true}}\n---\napiVersion: amlarc.azureml.com/v1alpha1\nkind: InstanceType\nmetadata: {name: b, annotations: {argocd.argoproj.io/sync-options: 'Prune=false,SkipDryRunOnMissingResource=true'}}\n---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
        );
        // Applied twice, nothing changes.
        let again = apply(out.clone(), &served);
        assert_eq!(again, out);
    }
}
