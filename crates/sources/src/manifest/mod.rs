//! Objects from manifest files: a file or a folder (recursively: `*.yaml`, `*.yml`, `*.json`),
//! multi-document YAML and `kind: List`, decoded into the typed objects the sources read.
//!
//! A document that cannot be decoded is reported with its file, line and index, and the rest
//! still loads; kinds the sources do not read are skipped.

use std::path::{Path, PathBuf};

use exodns_core::ObjectRef;
use serde_json::Value;

use crate::SourceOutput;
use crate::cluster::{ClusterViewExt, Object, Objects};
use crate::common::object_ref;
use crate::config::SourceConfig;
use crate::error::Error;
use crate::kind::{Source, SourceKind, SourceVisitor};
use crate::resource::{ObjectType, ResourceVisitor, Watched, is_namespaced};

mod source;
pub use source::ManifestSource;

/// What a load produced: the objects, and the documents or files that could not be read.
#[derive(Debug, Default)]
pub struct Loaded {
    pub objects: Objects,
    pub errors: Vec<Error>,
    /// Files read.
    pub files: Vec<PathBuf>,
}

/// Reads a manifest file, or every `*.yaml`, `*.yml` and `*.json` under a folder (sorted, hidden
/// entries skipped). Only a `path` that cannot be read at all is an `Err`.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mut files = Vec::new();
    let mut loaded = Loaded::default();
    if meta.is_dir() {
        walk(path, &mut files, &mut loaded.errors);
    } else {
        files.push(path.to_owned());
    }
    for f in files {
        match std::fs::read_to_string(&f) {
            Ok(text) => {
                let (objects, errors) = parse(&text, &f);
                loaded.objects.extend(objects);
                loaded.errors.extend(errors);
                loaded.files.push(f);
            }
            Err(source) => loaded.errors.push(Error::Io { path: f, source }),
        }
    }
    Ok(loaded)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Error>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(Error::Io { path: dir.to_owned(), source });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        if p.is_dir() {
            walk(&p, files, errors);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
        {
            files.push(p);
        }
    }
}

/// Decodes the text of one file (`path` names it in errors; a `.json` file is read as one JSON
/// value, anything else as multi-document YAML).
pub fn parse(text: &str, path: &Path) -> (Vec<Object>, Vec<Error>) {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    let json = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let docs = if json { vec![(1, text)] } else { split_documents(text) };
    for (n, (line, doc)) in docs.into_iter().enumerate() {
        let document = n + 1;
        let err = |item: Option<usize>, reason: String| Error::Manifest {
            path: path.to_owned(),
            line,
            document,
            item,
            reason,
        };
        let value: Result<Value, String> = if json {
            serde_json::from_str(doc).map_err(|e| format!("not valid JSON: {e}"))
        } else {
            serde_saphyr::from_str_with_options(doc, yaml_options()).map_err(|e| yaml_error(&e, line))
        };
        let value = match value {
            Ok(v) => v,
            Err(reason) => {
                errors.push(err(None, reason));
                continue;
            }
        };
        if value.is_null() {
            continue;
        }
        let list_items = match (&value.get("kind").and_then(Value::as_str), value.get("items")) {
            (Some(k), Some(Value::Array(items))) if k.ends_with("List") => Some(items.clone()),
            _ => None,
        };
        match list_items {
            Some(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    match decode(item) {
                        Ok(Some(o)) => objects.push(o),
                        Ok(None) => {}
                        Err(reason) => errors.push(err(Some(i), reason)),
                    }
                }
            }
            None => match decode(value) {
                Ok(Some(o)) => objects.push(o),
                Ok(None) => {}
                Err(reason) => errors.push(err(None, reason)),
            },
        }
    }
    (objects, errors)
}

/// YAML 1.2 scalars, as Kubernetes objects need them: only `true`/`false` are booleans (a name
/// `n` or `no` stays a string), and `0755` or `1_000` stay strings.
fn yaml_options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    o.leading_zero_numbers_as_strings = true;
    o.underscored_numbers_as_strings = true;
    o.with_snippet = false;
    o
}

