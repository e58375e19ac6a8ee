//! Fleets whose configs differ in extension name. Most templates write the name into
//! object names, so every config renders different text and the parse cache never hits:
//! parsing YAML again for each config made such fleets cost three times a fleet with one
//! name. Here a template is also rendered with a stand-in name, that text is parsed once
//! for the whole fleet, and the real name is put back into the parsed values.
//!
//! That is only done where it provably gives what parsing the real text gives:
//! - the real text is the stand-in text with every stand-in replaced by the name (so the
//!   template used the name only by writing it out, never by branching or measuring);
//! - every stand-in of the text is found again in the parsed strings (none in a comment,
//!   none eaten by an escape);
//! - every string the name goes into would be a string even as a plain scalar (it starts
//!   with a letter and is no YAML keyword), so the real text cannot have parsed it as a
//!   number, a boolean or null.
//!
//! Anything else falls back to parsing the real text.

use std::sync::OnceLock;

use memchr::memmem;
use serde_json::{Map, Value};

use crate::plan::Plan;

/// Letters only, so a scalar holding it always parses as a string; and unlike anything a
/// template would write by chance (if one did, the text check fails safely).
pub(super) const STAND_IN: &str = "amlcstandinname";

/// The stand-in's template context for one build.
pub(super) struct NameSwap<'a> {
    pub name: &'a str,
    /// The plan's context with the stand-in as `name`.
    pub base: minijinja::Value,
}

impl<'a> NameSwap<'a> {
    /// For a build whose name differs from the first build's in this process: only then
    /// can a parsed stand-in text be used again. A single build, or a fleet with one name,
    /// never pays for the second render.
    pub fn for_fleet(plan: &'a Plan) -> Option<Self> {
        static FIRST_NAME: OnceLock<String> = OnceLock::new();
        if *FIRST_NAME.get_or_init(|| plan.extension_name.clone()) == plan.extension_name {
            return None;
        }
        Self::new(plan)
    }

    pub fn new(plan: &'a Plan) -> Option<Self> {
        let name = plan.extension_name.as_str();
        if !stays_a_string(name) {
            return None;
        }
        let mut context = plan.context.clone();
        *context.get_mut("name")? = Value::from(STAND_IN);
        Some(Self {
            name,
            base: minijinja::Value::from_serialize(&context),
        })
    }

    /// The documents of `text` (rendered with the real name), from the parsed documents
    /// of `stand_in_text`; `None` when that cannot be proven equal to parsing `text`.
    pub fn documents(
        &self,
        text: &str,
        stand_in_text: &str,
        parsed: &[Value],
    ) -> Option<Vec<Value>> {
        if !is_swapped(stand_in_text, self.name, text) {
            return None;
        }
        let mut documents = parsed.to_vec();
        let mut found = 0;
        for d in &mut documents {
            swap_value(d, self.name, &mut found)?;
        }
        (found == finder().find_iter(stand_in_text.as_bytes()).count()).then_some(documents)
    }
}

/// Most strings hold no stand-in: one searcher built once keeps looking cheap.
fn finder() -> &'static memmem::Finder<'static> {
    static FINDER: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    FINDER.get_or_init(|| memmem::Finder::new(STAND_IN))
}

