//! `--fqdn-template`, `--target-template` and `--fqdn-target-template`: Go's text/template, as
//! upstream ExternalDNS gives it to host names and targets.
//!
//! Supported: text and `{{ actions }}` with `{{-`/`-}}` trimming and `{{/* comments */}}`;
//! `if`/`else if`/`else`, `with`/`else with`, `range` (lists, maps in key order, integers) with
//! `else`, `break` and `continue`; variables (`$x := …`, `$x = …`, `{{range $i, $v := …}}`, `$`
//! for the object); pipes and parentheses; string, raw string, character, number, boolean and nil
//! literals. The object's fields: `.Name`, `.Namespace`, `.Kind`, `.APIVersion`, `.Labels`,
//! `.Annotations` (also under `.ObjectMeta`), and for the `unstructured` source's objects their
//! raw sections `.Metadata…`, `.Spec…`, `.Status…` and `.Object…` (any depth). Functions: see
//! [`funcs`]. Refused when the flag is read, naming what: `define`/`template`/`block`, unknown
//! functions and fields of the object, undefined variables, a number or a map where a string is
//! wanted, an action that prints a whole map or the object. The output is split on commas into
//! host names, as upstream does.
//!
//! Differences from Go, on purpose: a missing field, key or nil renders empty (Go prints
//! `<no value>`, never a usable name or target) and is an empty string to the string functions
//! and `printf` (Go fails there: a field not filled yet is not a broken template). An error while
//! rendering (a field of a list or a string, a list position past its end, a type a function does
//! not take) is an error of that object ([`FqdnTemplate::try_render`]), where upstream's fails its
//! whole source.

mod exec;
mod funcs;
mod lex;
mod parse;
mod value;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use parse::Node;

/// A parsed template flag.
#[derive(Debug, Clone)]
pub struct FqdnTemplate {
    source: String,
    nodes: Vec<Node>,
    reads_raw: bool,
}

/// Templates are equal when written the same (parsing is deterministic).
impl PartialEq for FqdnTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for FqdnTemplate {}

/// What a template sees of an object.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInput<'a> {
    /// The `--source` name rendering (`isSource`).
    pub source: &'a str,
    pub kind: &'a str,
    pub api_version: &'a str,
    pub metadata: &'a ObjectMeta,
    /// The whole object as JSON, for `.Spec…` and the other raw sections (the `unstructured`
    /// source's objects); `None` for the typed sources, where they render empty.
    pub raw: Option<&'a Value>,
}

impl FqdnTemplate {
    /// Parses a template; the error says what is unsupported and where.
    pub fn parse(source: &str) -> Result<Self, String> {
        let toks = lex::lex(source)?;
        let parsed = parse::parse(&toks)?;
        Ok(FqdnTemplate { source: source.to_owned(), nodes: parsed.nodes, reads_raw: parsed.reads_raw })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Renders the template for an object and returns the host names it names: split on commas,
    /// trimmed, without a trailing dot, sorted, without duplicates or empty entries. A template
    /// that fails on the object (see [`FqdnTemplate::try_render`]) names none.
    pub fn hostnames(&self, input: &TemplateInput<'_>) -> Vec<String> {
        self.try_hostnames(input).unwrap_or_default()
    }

    /// [`FqdnTemplate::hostnames`], or why the template fails on the object.
    pub fn try_hostnames(&self, input: &TemplateInput<'_>) -> Result<Vec<String>, String> {
        let out = self.try_render(input)?;
        let mut names: Vec<String> =
            out.split(',').map(|s| s.trim().trim_end_matches('.').to_owned()).filter(|s| !s.is_empty()).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The template's output for an object (empty where it fails).
    pub fn render(&self, input: &TemplateInput<'_>) -> String {
        self.try_render(input).unwrap_or_default()
    }

    /// The template's output for an object, or why it fails: a field of something that is not
    /// a map, a list position past the end, a value of a type a function does not take.
    pub fn try_render(&self, input: &TemplateInput<'_>) -> Result<String, String> {
        let mut e = exec::Exec::new(*input);
        e.run(&self.nodes)?;
        Ok(e.out)
    }

    /// `--fqdn-target-template`'s reading of the output: comma-separated `host:target` pairs
    /// (split at the first colon, so IPv6 targets pass); incomplete pairs are skipped, as
    /// upstream skips them (a field not filled yet).
    pub fn pairs(&self, input: &TemplateInput<'_>) -> Vec<(String, String)> {
        self.try_pairs(input).unwrap_or_default()
    }

    /// [`FqdnTemplate::pairs`], or why the template fails on the object.
    pub fn try_pairs(&self, input: &TemplateInput<'_>) -> Result<Vec<(String, String)>, String> {
        Ok(self
            .try_render(input)?
            .split(',')
            .filter_map(|p| p.split_once(':'))
            .map(|(h, t)| (h.trim().to_owned(), t.trim().to_owned()))
            .filter(|(h, t)| !h.is_empty() && !t.is_empty())
            .collect())
    }

    /// Whether it reads a raw section (`.Spec…`, `.Status…`, `.Metadata…`, `.Object…`), which
    /// only the `unstructured` source's objects have.
    pub fn reads_raw(&self) -> bool {
        self.reads_raw
    }
}

#[cfg(test)]
mod go_tests;
#[cfg(test)]
mod tests;
