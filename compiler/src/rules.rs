//! Semantic rules: what the JSON Schema cannot say, each from the seeds (DESIGN.md,
//! "Required semantics"). Every rule has a stable code, points at the node at fault and,
//! where another setting is the reason, labels that one too.
//!
//! Rules only judge; they never change the config. Defaults that depend on other fields
//! are resolved by `Config`'s accessors, which the renderer uses too.

use crate::config::{Config, IngressController, ServiceType, TaintEffect, TaintKey};
use crate::diagnostic::{Diagnostic, Source, Span, suggest};
use crate::releases::{Releases, Version};
use crate::source::Document;
use crate::validate::{Host, Secret, TlsFiles};

mod tls;

/// What the rules found: diagnostics, and the TLS files they read (so nothing reads twice).
#[derive(Debug, Default)]
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub tls: Option<TlsFiles>,
}

/// Runs every rule.
pub fn check(config: &Config, doc: &Document, host: &dyn Host) -> Outcome {
    let mut cx = Cx {
        config,
        doc,
        out: Vec::new(),
    };
    cx.something_enabled();
    cx.version_is_known();
    cx.version_with_auto_upgrade();
    cx.gated_features();
    cx.kubernetes_window();
    cx.ingress_prerequisites();
    cx.ingress_tls_needs_host();
    cx.internal_load_balancer();
    cx.plain_http_load_balancer();
    cx.taint_values();
    cx.taint_best_practice();
    cx.taints_strand_extension();
    cx.storage();
    cx.profile_fits_nodes();
    cx.openshift_selinux();
    // `arm.extraSettings` is part of every config, so mis-cased keys are caught by
    // `amlc validate`, not only by `amlc build --target arm`.
    cx.out.extend(crate::arm::check_extra_settings(config, doc));
    let tls = cx.https(host);
    // Warnings the config acknowledges (`warnings.ignore`) end here, so no command prints
    // them; the schema admits only warning codes there, so no error is ever dropped.
    let acknowledged = &config.warnings;
    cx.out
        .retain(|d| d.is_error() || !acknowledged.is_ignored(d.code));
    Outcome {
        diagnostics: cx.out,
        tls,
    }
}

struct Cx<'a> {
    config: &'a Config,
    doc: &'a Document,
    out: Vec<Diagnostic>,
}

