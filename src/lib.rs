//! docpush: documents in, template fields out, results pushed to webhooks.
//!
//! The modules are listed top to bottom: each imports only modules listed
//! below it. `startup` builds every service with what it uses and hands them
//! to the HTTP layer (`dashboard`, `api`) and to the workers. The services —
//! `jobs`, then `accounts`, `destinations` and `templates` — sit on the
//! audit log's writer (`audit`), background tasks (`tasks`) and the stages that push events (`delivery`)
//! and read documents (`extraction`).
//! Below them: where events go (`targets`), what leaves the service
//! (`outbound`) and the field language (`spec`); then waking idle workers
//! (`wake`), the database and the blob store; at the bottom, the vocabulary
//! every layer speaks (`types`) and small shared pieces.

pub mod startup;

pub mod dashboard;

pub mod api;

pub mod jobs;

pub mod accounts;
pub mod destinations;
pub mod templates;

pub mod audit;
pub mod tasks;

pub mod delivery;
pub mod extraction;

pub mod targets;

pub mod outbound;
pub mod spec;

pub mod wake;

pub mod db;
pub mod storage;

pub mod backoff;
pub mod config;
pub mod crypto;
pub mod json_input;
pub mod private_fs;
pub mod stages;
pub mod telemetry;
pub mod types;

#[cfg(test)]
mod layering {
    use std::path::Path;

    /// The top-level modules `code` names as `crate::name` or `crate::{name, …}`.
    fn named(code: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let group = match rest.strip_prefix('{') {
                Some(inner) => &inner[..inner.find('}').unwrap_or(inner.len())],
                None => rest,
            };
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
                if !rest.starts_with('{') {
                    break;
                }
            }
        }
        out
    }

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// What this file's module list promises: a module imports only modules listed below it.
    #[test]
    fn every_module_imports_only_modules_listed_below_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
        let order: Vec<&str> = lib
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
            .collect();
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut upward = Vec::new();
        for file in files {
            let rel = file.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let me = top.trim_end_matches(".rs");
            let Some(mine) = order.iter().position(|m| *m == me) else {
                continue; // lib.rs, main.rs and the binary's cli/
            };
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .map(|l| l.split("//").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n");
            for name in named(&code) {
                match order.iter().position(|m| *m == name) {
                    Some(theirs) if theirs < mine => {
                        upward.push(format!("{} -> {name}", rel.display()));
                    }
                    _ => {}
                }
            }
        }
        assert!(
            upward.is_empty(),
            "modules importing one listed above them: {upward:#?}"
        );
    }
}
