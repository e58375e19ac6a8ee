//! The integration tests, as one test binary: each module below is one area (its own
//! doc says what it proves). One binary rather than one per file, because every test
//! binary links the whole library with its Kubernetes client; twenty of them took
//! gigabytes of disk and most of CI's link time.
//!
//! Run one area with `cargo test --test integration golden::`.

mod common;
mod support;

mod api_types;
mod apply_phases;
mod arm;
mod aso;
mod bad_input;
mod check;
mod cli_build;
mod cli_init;
mod determinism;
mod diff_against;
mod diff_cli;
mod diff_live;
mod doctor;
mod examples;
mod first_hour;
mod fuzz_regressions;
mod gitops;
mod golden;
mod installers;
mod kustomize;
mod plan;
mod properties;
mod readme;
mod resources;
mod security;
mod soundness;
mod taints;
mod terraform;
mod validate;
mod wording;
