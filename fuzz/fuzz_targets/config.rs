//! Fuzz target: any bytes as a config file, through the whole library path `amlc build`
//! takes (decode, parse, schema, rules, plan, render, transforms, emit). An invalid config
//! must come back as diagnostics; a panic, or a config that validates but does not build,
//! is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(amlc::CompileError::Build(d)) = amlc::compile_bytes("fuzz.yaml", data) {
        panic!("a config passed validation but did not build: {d:?}");
    }
});
