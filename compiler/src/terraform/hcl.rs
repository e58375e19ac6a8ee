//! A small writer of HCL text in `terraform fmt` style: two-space indent, and the `=` of
//! consecutive one-line attributes aligned one space after the longest name.
//!
//! The alignment rule is hclwrite's (hashicorp/hcl, hclwrite/format.go, `formatCells`): a
//! run of lines that each hold a whole `name = value` shares one column; a blank line, a
//! comment, a block header or a line opening a multi-line value (`name = {`) ends the run.
//! It writes only what the Terraform target needs (attributes, blocks, object constructors
//! of one level, comments), never parses HCL, and holds no values of its own.

/// One item of a body, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `name = value`, the value already an HCL expression.
    Attr(String, String),
    /// `name = { key = value ... }` over several lines; `name = {}` when empty. Keys and
    /// values are HCL text (a quoted string key, or an identifier).
    Object(String, Vec<(String, String)>),
    /// `type "label" ... { body }`, the header written as given.
    Block(String, Vec<Item>),
    /// A `#` comment line.
    Comment(String),
    Blank,
}

/// An HCL quoted string: `"`, `\` and control characters escaped, and the template
/// introducers `${` and `%{` doubled so a value is never read as an interpolation.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of a whole file: the items at the top level, and a trailing newline.
pub fn file(items: &[Item]) -> String {
    let mut out = String::new();
    body(items, 0, &mut out);
    out
}

fn body(items: &[Item], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let mut i = 0;
    while i < items.len() {
        // A run of one-line attributes (an empty object is one line too) shares a column.
        let run_end = items[i..]
            .iter()
            .position(|it| one_line(it).is_none())
            .map_or(items.len(), |n| i + n);
        if run_end > i {
            let run: Vec<(&str, String)> = items[i..run_end].iter().filter_map(one_line).collect();
            let width = run
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (k, v) in run {
                let gap = width - k.chars().count();
                out.push_str(&format!("{pad}{k}{} = {v}\n", " ".repeat(gap)));
            }
            i = run_end;
            continue;
        }
        match &items[i] {
            Item::Object(name, entries) => {
                out.push_str(&format!("{pad}{name} = {{\n"));
                let inner: Vec<Item> = entries
                    .iter()
                    .map(|(k, v)| Item::Attr(k.clone(), v.clone()))
                    .collect();
                body(&inner, indent + 2, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            Item::Block(head, inner) if inner.is_empty() => {
                out.push_str(&format!("{pad}{head} {{}}\n"));
            }
            Item::Block(head, inner) => {
                out.push_str(&format!("{pad}{head} {{\n"));
                body(inner, indent + 2, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            Item::Comment(text) => out.push_str(&format!("{pad}# {text}\n")),
            Item::Blank => out.push('\n'),
            Item::Attr(..) => unreachable!("attributes are written in runs above"),
        }
        i += 1;
    }
}

/// The name and value of an item written on one line with an `=`, if it is one.
fn one_line(item: &Item) -> Option<(&str, String)> {
    match item {
        Item::Attr(k, v) => Some((k, v.clone())),
        Item::Object(k, entries) if entries.is_empty() => Some((k, "{}".into())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(k: &str, v: &str) -> Item {
        Item::Attr(k.into(), v.into())
    }

    #[test]
    fn a_run_of_attributes_aligns_and_a_blank_line_ends_it() {
        let text = file(&[Item::Block(
            "resource \"a\" \"b\"".into(),
            vec![
                attr("name", "\"x\""),
                attr("cluster_id", "local.id"),
                Item::Blank,
                attr("version", "\"1\""),
            ],
        )]);
        assert_eq!(
            text,
            "resource \"a\" \"b\" {\n  name       = \"x\"\n  cluster_id = local.id\n\n  version = \"1\"\n}\n"
        );
    }

    #[test]
    fn an_object_opens_its_own_run_and_a_nested_block_ends_one() {
        let text = file(&[Item::Block(
            "b".into(),
            vec![
                attr("a", "1"),
                Item::Object(
                    "settings".into(),
                    vec![
                        ("\"k\"".into(), "\"v\"".into()),
                        ("\"longer.key\"".into(), "\"w\"".into()),
                    ],
                ),
                attr("bb", "2"),
                Item::Block("identity".into(), vec![attr("type", "\"SystemAssigned\"")]),
                Item::Block("features".into(), vec![]),
            ],
        )]);
        assert_eq!(
            text,
            "b {\n  a = 1\n  settings = {\n    \"k\"          = \"v\"\n    \"longer.key\" = \"w\"\n  }\n  bb = 2\n  identity {\n    type = \"SystemAssigned\"\n  }\n  features {}\n}\n"
        );
    }

    #[test]
    fn strings_escape_quotes_and_interpolation() {
        assert_eq!(string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(string("${x} %{y} $z"), "\"$${x} %%{y} $z\"");
        assert_eq!(string("l1\nl2"), "\"l1\\nl2\"");
    }
}
