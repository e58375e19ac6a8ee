//! The Fx hash (rustc's own): a multiply and a rotate per eight bytes. For the process's
//! own lookup tables keyed by rendered text and object names, where std's SipHash, made to
//! resist chosen collisions, cost a fleet build 4 % of its instructions. A collision here
//! costs a comparison, never a wrong answer: the tables compare keys.

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap`/`HashSet` hasher builder for [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length tells "a" from "a\0".
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_equal_and_near_keys_apart() {
        let h = |s: &str| FxBuild::default().hash_one(s);
        assert_eq!(h("azureml/gateway"), h("azureml/gateway"));
        let keys = [
            "",
            "a",
            "a\0",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "b",
            "ba",
        ];
        let hashes: std::collections::BTreeSet<u64> = keys.iter().map(|k| h(k)).collect();
        assert_eq!(hashes.len(), keys.len());
    }

    #[test]
    fn a_set_of_tuples_finds_what_it_holds() {
        let mut set: std::collections::HashSet<(&str, &str, &str), FxBuild> =
            std::collections::HashSet::default();
        set.insert(("Service", "azureml", "gateway"));
        assert!(set.contains(&("Service", "azureml", "gateway")));
        assert!(!set.contains(&("Service", "azureml", "gatewa")));
        assert!(!set.contains(&("Service", "", "azuremlgateway")));
    }
}