/// A one-line YAML error with the line counted in the file, not in the document.
fn yaml_error(e: &serde_saphyr::Error, first_line: usize) -> String {
    let text = e.without_snippet().to_string();
    let text = text.lines().next().unwrap_or_default().trim_start_matches("error: ");
    match e.location() {
        Some(loc) => {
            // Drop the document-relative position the message starts with.
            let mut msg = text.split_once(": ").filter(|(p, _)| p.starts_with("line ")).map(|(_, m)| m).unwrap_or(text);
            let position =
                |tail: &str| tail.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | ' ') || "column".contains(c));
            if let Some((head, _)) = msg.rsplit_once(" at line ").filter(|(_, tail)| position(tail)) {
                msg = head;
            }
            let line = first_line as u64 + loc.line().saturating_sub(1);
            format!("not valid YAML at line {line}, column {}: {msg}", loc.column())
        }
        None => format!("not valid YAML: {text}"),
    }
}

/// Splits YAML text at `---` lines; returns each document with the line it starts on. Documents
/// that hold only comments or blanks are dropped.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let l = line.trim_end();
        let marker = (l.starts_with("---") && l[3..].chars().next().is_none_or(|c| c.is_whitespace())) || l == "...";
        if marker {
            docs.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    docs.push((start_line, &text[start..]));
    docs.into_iter()
        .filter(|(_, d)| {
            d.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && !l.trim().starts_with('%'))
        })
        .map(|(line, d)| {
            // Count from the first line with content, so the line points at the object.
            let skipped = d.lines().take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#')).count();
            (line + skipped, d)
        })
        .collect()
}

/// Decodes one object by `apiVersion` and `kind`; `Ok(None)` for kinds the sources do not read.
fn decode(value: Value) -> Result<Option<Object>, String> {
    let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    if api_version.is_empty() || kind.is_empty() {
        return Err("not a Kubernetes object: apiVersion and kind are required".into());
    }
    let meta = value.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("<no name>");
    let what = match meta.and_then(|m| m.get("namespace")).and_then(Value::as_str) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    };
    for field in ["labels", "annotations"] {
        let map = meta.and_then(|m| m.get(field)).and_then(Value::as_object);
        if let Some((k, v)) = map.and_then(|m| m.iter().find(|(_, v)| !v.is_string())) {
            return Err(format!("{what}: metadata.{field}[{k:?}] is {v}; values must be strings (quote them in YAML)"));
        }
    }
    let Some(resource) = Watched::of(&api_version, &kind) else {
        tracing::debug!(api_version, kind, "manifest object of a kind no source reads; skipped");
        return Ok(None);
    };
    resource.visit(Decode { value, what: &what }).map(Some)
}

/// Decodes a value into the Rust type of its resource.
struct Decode<'a> {
    value: Value,
    what: &'a str,
}

impl ResourceVisitor for Decode<'_> {
    type Output = Result<Object, String>;
    fn visit<K: ObjectType>(self) -> Result<Object, String> {
        let object: K = serde_json::from_value(self.value).map_err(|e| format!("{}: {e}", self.what))?;
        Ok(Object::new(object))
    }
}

/// Runs the given sources over a set of objects and merges what they produce.
pub fn endpoints(objects: &Objects, kinds: &[SourceKind], cfg: &SourceConfig) -> SourceOutput {
    per_object(objects, kinds, cfg).into_iter().map(|(_, out)| out).collect()
}