impl Cx<'_> {
    fn src(&self) -> &Source {
        &self.doc.source
    }

    /// The value at a pointer if written, else the nearest written ancestor's key.
    fn at(&self, pointer: &str) -> Span {
        if self.doc.has(pointer) {
            self.doc.value_span(pointer)
        } else {
            self.doc.key_span(pointer)
        }
    }

    fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }

    /// Seed "AzureML extension components": every scenario is training, inference or both.
    /// The CLI refuses an install with neither (facts sheet: "at least one of the two must be True").
    fn something_enabled(&mut self) {
        let c = self.config;
        if c.training.enabled || c.inference.enabled {
            return;
        }
        let span = self.at("/training/enabled");
        let mut d = Diagnostic::error(
            "amlc::rule::nothing-enabled",
            "neither training nor inference is enabled",
        )
        .at(self.src(), span, "training is off here")
        .with_path("/training/enabled")
        .with_help("set `training.enabled: true`, `inference.enabled: true`, or both");
        if self.doc.has("/inference/enabled") {
            d = d.also(
                self.doc.value_span("/inference/enabled"),
                "and inference is off here",
            );
        }
        self.push(d);
    }

    /// Facts sheet: `version` may only be set with `autoUpgradeMinorVersion: false`; the CLI
    /// refuses both (MutuallyExclusiveArgumentError) and ARM would pin nothing. Only a written
    /// version counts: the default one is amlc's, not a pin the user asked for.
    fn version_with_auto_upgrade(&mut self) {
        if !self.config.extension.auto_upgrade_minor_version || !self.doc.has("/extension/version")
        {
            return;
        }
        let span = self.doc.value_span("/extension/version");
        self.push(
            Diagnostic::error(
                "amlc::rule::version-with-auto-upgrade",
                "extension.version pins a release, but autoUpgradeMinorVersion lets Azure upgrade it",
            )
            .at(self.src(), span, "pinned version")
            .also(
                self.doc.value_span("/extension/autoUpgradeMinorVersion"),
                "auto-upgrade on",
            )
            .with_path("/extension/version")
            .with_help(
                "remove extension.version to follow the release train, or set `autoUpgradeMinorVersion: false` to pin it (az k8s-extension create refuses both together)",
            ),
        );
    }

    /// Seed release-note table: only released versions exist.
    fn version_is_known(&mut self) {
        let releases = Releases::embedded();
        let v = &self.config.extension.version;
        if releases.is_known(v) {
            return;
        }
        let known = releases.known();
        let mut help = format!("known releases: {}", known.join(", "));
        // Numeric neighbours are better suggestions than string similarity for versions.
        if let Some(parsed) = Version::parse(v) {
            let nearest = known
                .iter()
                .filter(|k| {
                    Version::parse(k).is_some_and(|kv| kv.0 == parsed.0 && kv.1 == parsed.1)
                })
                .min_by_key(|k| Version::parse(k).map_or(u32::MAX, |kv| kv.2.abs_diff(parsed.2)));
            if let Some(n) = nearest
                .copied()
                .or_else(|| suggest(v, known.iter().copied()))
            {
                help = format!("did you mean `{n}`? {help}");
            }
        }
        let span = self.at("/extension/version");
        self.push(
            Diagnostic::error(
                "amlc::rule::unknown-version",
                format!("extension version `{v}` is not a release in the release notes"),
            )
            .at(self.src(), span, "unknown release")
            .with_path("/extension/version")
            .with_help(help),
        );
    }

    /// Features the release notes introduced cannot be used on older releases.
    fn gated_features(&mut self) {
        let c = self.config;
        let releases = Releases::embedded();
        let version = c.extension.version.clone();
        if !releases.is_known(&version) {
            return;
        }
        let mut uses: Vec<(&str, &str, String)> = Vec::new();
        if c.taints.is_some() {
            uses.push((
                "tolerations",
                "/taints",
                "amlarc taints and tolerations".into(),
            ));
        }
        if !c.storage.is_empty() {
            uses.push((
                "pvcMount",
                "/storage",
                "custom data storage (PV/PVC)".into(),
            ));
        }
        if c.images.registry != crate::config::DEFAULT_REGISTRY {
            uses.push((
                "privateRegistry",
                "/images/registry",
                "a private container registry".into(),
            ));
        }
        if c.cluster.cluster_type == crate::config::ClusterType::Aks {
            uses.push((
                "aksWithoutArc",
                "/cluster/type",
                "AKS without Azure Arc".into(),
            ));
        }
        for (gate, pointer, what) in uses {
            if releases.is_on(gate, &version) {
                continue;
            }
            let Some(g) = releases.gate(gate) else {
                continue;
            };
            let span = self.doc.key_span(pointer);
            let mut d = Diagnostic::error(
                "amlc::rule::feature-needs-version",
                format!(
                    "{what} needs extension {} or later; this config pins {version}",
                    g.since
                ),
            )
            .at(self.src(), span, format!("needs {}", g.since))
            .with_path(pointer)
            .with_help(format!(
                "it came with {}; raise extension.version to {} or later, or remove this setting",
                g.cite(),
                g.since
            ));
            if self.doc.has("/extension/version") {
                d = d.also(
                    self.doc.value_span("/extension/version"),
                    "version pinned here",
                );
            }
            self.push(d);
        }
    }

    /// Seed "Supported Kubernetes version and region": an N-2 window on AKS's latest GA minor.
    fn kubernetes_window(&mut self) {
        let Some(kv) = &self.config.cluster.kubernetes_version else {
            return;
        };
        let window = &Releases::embedded().kubernetes;
        let minor = |s: &str| s.split('.').nth(1).and_then(|m| m.parse::<u32>().ok());
        let (Some(have), Some(latest)) = (minor(kv), minor(&window.latest_aks_minor)) else {
            return;
        };
        let oldest = latest.saturating_sub(2);
        let span = self.at("/cluster/kubernetesVersion");
        if have < oldest {
            self.push(
                Diagnostic::warning(
                    "amlc::rule::kubernetes-unsupported",
                    format!("Kubernetes {kv} is outside the extension's N-2 support window (1.{oldest} to 1.{latest})"),
                )
                .at(self.src(), span, "unsupported version")
                .with_path("/cluster/kubernetesVersion")
                .with_help(format!(
                    "clusters on unsupported Kubernetes releases are not covered by the extension's support policy; upgrade to 1.{oldest} or later (window as of {})",
                    window.as_of
                )),
            );
        } else if have > latest {
            self.push(
                Diagnostic::warning(
                    "amlc::rule::kubernetes-unknown",
                    format!(
                        "Kubernetes {kv} is newer than the newest AKS minor amlc knows (1.{latest})"
                    ),
                )
                .at(self.src(), span, "newer than known")
                .with_path("/cluster/kubernetesVersion")
                .with_help("support cannot be confirmed; check the AKS release calendar"),
            );
        }
    }

    /// Seed "Integrate other ingress controller ... Prerequisites": an external ingress needs
    /// `inferenceRouterServiceType=ClusterIP` and `allowInsecureConnections=True`, so the
    /// ingress terminates TLS instead of azureml-fe.
    fn ingress_prerequisites(&mut self) {
        let c = self.config;
        let controller = c.ingress_controller();
        if controller == IngressController::AzuremlFe {
            return;
        }
        let controller_span = self.doc.value_span("/ingress/controller");
        if !c.inference.enabled {
            let span = self.at("/inference/enabled");
            self.push(
                Diagnostic::error(
                    "amlc::rule::ingress-needs-inference",
                    format!(
                        "ingress controller `{}` fronts azureml-fe, which runs only with inference",
                        controller.as_str()
                    ),
                )
                .at(self.src(), span, "inference is off")
                .also(controller_span, "ingress chosen here")
                .with_path("/inference/enabled")
                .with_help("set `inference.enabled: true`, or remove `ingress`"),
            );
        }
        if c.inference.router_service_type != ServiceType::ClusterIP {
            let span = self.at("/inference/routerServiceType");
            self.push(
                Diagnostic::error(
                    "amlc::rule::ingress-needs-clusterip",
                    format!(
                        "ingress controller `{}` needs inference.routerServiceType ClusterIP, found {}",
                        controller.as_str(),
                        c.inference.router_service_type.as_str()
                    ),
                )
                .at(self.src(), span, "must be ClusterIP")
                .also(controller_span, "because of this ingress controller")
                .with_path("/inference/routerServiceType")
                .with_help("set `inference.routerServiceType: ClusterIP`: the ingress, not azureml-fe, is exposed"),
            );
        }
        if !c.inference.allows_insecure_connections() {
            let span = self.at("/inference/allowInsecureConnections");
            self.push(
                Diagnostic::error(
                    "amlc::rule::ingress-needs-insecure",
                    format!(
                        "ingress controller `{}` needs inference.allowInsecureConnections true",
                        controller.as_str()
                    ),
                )
                .at(self.src(), span, "must be true")
                .also(controller_span, "because of this ingress controller")
                .with_path("/inference/allowInsecureConnections")
                .with_help("set `inference.allowInsecureConnections: true`; the ingress terminates TLS (ingress.tls), azureml-fe serves plain HTTP behind it"),
            );
        }
    }

    /// Seed HTTPS Ingress examples: `tls.hosts` and `rules.host` are the same `<domain>`.
    fn ingress_tls_needs_host(&mut self) {
        let Some(ingress) = &self.config.ingress else {
            return;
        };
        if ingress.tls.is_some() && ingress.host.is_none() {
            let span = self.doc.key_span("/ingress/tls");
            self.push(
                Diagnostic::error("amlc::rule::tls-needs-host", "ingress.tls needs ingress.host")
                    .at(self.src(), span, "TLS without a host")
                    .with_path("/ingress/tls")
                    .with_help("add `ingress.host: <domain>`: the domain the certificate is for, pointing at the ingress's load balancer"),
            );
        }
        if ingress.controller == IngressController::AzuremlFe
            && (ingress.host.is_some() || ingress.tls.is_some())
        {
            let span = self.doc.key_span("/ingress");
            self.push(
                Diagnostic::warning(
                    "amlc::rule::ingress-unused",
                    "ingress.host and ingress.tls apply only to the nginx and application-gateway controllers",
                )
                .at(self.src(), span, "ignored with controller azureml-fe")
                .with_path("/ingress")
                .with_help("for HTTPS on azureml-fe itself use inference.ssl; or set ingress.controller"),
            );
        }
    }

    /// Facts sheet: internalLoadBalancerProvider is AKS only and not with nodePort.
    fn internal_load_balancer(&mut self) {
        let c = self.config;
        if !c.inference.internal_load_balancer {
            return;
        }
        let span = self.doc.value_span("/inference/internalLoadBalancer");
        if c.cluster.cluster_type != crate::config::ClusterType::Aks {
            self.push(
                Diagnostic::error(
                    "amlc::rule::internal-lb-needs-aks",
                    format!(
                        "an internal load balancer is available on aks only, not {}",
                        c.cluster.cluster_type.as_str()
                    ),
                )
                .at(self.src(), span, "AKS only")
                .also(self.doc.value_span("/cluster/type"), "cluster type")
                .with_path("/inference/internalLoadBalancer"),
            );
        }
        if c.inference.router_service_type != ServiceType::LoadBalancer {
            self.push(
                Diagnostic::error(
                    "amlc::rule::internal-lb-needs-loadbalancer",
                    format!(
                        "an internal load balancer needs routerServiceType LoadBalancer, found {}",
                        c.inference.router_service_type.as_str()
                    ),
                )
                .at(self.src(), span, "needs LoadBalancer")
                .also(self.at("/inference/routerServiceType"), "service type")
                .with_path("/inference/internalLoadBalancer")
                .with_help("set `routerServiceType: LoadBalancer`, or remove `internalLoadBalancer` (az k8s-extension create refuses nodePort with internalLoadBalancerProvider)"),
            );
        }
    }

    /// Scoring over plain HTTP on a LoadBalancer (DESIGN.md, "Second round", "Hardened"):
    /// requests and responses, keys included, cross the network readable and changeable, on
    /// a public address unless the load balancer is internal. Not for NodePort or ClusterIP:
    /// those stay inside networks the user chose, and an Ingress in front terminates TLS
    /// itself. Short (one line each at width 80): it prints on every command.
    ///
    /// Example: `routerServiceType: LoadBalancer` with `allowInsecureConnections: true`.
    /// Fix: serve HTTPS (`inference.ssl`, `allowInsecureConnections: false`), or acknowledge
    /// it in `warnings.ignore`.
    fn plain_http_load_balancer(&mut self) {
        let c = self.config;
        if !(c.inference.enabled
            && c.inference.allows_insecure_connections()
            && c.inference.router_service_type == ServiceType::LoadBalancer)
        {
            return;
        }
        let reach = if c.inference.internal_load_balancer {
            "an internal"
        } else {
            "a public"
        };
        let span = self.at("/inference/allowInsecureConnections");
        self.push(
            Diagnostic::warning(
                "amlc::rule::plain-http-load-balancer",
                format!("scoring is served over plain HTTP on {reach} load balancer"),
            )
            .at(self.src(), span, "plain HTTP")
            .also(self.at("/inference/routerServiceType"), "LoadBalancer")
            .with_path("/inference/allowInsecureConnections")
            .with_help("serve HTTPS with inference.ssl, or acknowledge it in warnings.ignore"),
        );
    }

    /// Seed taint table: resource group, workspace and compute taints carry a name as value.
    fn taint_values(&mut self) {
        let c = self.config;
        for (i, key) in c.taint_keys().iter().enumerate() {
            let pointer = format!("/taints/keys/{i}");
            let span = self.doc.value_span(&pointer);
            let (field, field_ptr) = match key {
                TaintKey::ResourceGroup => ("cluster.resourceGroup", "/cluster/resourceGroup"),
                TaintKey::Workspace => ("workspace", "/workspace"),
                TaintKey::Compute => ("compute", "/compute"),
                _ => continue,
            };
            match c.taint_value(*key) {
                None => self.push(
                    Diagnostic::error(
                        "amlc::rule::taint-needs-value",
                        format!("the {} taint needs `{field}`: its value is that name", key.as_str()),
                    )
                    .at(self.src(), span, format!("needs {field}"))
                    .with_path(pointer)
                    .with_help(format!("set `{field}` (the taint is {}=<{field}>)", key.node_key())),
                ),
                Some(v) if !is_label_value(v) => self.push(
                    Diagnostic::error(
                        "amlc::rule::taint-value-invalid",
                        format!("`{v}` cannot be a taint value for the {} taint", key.as_str()),
                    )
                    .at(self.src(), self.doc.value_span(field_ptr), "not a valid taint value")
                    .also(span, "taint chosen here")
                    .with_path(field_ptr)
                    .with_help("taint values are at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"),
                ),
                Some(_) => {}
            }
        }
    }

    /// Seed "Best practices": every scenario includes `overall`; workspace needs the
    /// resource group; compute needs workspace and resource group.
    fn taint_best_practice(&mut self) {
        let keys = self.config.taint_keys();
        if keys.is_empty() {
            return;
        }
        let has = |k: TaintKey| keys.contains(&k);
        let span = self.doc.value_span("/taints/keys");
        let mut missing: Vec<(TaintKey, &str)> = Vec::new();
        if !has(TaintKey::Overall) {
            missing.push((
                TaintKey::Overall,
                "every best-practice combination includes the amlarc overall taint",
            ));
        }
        if (has(TaintKey::Workspace) || has(TaintKey::Compute)) && !has(TaintKey::ResourceGroup) {
            missing.push((
                TaintKey::ResourceGroup,
                "workspace and compute taints go with the resource group taint",
            ));
        }
        if has(TaintKey::Compute) && !has(TaintKey::Workspace) {
            missing.push((
                TaintKey::Workspace,
                "the compute taint goes with the workspace taint",
            ));
        }
        for (key, why) in missing {
            self.push(
                Diagnostic::warning(
                    "amlc::rule::taint-best-practice",
                    format!("taints.keys lacks `{}`: {why}", key.as_str()),
                )
                .at(self.src(), span, format!("add {}", key.as_str()))
                .with_path("/taints/keys")
                .with_help("see the Azure ML reference page, \"Best practices\" under amlarc taints; `amlc taints` shows the closest scenario"),
            );
        }
    }

    /// Seed "Supported Azure Machine Learning taints and tolerations": extension system pods
    /// tolerate only the overall and system taints. A hard taint with any other key, on
    /// every node those pods may use, leaves them nowhere to run (DESIGN.md, "Second
    /// round", "Deployable as rendered").
    fn taints_strand_extension(&mut self) {
        let c = self.config;
        let Some(t) = &c.taints else { return };
        if t.effect == TaintEffect::PreferNoSchedule || !c.taints_cover_extension_nodes() {
            return;
        }
        let tolerated: Vec<&str> = TaintKey::ALL
            .iter()
            .filter(|k| k.is_tolerated_by_system_pods())
            .map(|k| k.as_str())
            .collect();
        let where_ = if c.node_selector.is_empty() {
            "every node"
        } else {
            "every node of the nodeSelector"
        };
        let example = c
            .node_selector
            .keys()
            .next()
            .map_or("agentpool", String::as_str);
        for (i, key) in t.keys.iter().enumerate() {
            if key.is_tolerated_by_system_pods() {
                continue;
            }
            let pointer = format!("/taints/keys/{i}");
            let mut d = Diagnostic::error(
                "amlc::rule::taints-strand-extension",
                format!(
                    "the {} taint ({}, {}) would go on {where_}, and the extension's own pods tolerate only {}: none of them could be scheduled",
                    key.as_str(),
                    key.node_key(),
                    t.effect.as_str(),
                    tolerated.join(" and ")
                ),
            )
            .at(self.src(), self.doc.value_span(&pointer), "strands the extension's pods")
            .with_path(pointer)
            .with_help(format!(
                "put the machine-learning taints on a node pool of their own: set `taints.nodeSelector` to its labels (e.g. `{example}: mlpool`) and keep the extension on other nodes with `nodeSelector`; or remove `{}` from taints.keys; or use `effect: PreferNoSchedule`",
                key.as_str()
            ));
            if self.doc.has("/taints/nodeSelector") {
                d = d.also(
                    self.doc.value_span("/taints/nodeSelector"),
                    "matched by every nodeSelector node",
                );
            }
            self.push(d);
        }
    }

    /// Seed "custom data storage": only pods in the claim's namespace mount it, each claim
    /// at its `ml.azure.com/mountpath`. Each entry is a static NFS volume bound to its own
    /// claim (DESIGN.md, "Second round", "Deployable as rendered").
    fn storage(&mut self) {
        let c = self.config;
        let mut seen: Vec<(&str, &str, Span)> = Vec::new();
        let mut volumes: Vec<(String, Span)> = Vec::new();
        // (mount path without trailing slashes, namespace, where written)
        let mut mounts: Vec<(&str, &str, Span)> = Vec::new();
        for (i, s) in c.storage.iter().enumerate() {
            let ns = c.storage_namespace(s);
            if s.reclaim_policy == "Delete" {
                let pointer = format!("/storage/{i}/reclaimPolicy");
                self.push(
                    Diagnostic::error(
                        "amlc::rule::storage-reclaim-delete",
                        format!(
                            "`reclaimPolicy: Delete` on the static NFS volume of claim `{}`",
                            s.name
                        ),
                    )
                    .at(self.src(), self.at(&pointer), "Delete")
                    .with_path(pointer)
                    .with_help(
                        "use `reclaimPolicy: Retain`, as the example of the Azure ML reference page does \
                         (section \"Azure Machine Learning jobs connect with custom data storage\"): \
                         no provisioner can delete a static NFS share, so when the claim is deleted \
                         the volume goes Failed instead of being removed (Recycle is deprecated in Kubernetes)",
                    ),
                );
            }
            let mount_span = self.doc.value_span(&format!("/storage/{i}/mountPath"));
            let mount = s.mount_path.trim_end_matches('/');
            if let Some((_, _, first)) = mounts.iter().find(|(m, mns, _)| *m == mount && *mns == ns)
            {
                self.push(
                    Diagnostic::error(
                        "amlc::rule::duplicate-mount-path",
                        format!(
                            "two storage entries mount at `{}` in namespace {ns}",
                            s.mount_path
                        ),
                    )
                    .at(self.src(), mount_span, "repeated here")
                    .also(*first, "first here")
                    .with_path(format!("/storage/{i}/mountPath"))
                    .with_help(
                        "give each entry its own mountPath: jobs mount every claim of their namespace \
                         at its mount path, and a pod cannot mount two volumes at one path",
                    ),
                );
            }
            mounts.push((mount, ns, mount_span));
            let name_span = self.doc.value_span(&format!("/storage/{i}/name"));
            if let Some((_, _, first)) = seen.iter().find(|(n, sns, _)| *n == s.name && *sns == ns)
            {
                self.push(
                    Diagnostic::error(
                        "amlc::rule::duplicate-storage",
                        format!("two storage entries claim `{}` in namespace {ns}", s.name),
                    )
                    .at(self.src(), name_span, "repeated here")
                    .also(*first, "first here")
                    .with_path(format!("/storage/{i}/name"))
                    .with_help("give each claim its own name"),
                );
            } else if let Some((_, first)) = volumes
                .iter()
                .find(|(v, _)| *v == crate::plan::volume_name(&s.name))
            {
                // Volumes are cluster-scoped: `data` in two namespaces, or `data` and
                // `data-pvc`, would both be volume `data-pv`, and one claim never binds.
                let volume = crate::plan::volume_name(&s.name);
                self.push(
                    Diagnostic::error(
                        "amlc::rule::duplicate-volume-name",
                        format!("claim `{}` in namespace {ns} would get volume `{volume}`, which another entry already gets", s.name),
                    )
                    .at(self.src(), name_span, "same volume name")
                    .also(*first, "first here")
                    .with_path(format!("/storage/{i}/name"))
                    .with_help("PersistentVolumes are cluster-wide and named after the claim (`NAME-pvc` -> `NAME-pv`, else `NAME-pv`): give this claim a name no other entry shares"),
                );
            }
            seen.push((&s.name, ns, name_span));
            volumes.push((crate::plan::volume_name(&s.name), name_span));
            if ns != c.cluster.compute_namespace {
                let pointer = format!("/storage/{i}/namespace");
                self.push(
                    Diagnostic::warning(
                        "amlc::rule::pvc-namespace",
                        format!(
                            "claim `{}` is in namespace {ns}, but jobs run in {} and only mount claims in their own namespace",
                            s.name, c.cluster.compute_namespace
                        ),
                    )
                    .at(self.src(), self.at(&pointer), "other namespace")
                    .with_path(pointer)
                    .with_help("put the claim in cluster.computeNamespace, or remove `namespace` to default to it"),
                );
            }
        }
    }

    /// Facts sheet: inferenceRouterHA (production) runs 3 azureml-fe replicas and needs >= 3 nodes.
    fn profile_fits_nodes(&mut self) {
        let c = self.config;
        if c.profile() != crate::config::Profile::Production
            || c.cluster.node_count >= crate::config::PRODUCTION_MIN_NODES
        {
            return;
        }
        let span = self.at("/profile");
        self.push(
            Diagnostic::warning(
                "amlc::rule::production-needs-nodes",
                format!(
                    "the production profile is sized for at least {} nodes; cluster.nodeCount is {}",
                    crate::config::PRODUCTION_MIN_NODES,
                    c.cluster.node_count
                ),
            )
            .at(self.src(), span, "production profile")
            .with_path("/profile")
            .with_help("use `profile: test` on small clusters, or raise cluster.nodeCount"),
        );
    }

    /// Seed "Disable Security Enhanced Linux (SELinux)": datasets in training jobs do not
    /// work with SELinux on. Printed on every command of every OpenShift config, so it is
    /// short (message and help one line each at width 80) and says how to acknowledge it.
    fn openshift_selinux(&mut self) {
        let c = self.config;
        if !(c.cluster.cluster_type.is_openshift() && c.training.enabled) {
            return;
        }
        let span = self.doc.value_span("/cluster/type");
        self.push(
            Diagnostic::warning(
                "amlc::rule::selinux",
                "datasets in training jobs do not work on nodes with SELinux enabled",
            )
            .at(self.src(), span, "OpenShift")
            .with_path("/cluster/type")
            .with_help("disable SELinux on training nodes; acknowledge it in warnings.ignore"),
        );
    }

    /// Facts sheet: with inference on and allowInsecureConnections false the CLI needs
    /// sslCname plus sslSecret or the PEM pair; the healthcheck fails otherwise.
    fn https(&mut self, host: &dyn Host) -> Option<TlsFiles> {
        let c = self.config;
        let ssl = c.inference.ssl.as_ref();
        if ssl.is_some() && !c.inference.enabled {
            let span = self.doc.key_span("/inference/ssl");
            self.push(
                Diagnostic::warning(
                    "amlc::rule::ssl-unused",
                    "inference.ssl is set but inference is off",
                )
                .at(self.src(), span, "ignored")
                .with_path("/inference/ssl"),
            );
            return None;
        }
        if !c.inference.enabled {
            return None;
        }
        // One rule for every target: HTTPS is on exactly when inference.ssl is given, and
        // then needs a cname and a certificate; allowInsecureConnections only keeps plain
        // HTTP open beside it (the CLI sends the TLS settings whenever they are given).
        let needs_https = !c.inference.allows_insecure_connections()
            && c.ingress_controller() == IngressController::AzuremlFe;
        if ssl.is_some() || needs_https {
            let Some(ssl) = ssl else {
                let span = self.at("/inference/allowInsecureConnections");
                self.push(
                    Diagnostic::error(
                        "amlc::rule::inference-needs-ssl",
                        "inference over HTTPS (allowInsecureConnections false) needs inference.ssl",
                    )
                    .at(self.src(), span, "HTTPS required")
                    .with_path("/inference/allowInsecureConnections")
                    .with_help("add `inference.ssl` with `cname` and `secretName` (or `certFile` + `keyFile`), or set `allowInsecureConnections: true` for HTTP"),
                );
                return None;
            };
            if ssl.cname.is_none() {
                let span = self.doc.key_span("/inference/ssl");
                self.push(
                    Diagnostic::error("amlc::rule::ssl-needs-cname", "inference.ssl needs `cname`")
                        .at(self.src(), span, "no cname")
                        .with_path("/inference/ssl")
                        .with_help(
                            "set `cname` to the DNS name the certificate is issued for (sslCname)",
                        ),
                );
            }
            if ssl.secret_name.is_none() && ssl.cert_file.is_none() {
                let span = self.doc.key_span("/inference/ssl");
                self.push(
                    Diagnostic::error(
                        "amlc::rule::ssl-needs-certificate",
                        "inference.ssl needs `secretName` or `certFile` + `keyFile`",
                    )
                    .at(self.src(), span, "no certificate")
                    .with_path("/inference/ssl")
                    .with_help("name an existing Secret in namespace azureml with keys cert.pem and key.pem, or give the PEM files"),
                );
            }
        }
        let ssl = ssl?;
        if ssl.secret_name.is_some() && ssl.cert_file.is_some() {
            let span = self.doc.key_span("/inference/ssl/secretName");
            self.push(
                Diagnostic::warning(
                    "amlc::rule::ssl-both",
                    "inference.ssl has both secretName and certFile/keyFile; the files win, as with the az CLI",
                )
                .at(self.src(), span, "ignored")
                .with_path("/inference/ssl/secretName")
                .with_help("remove one of them so the config says which certificate is served"),
            );
        }
        let (cert_file, key_file) = (ssl.cert_file.as_deref()?, ssl.key_file.as_deref()?);
        let cert = self.read_file(host, cert_file, "/inference/ssl/certFile");
        let key = self.read_file(host, key_file, "/inference/ssl/keyFile");
        let (cert, key) = (cert?, key?);
        let problems = tls::check_pair(&cert, &key, ssl.cname.as_deref(), host.now_unix());
        let mut ok = true;
        for p in problems {
            let pointer = if p.about_key {
                "/inference/ssl/keyFile"
            } else {
                "/inference/ssl/certFile"
            };
            let span = self.doc.value_span(pointer);
            let d = if p.is_error {
                ok = false;
                Diagnostic::error(p.code, p.message)
            } else {
                Diagnostic::warning(p.code, p.message)
            };
            self.push(
                d.at(self.src(), span, p.label)
                    .with_path(pointer)
                    .with_help(p.help),
            );
        }
        ok.then(|| TlsFiles {
            cert_pem: String::from_utf8_lossy(&cert).into_owned(),
            key_pem: Secret::new(String::from_utf8_lossy(&key).into_owned()),
        })
    }

    fn read_file(&mut self, host: &dyn Host, path: &str, pointer: &str) -> Option<Vec<u8>> {
        match host.read(path) {
            Ok(bytes) => Some(bytes),
            Err(reason) => {
                let span = self.doc.value_span(pointer);
                self.push(
                    Diagnostic::error("amlc::rule::file-unreadable", reason)
                        .at(self.src(), span, "cannot read this file")
                        .with_path(pointer)
                        .with_help("paths are relative to the config file's folder"),
                );
                None
            }
        }
    }
}

