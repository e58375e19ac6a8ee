//! `cargo bench`: parse+validate of one config, the build of one config (plan, render,
//! transforms, emit), and a 200-config fleet validated and built in-process in parallel
//! the way `amlc build -c 'fleet/*.yaml'` does it. `bench/compare.sh` times the binary
//! against kubectl kustomize; these isolate the library's stages.

use amlc::catalog::Catalog;
use amlc::diagnostic::Source;
use amlc::validate::{NoFiles, validate};
use criterion::{Criterion, criterion_group, criterion_main};
use rayon::prelude::*;

/// A representative config: training and inference on AKS with a selector and taints.
const CONFIG: &str = "apiVersion: amlc/v1
kind: ExtensionConfig
cluster:
  type: aks
  nodeCount: 3
training:
  enabled: true
inference:
  enabled: true
  allowInsecureConnections: true
nodeSelector:
  agentpool: mlpool
taints:
  keys: [overall, system]
";

const HOST: NoFiles = NoFiles { now_unix: 0 };

/// 200 configs over cluster types, sizes, selectors and names.
fn fleet() -> Vec<Source> {
    let types = ["aks", "arc", "aro", "ocp"];
    (0..200)
        .map(|i| {
            let text = format!(
                "apiVersion: amlc/v1\nkind: ExtensionConfig\nmetadata:\n  name: ml{i}\ncluster:\n  type: {}\n  nodeCount: {}\ntraining:\n  enabled: true\ninference:\n  enabled: {}\n  routerServiceType: NodePort\n  allowInsecureConnections: true\nnodeSelector:\n  pool: pool-{}\ntaints:\n  keys: [overall, system]\n",
                types[i % 4],
                i % 5 + 1,
                i % 3 != 0,
                i % 7
            );
            Source::new(format!("fleet/cluster-{i}.yaml"), text)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("built-in components load");
    let source = Source::new("amlc.yaml", CONFIG);
    c.bench_function("parse+validate one config", |b| {
        b.iter(|| validate(&source, &HOST).expect("valid"))
    });
    let validated = validate(&source, &HOST).expect("valid");
    c.bench_function("build one config (render, transforms)", |b| {
        b.iter(|| amlc::build(&validated, &catalog).expect("builds"))
    });
    let build = amlc::build(&validated, &catalog).expect("builds");
    c.bench_function("emit one config (YAML stream)", |b| {
        b.iter(|| amlc::emit::yaml_stream(&build.objects))
    });
    let fleet = fleet();
    let mut group = c.benchmark_group("fleet");
    group.sample_size(10);
    group.bench_function("validate+build+emit 200 configs", |b| {
        b.iter(|| {
            fleet
                .par_iter()
                .map(|s| {
                    let v = validate(s, &HOST).expect("valid");
                    let built = amlc::build(&v, &catalog).expect("builds");
                    amlc::emit::yaml_stream(&built.objects).len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(all, benches);
criterion_main!(all);
