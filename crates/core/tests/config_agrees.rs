//! Each configuration variable is declared once, with its default, in `config::VARIABLES`; the
//! places that must repeat it — Spin's manifest, the wasmtime launcher's pass-through list, the
//! documentation's table — are checked against that declaration here, defaults included.

use std::collections::BTreeMap;

use kre_core::config::{Config, VARIABLES};

fn read(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn declared() -> BTreeMap<String, String> {
    VARIABLES.iter().map(|(n, d)| ((*n).to_owned(), (*d).to_owned())).collect()
}

#[test]
fn the_defaults_parse() {
    assert_eq!(Config::from_lookup(|_| None).as_ref().ok(), Some(&Config::default()));
}

#[test]
fn spin_toml_declares_each_variable_with_its_default() {
    let manifest = read("spin.toml");
    let section = manifest.split("[variables]").nth(1).expect("a [variables] table");
    let section = section.split("\n[").next().unwrap_or_default();
    let found: BTreeMap<String, String> = section
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let (name, rest) = l.split_once(" = ")?;
            let default = rest.split("default = \"").nth(1)?.split('"').next()?;
            Some((name.trim().to_owned(), default.to_owned()))
        })
        .collect();
    assert_eq!(found, declared(), "spin.toml's [variables] and config::VARIABLES");
}

#[test]
fn serve_sh_passes_each_variable_through() {
    let script = read("scripts/serve.sh");
    let list = script.split("names=(").nth(1).expect("serve.sh's names=(…)").split(')').next().unwrap_or_default();
    let passed: Vec<String> =
        list.split_whitespace().filter(|w| *w != "\\" && !w.starts_with("KRE_")).map(str::to_ascii_lowercase).collect();
    let mut sorted = passed.clone();
    sorted.sort();
    assert_eq!(sorted, declared().into_keys().collect::<Vec<_>>(), "scripts/serve.sh names=(…)");
}

#[test]
fn the_documented_table_has_each_variable_and_its_default() {
    let doc = read("docs/configuration.md");
    let mut documented = BTreeMap::new();
    for row in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let names: Vec<&str> = cells[0].split('`').skip(1).step_by(2).collect();
        let default = match cells.get(1).map(|c| c.trim()) {
            Some("empty") => String::new(),
            Some(c) => c.trim_matches('`').to_owned(),
            None => panic!("a row without a default: {row}"),
        };
        for n in names {
            documented.insert(n.to_owned(), default.clone());
        }
    }
    assert_eq!(documented, declared(), "docs/configuration.md's table and config::VARIABLES");
}