/// A Kubernetes label (and taint) value.
fn is_label_value(v: &str) -> bool {
    let b = v.as_bytes();
    v.len() <= 63
        && (v.is_empty()
            || (b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::NoFiles;

    fn codes(text: &str) -> Vec<&'static str> {
        let source = Source::new("t.yaml", text);
        match crate::validate::validate(&source, &NoFiles { now_unix: 0 }) {
            Ok(v) => v.warnings.iter().map(|d| d.code).collect(),
            Err(d) => d.iter().map(|d| d.code).collect(),
        }
    }

    const HEAD: &str = "apiVersion: amlc/v1\nkind: ExtensionConfig\ncluster:\n  type: aks\n";

    #[test]
    fn a_minimal_config_is_clean() {
        assert!(codes(HEAD).is_empty());
    }

    #[test]
    fn label_values() {
        assert!(is_label_value("ml-rg_1.x") && is_label_value(""));
        assert!(
            !is_label_value("rg(1)") && !is_label_value("-a") && !is_label_value(&"a".repeat(64))
        );
    }

    #[test]
    fn production_on_one_node_warns() {
        assert_eq!(
            codes(&format!("{HEAD}profile: production\n")),
            ["amlc::rule::production-needs-nodes"]
        );
    }

    #[test]
    fn an_acknowledged_warning_is_dropped_and_only_that_one() {
        let text = format!(
            "{HEAD}  kubernetesVersion: \"1.20\"\nprofile: production\nwarnings:\n  ignore: [amlc::rule::production-needs-nodes]\n"
        );
        assert_eq!(codes(&text), ["amlc::rule::kubernetes-unsupported"]);
    }

    /// `warnings.ignore` admits exactly the warnings the rules can print: the schema's list
    /// is compared with every `warning("amlc::...")` in this module's source.
    #[test]
    fn the_schema_lists_every_warning_of_the_rules() {
        let source = [include_str!("rules.rs"), include_str!("rules/tls.rs")].concat();
        let re = regex::Regex::new(r#"warning\(\s*"(amlc::[a-z]+::[a-z0-9-]+)""#).unwrap();
        let mut emitted: Vec<&str> = re
            .captures_iter(&source)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        emitted.sort_unstable();
        emitted.dedup();
        let schema = crate::schema::schema();
        let listed: Vec<&str> = schema
            .pointer("/properties/warnings/properties/ignore/items/enum")
            .and_then(serde_json::Value::as_array)
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(emitted.len() >= 10, "{emitted:?}");
        assert_eq!(listed, emitted);
    }
}