/// Whether `text` is `stand_in_text` with every stand-in replaced by `name`, compared
/// piece by piece without building the replaced text.
fn is_swapped(stand_in_text: &str, name: &str, text: &str) -> bool {
    let mut pieces = stand_in_text.split(STAND_IN);
    let Some(mut rest) = pieces.next().and_then(|first| text.strip_prefix(first)) else {
        return false;
    };
    for piece in pieces {
        match rest.strip_prefix(name).and_then(|r| r.strip_prefix(piece)) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Puts the name in place of the stand-in throughout `v`, counting the stand-ins found;
/// `None` when a string could then parse differently (or two keys become one).
fn swap_value(v: &mut Value, name: &str, found: &mut usize) -> Option<()> {
    match v {
        Value::String(s) => {
            if let Some(swapped) = swap_str(s, name, found)? {
                *s = swapped;
            }
        }
        Value::Array(items) => {
            for i in items {
                swap_value(i, name, found)?;
            }
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                swap_value(v, name, found)?;
            }
            // Keys rarely hold the name: the map is only rebuilt when one does.
            if map.keys().any(|k| finder().find(k.as_bytes()).is_some()) {
                let len = map.len();
                let mut out = Map::new();
                for (k, v) in std::mem::take(map) {
                    let k = swap_str(&k, name, found)?.unwrap_or(k);
                    out.insert(k, v);
                }
                // Two keys made one by the swap: the real text has a duplicate key.
                if out.len() != len {
                    return None;
                }
                *map = out;
            }
        }
        _ => {}
    }
    Some(())
}

/// `s` with the name for the stand-in (`Some(None)`: no stand-in in it).
fn swap_str(s: &str, name: &str, found: &mut usize) -> Option<Option<String>> {
    let n = finder().find_iter(s.as_bytes()).count();
    if n == 0 {
        return Some(None);
    }
    *found += n;
    let swapped = s.replace(STAND_IN, name);
    stays_a_string(&swapped).then_some(Some(swapped))
}

/// Whether a plain scalar of this text is a string: YAML's other plain scalars start with
/// a digit, a sign, a dot or `~`, or are one of these words (YAML 1.1's included, to be
/// safe whatever the parser's schema).
fn stays_a_string(s: &str) -> bool {
    const WORDS: [&str; 9] = ["true", "false", "null", "yes", "no", "on", "off", "y", "n"];
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_check_compares_piece_by_piece() {
        let s = format!("a: {STAND_IN}-x\nb: {STAND_IN}\n");
        assert!(is_swapped(&s, "ml", "a: ml-x\nb: ml\n"));
        assert!(!is_swapped(&s, "ml", "a: ml-x\nb: ml\nc: 1\n"));
        assert!(!is_swapped(&s, "ml", "a: ml-x\nb: other\n"));
        assert!(!is_swapped(&s, "ml", "a: ML-x\nb: ml\n"));
        assert!(is_swapped("no stand-in", "ml", "no stand-in"));
    }

    fn swapped(mut v: Value, name: &str, found: &mut usize) -> Option<Value> {
        swap_value(&mut v, name, found).map(|()| v)
    }

    #[test]
    fn a_string_that_would_change_type_is_not_swapped() {
        let mut found = 0;
        for bad in ["true", "No", "NULL", "1ab"] {
            assert_eq!(
                swapped(json!({ "k": STAND_IN }), bad, &mut found),
                None,
                "{bad}"
            );
        }
        // Letter-first and no keyword: a string either way.
        assert_eq!(
            swapped(json!({ "k": STAND_IN }), "e5", &mut found),
            Some(json!({"k": "e5"}))
        );
        // A prefix in the template can make a number of the whole: "1" + "e5".
        assert_eq!(
            swapped(json!(format!("1{STAND_IN}")), "e5", &mut found),
            None
        );
    }

    #[test]
    fn keys_are_swapped_and_a_merged_key_refused() {
        let mut found = 0;
        let v = json!({ format!("{STAND_IN}-a"): 1, "b": [STAND_IN, format!("{STAND_IN}.{STAND_IN}")] });
        assert_eq!(
            swapped(v, "ml", &mut found),
            Some(json!({"ml-a": 1, "b": ["ml", "ml.ml"]}))
        );
        assert_eq!(found, 4);
        let v = json!({ STAND_IN: 1, "ml": 2 });
        assert_eq!(swapped(v, "ml", &mut found), None);
    }

    #[test]
    fn a_stand_in_lost_in_a_comment_refuses() {
        let plan_name = "ml";
        let swap = NameSwap {
            name: plan_name,
            base: minijinja::Value::UNDEFINED,
        };
        let stand_in_text = format!("# {STAND_IN}\na: {STAND_IN}\n");
        let parsed = crate::render::parse_documents(&stand_in_text).unwrap();
        assert_eq!(
            swap.documents("# ml\na: ml\n", &stand_in_text, &parsed),
            None
        );
        let stand_in_text = format!("a: {STAND_IN}\n");
        let parsed = crate::render::parse_documents(&stand_in_text).unwrap();
        assert_eq!(
            swap.documents("a: ml\n", &stand_in_text, &parsed),
            Some(vec![json!({"a": "ml"})])
        );
    }
}