/// What each object makes, unmerged, keyed by the object (its `resource` label), for callers
/// that track objects one by one (the controller). An object held by two kinds that share a
/// label (Traefik's two API groups) is one entry, with what both make of it, merged.
pub fn per_object(objects: &Objects, kinds: &[SourceKind], cfg: &SourceConfig) -> Vec<(ObjectRef, SourceOutput)> {
    let mut kinds = kinds.to_vec();
    kinds.sort();
    kinds.dedup();
    let mut out: Vec<(ObjectRef, SourceOutput)> = Vec::new();
    for kind in kinds {
        kind.visit(PerObject { objects, cfg, out: &mut out });
    }
    let mut index: std::collections::HashMap<ObjectRef, usize> = std::collections::HashMap::with_capacity(out.len());
    let mut merged: Vec<(ObjectRef, SourceOutput)> = Vec::with_capacity(out.len());
    for (object, made) in out {
        match index.get(&object) {
            Some(&i) => {
                let all = &mut merged[i].1;
                all.extend(made);
                *all = std::mem::take(all).merged();
            }
            None => {
                index.insert(object.clone(), merged.len());
                merged.push((object, made));
            }
        }
    }
    merged
}

/// Runs one source over its objects.
struct PerObject<'a> {
    objects: &'a Objects,
    cfg: &'a SourceConfig,
    out: &'a mut Vec<(ObjectRef, SourceOutput)>,
}

impl SourceVisitor for PerObject<'_> {
    type Output = ();
    fn visit<S: Source>(self) {
        for o in self.objects.list::<S::Object>(None) {
            // A nameless object makes only a diagnostic; it is still tracked, under an empty name.
            let meta = k8s_openapi::Metadata::metadata(o.as_ref());
            let object = object_ref(S::label(), meta, is_namespaced::<S::Object>())
                .unwrap_or_else(|_| ObjectRef::cluster(S::label(), ""));
            self.out.push((object, crate::post::endpoints_of::<S>(&o, self.objects, self.cfg)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_reports_bad_ones_by_index() {
        let text = "# leading comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n: : bad yaml [\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n--- # trailing\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n- {apiVersion: v1, kind: Service, metadata: {name: s, annotations: {x: 1}}}\n";
        let (objects, errors) = parse(text, Path::new("m.yaml"));
        assert_eq!(objects.len(), 2, "{errors:?}");
        assert_eq!(errors.len(), 2, "{errors:?}");
        let e0 = errors[0].to_string();
        assert!(e0.starts_with("m.yaml:7: document 2: not valid YAML"), "{e0}");
        let e1 = errors[1].to_string();
        assert!(e1.starts_with("m.yaml:13: document 4, item 1: Service s: metadata.annotations[\"x\"]"), "{e1}");
    }

    #[test]
    fn yaml_1_2_scalars() {
        let (objects, errors) = parse(
            "apiVersion: v1\nkind: Node\nmetadata: {name: n, labels: {a: no, b: 0755, c: on}}\n",
            Path::new("n.yaml"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let n = objects[0].get::<k8s_openapi::api::core::v1::Node>().expect("a node");
        assert_eq!(n.metadata.name.as_deref(), Some("n"));
        let labels = n.metadata.labels.as_ref().unwrap();
        assert_eq!((labels["a"].as_str(), labels["b"].as_str(), labels["c"].as_str()), ("no", "0755", "on"));
    }

    #[test]
    fn json_and_missing_kind() {
        let (objects, errors) =
            parse(r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"}}"#, Path::new("n.json"));
        assert_eq!((objects.len(), errors.len()), (1, 0));
        let (_, errors) = parse("metadata: {name: x}\n", Path::new("x.yml"));
        assert!(errors[0].to_string().contains("apiVersion and kind are required"));
        let (_, errors) =
            parse("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: 80}\n", Path::new("s.yaml"));
        assert!(errors[0].to_string().contains("Service s: "), "{}", errors[0]);
    }

    #[test]
    fn loads_a_folder_recursively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/.hidden")).unwrap();
        std::fs::write(dir.path().join("a.yaml"), "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n").unwrap();
        std::fs::write(dir.path().join("sub/b.yml"), "apiVersion: v1\nkind: Node\nmetadata: {name: n2}\n").unwrap();
        std::fs::write(dir.path().join("sub/.hidden/c.yaml"), "apiVersion: v1\nkind: Node\nmetadata: {name: n3}\n")
            .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not yaml").unwrap();
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.objects.count(Watched::Nodes), 2);
        assert!(loaded.errors.is_empty());
        assert!(load(&dir.path().join("missing")).is_err());
    }
}
