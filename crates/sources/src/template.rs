//! `--fqdn-template` and `--fqdn-target-template`: the subset of Go's text/template that upstream users write for host names.
//!
//! Supported: text, `{{ pipeline }}` actions with `{{-`/`-}}` trimming and `{{/* comments */}}`;
//! fields `.Name`, `.Namespace`, `.Kind`, `.APIVersion`, `.Labels.key`, `.Annotations.key`
//! (also under `.ObjectMeta.`); string literals; functions `trimPrefix`, `trimSuffix`, `trim`,
//! `replace`, `toLower`, `toUpper`, `index`; pipes and parentheses. Anything else (`if`, `range`,
//! `.Spec…`, unknown functions) is refused when the flag is read, never at sync time. The output is
//! split on commas into host names, as upstream does.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

const FUNCS: &str = "trimPrefix, trimSuffix, trim, replace, toLower, toUpper, index";
const FIELDS: &str = ".Name, .Namespace, .Kind, .APIVersion, .Labels.<key>, .Annotations.<key>";

/// A parsed `--fqdn-template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FqdnTemplate {
    source: String,
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    Action(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Namespace,
    Kind,
    ApiVersion,
    Labels,
    Annotations,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Lit(String),
    Field(Field),
    MapKey(Field, String),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    TrimPrefix,
    TrimSuffix,
    Trim,
    Replace,
    ToLower,
    ToUpper,
    Index,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Map,
}

/// What a template sees of an object.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInput<'a> {
    pub kind: &'a str,
    pub api_version: &'a str,
    pub metadata: &'a ObjectMeta,
}

impl FqdnTemplate {
    /// Parses a template; the error says what is unsupported and where.
    pub fn parse(source: &str) -> Result<Self, String> {
        let nodes = parse_nodes(source)?;
        Ok(FqdnTemplate { source: source.to_owned(), nodes })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Renders the template for an object and returns the host names it names: split on commas,
    /// trimmed, without a trailing dot, sorted, without duplicates or empty entries.
    pub fn hostnames(&self, input: &TemplateInput<'_>) -> Vec<String> {
        let out = self.render(input);
        let mut names: Vec<String> =
            out.split(',').map(|s| s.trim().trim_end_matches('.').to_owned()).filter(|s| !s.is_empty()).collect();
        names.sort();
        names.dedup();
        names
    }
}

impl FqdnTemplate {
    /// The template's output for an object.
    pub fn render(&self, input: &TemplateInput<'_>) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(e) => out.push_str(&eval(e, input)),
            }
        }
        out
    }

    /// `--fqdn-target-template`'s reading of the output: comma-separated `host:target` pairs
    /// (split at the first colon, so IPv6 targets pass); incomplete pairs are skipped, as
    /// upstream skips them (a field not filled yet).
    pub fn pairs(&self, input: &TemplateInput<'_>) -> Vec<(String, String)> {
        self.render(input)
            .split(',')
            .filter_map(|p| p.split_once(':'))
            .map(|(h, t)| (h.trim().to_owned(), t.trim().to_owned()))
            .filter(|(h, t)| !h.is_empty() && !t.is_empty())
            .collect()
    }
}

fn map_of<'a>(field: Field, input: &TemplateInput<'a>) -> Option<&'a BTreeMap<String, String>> {
    match field {
        Field::Labels => input.metadata.labels.as_ref(),
        Field::Annotations => input.metadata.annotations.as_ref(),
        _ => None,
    }
}

fn eval(e: &Expr, input: &TemplateInput<'_>) -> String {
    match e {
        Expr::Lit(s) => s.clone(),
        Expr::Field(f) => match f {
            Field::Name => input.metadata.name.clone().unwrap_or_default(),
            Field::Namespace => input.metadata.namespace.clone().unwrap_or_default(),
            Field::Kind => input.kind.to_owned(),
            Field::ApiVersion => input.api_version.to_owned(),
            // Refused by the type check; a map is never rendered.
            Field::Labels | Field::Annotations => String::new(),
        },
        Expr::MapKey(f, key) => map_of(*f, input).and_then(|m| m.get(key)).cloned().unwrap_or_default(),
        Expr::Call(Func::Index, args) => match (&args[0], args.get(1)) {
            (Expr::Field(f), Some(k)) => {
                let key = eval(k, input);
                map_of(*f, input).and_then(|m| m.get(&key)).cloned().unwrap_or_default()
            }
            _ => String::new(),
        },
        Expr::Call(func, args) => {
            let a: Vec<String> = args.iter().map(|x| eval(x, input)).collect();
            match func {
                Func::TrimPrefix => a[1].strip_prefix(a[0].as_str()).unwrap_or(&a[1]).to_owned(),
                Func::TrimSuffix => a[1].strip_suffix(a[0].as_str()).unwrap_or(&a[1]).to_owned(),
                Func::Trim => a[0].trim().to_owned(),
                Func::Replace => a[2].replace(a[0].as_str(), &a[1]),
                Func::ToLower => a[0].to_lowercase(),
                Func::ToUpper => a[0].to_uppercase(),
                Func::Index => String::new(),
            }
        }
    }
}

fn parse_nodes(src: &str) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    let mut rest = src;
    let mut trim_next_text = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            push_text(&mut nodes, rest, trim_next_text, false);
            break;
        };
        let mut inner = &rest[open + 2..];
        let trim_before = inner.starts_with("- ") || inner.starts_with("-\t") || inner.starts_with("-\n");
        if trim_before {
            inner = &inner[1..];
        }
        push_text(&mut nodes, &rest[..open], trim_next_text, trim_before);
        let Some(close) = inner.find("}}") else {
            return Err(format!("an action opened at byte {open} is not closed with '}}}}'"));
        };
        let mut body = &inner[..close];
        trim_next_text = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next_text = true;
        }
        rest = &inner[close + 2..];
        let body = body.trim();
        if body.starts_with("/*") && body.ends_with("*/") {
            continue;
        }
        let expr = parse_action(body)?;
        if type_of(&expr) != Ty::Str {
            return Err(format!("{{{{{body}}}}} renders a whole map; use .Labels.<key> or index .Labels \"<key>\""));
        }
        nodes.push(Node::Action(expr));
    }
    Ok(nodes)
}

fn push_text(nodes: &mut Vec<Node>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start();
    }
    if trim_end {
        t = t.trim_end();
    }
    if !t.is_empty() {
        nodes.push(Node::Text(t.to_owned()));
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Field(String),
    Ident(String),
    Str(String),
    Pipe,
    Open,
    Close,
}

fn tokenize(body: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '|' => {
                chars.next();
                out.push(Tok::Pipe);
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(c @ ('"' | '\\')) => s.push(c),
                            other => return Err(format!("unsupported escape \\{} in a string", other.unwrap_or(' '))),
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(format!("string starting at byte {i} of {body:?} is not closed"));
                }
                out.push(Tok::Str(s));
            }
            '`' => {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '`' {
                        closed = true;
                        break;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err(format!("raw string starting at byte {i} of {body:?} is not closed"));
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '|' | '(' | ')' | '"' | '`') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                if w.starts_with('.') {
                    out.push(Tok::Field(w));
                } else if w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !w.is_empty() {
                    out.push(Tok::Ident(w));
                } else {
                    return Err(format!(
                        "{w:?} in {{{{{body}}}}} is not supported ($variables, numbers and operators are not)"
                    ));
                }
            }
        }
    }
    Ok(out)
}

fn parse_action(body: &str) -> Result<Expr, String> {
    const KEYWORDS: &[&str] =
        &["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"];
    if let Some(first) = body.split_whitespace().next().filter(|w| KEYWORDS.contains(w)) {
        return Err(format!("{{{{{body}}}}}: '{first}' is not supported by exodns templates; only expressions are"));
    }
    let toks = tokenize(body)?;
    if toks.is_empty() {
        return Err("an empty action {{}}".into());
    }
    let mut p = ExprParser { toks, pos: 0, body };
    let e = p.pipeline()?;
    if p.pos != p.toks.len() {
        return Err(format!("{{{{{body}}}}}: unexpected ')'"));
    }
    Ok(e)
}

struct ExprParser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    body: &'a str,
}

impl ExprParser<'_> {
    fn pipeline(&mut self) -> Result<Expr, String> {
        let mut value = self.command(None)?;
        while self.toks.get(self.pos) == Some(&Tok::Pipe) {
            self.pos += 1;
            value = self.command(Some(value))?;
        }
        Ok(value)
    }

    fn command(&mut self, piped: Option<Expr>) -> Result<Expr, String> {
        let body = self.body;
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                let func = match name.as_str() {
                    "trimPrefix" => Func::TrimPrefix,
                    "trimSuffix" => Func::TrimSuffix,
                    "trim" => Func::Trim,
                    "replace" => Func::Replace,
                    "toLower" => Func::ToLower,
                    "toUpper" => Func::ToUpper,
                    "index" => Func::Index,
                    _ => {
                        return Err(format!(
                            "{{{{{body}}}}}: function {name:?} is not supported; exodns knows {FUNCS}"
                        ));
                    }
                };
                let mut args = Vec::new();
                while let Some(t) = self.toks.get(self.pos) {
                    if matches!(t, Tok::Pipe | Tok::Close) {
                        break;
                    }
                    args.push(self.operand()?);
                }
                if let Some(p) = piped {
                    args.push(p);
                }
                check_call(func, &args).map_err(|e| format!("{{{{{body}}}}}: {name}: {e}"))?;
                if let (Func::Index, Some(Expr::Field(f)), Some(Expr::Lit(k))) = (func, args.first(), args.get(1)) {
                    return Ok(Expr::MapKey(*f, k.clone()));
                }
                Ok(Expr::Call(func, args))
            }
            Some(_) => {
                let e = self.operand()?;
                if piped.is_some() {
                    return Err(format!("{{{{{body}}}}}: only a function can take a piped value"));
                }
                if self.toks.get(self.pos).is_some_and(|t| !matches!(t, Tok::Pipe | Tok::Close)) {
                    return Err(format!("{{{{{body}}}}}: a value cannot take arguments"));
                }
                Ok(e)
            }
            None => Err(format!("{{{{{body}}}}}: expected an expression after '|'")),
        }
    }

    fn operand(&mut self) -> Result<Expr, String> {
        let body = self.body;
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        match t {
            Some(Tok::Str(s)) => Ok(Expr::Lit(s)),
            Some(Tok::Field(f)) => parse_field(&f).map_err(|e| format!("{{{{{body}}}}}: {e}")),
            Some(Tok::Open) => {
                let e = self.pipeline()?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return Err(format!("{{{{{body}}}}}: '(' is not closed"));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Ident(name)) => Err(format!("{{{{{body}}}}}: call {name:?} in parentheses to pass its result")),
            Some(Tok::Pipe) | Some(Tok::Close) | None => Err(format!("{{{{{body}}}}}: expected a value")),
        }
    }
}

fn parse_field(path: &str) -> Result<Expr, String> {
    let p = path.strip_prefix(".ObjectMeta").unwrap_or(path);
    let parts: Vec<&str> = p.trim_start_matches('.').split('.').collect();
    let field = match parts[0] {
        "Name" => Field::Name,
        "Namespace" => Field::Namespace,
        "Kind" => Field::Kind,
        "APIVersion" => Field::ApiVersion,
        "Labels" => Field::Labels,
        "Annotations" => Field::Annotations,
        _ => return Err(format!("field {path} is not supported; exodns templates know {FIELDS}")),
    };
    match (field, parts.len()) {
        (_, 1) => Ok(Expr::Field(field)),
        (Field::Labels | Field::Annotations, 2) if !parts[1].is_empty() => Ok(Expr::MapKey(field, parts[1].to_owned())),
        (Field::Labels | Field::Annotations, _) => {
            Err(format!("field {path}: keys with dots need index, like index .Labels \"app.kubernetes.io/name\""))
        }
        _ => Err(format!("field {path} has no sub-fields")),
    }
}

fn type_of(e: &Expr) -> Ty {
    match e {
        Expr::Field(Field::Labels | Field::Annotations) => Ty::Map,
        _ => Ty::Str,
    }
}

fn check_call(func: Func, args: &[Expr]) -> Result<(), String> {
    let want = match func {
        Func::TrimPrefix | Func::TrimSuffix => 2,
        Func::Trim | Func::ToLower | Func::ToUpper => 1,
        Func::Replace => 3,
        Func::Index => 2,
    };
    if args.len() != want {
        return Err(format!("takes {want} arguments, got {}", args.len()));
    }
    if func == Func::Index {
        if type_of(&args[0]) != Ty::Map || type_of(&args[1]) != Ty::Str {
            return Err("takes .Labels or .Annotations and a key".into());
        }
        return Ok(());
    }
    if args.iter().any(|a| type_of(a) != Ty::Str) {
        return Err("takes strings, not maps".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, ns: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        }
    }

    fn render(t: &str, m: &ObjectMeta) -> Vec<String> {
        FqdnTemplate::parse(t).unwrap_or_else(|e| panic!("{t}: {e}")).hostnames(&TemplateInput {
            kind: "Service",
            api_version: "v1",
            metadata: m,
        })
    }

    #[test]
    fn common_templates() {
        let m = meta("web", "prod", &[("app", "shop"), ("app.kubernetes.io/name", "Shop")]);
        assert_eq!(render("{{.Name}}.{{.Namespace}}.example.com", &m), vec!["web.prod.example.com"]);
        assert_eq!(render("{{.Name}}.a.org, {{.Name}}.b.org.", &m), vec!["web.a.org", "web.b.org"]);
        assert_eq!(render("{{ .Labels.app }}.example.com", &m), vec!["shop.example.com"]);
        assert_eq!(render("{{ index .Labels \"app.kubernetes.io/name\" | toLower }}.x.org", &m), vec!["shop.x.org"]);
        assert_eq!(render("{{ trimPrefix \"w\" .Name }}.x.org", &m), vec!["eb.x.org"]);
        assert_eq!(render("{{ .Name | trimSuffix \"b\" }}.x.org", &m), vec!["we.x.org"]);
        assert_eq!(render("{{ replace \"e\" \"3\" .Name }}.x.org", &m), vec!["w3b.x.org"]);
        assert_eq!(
            render("{{ (replace \"e\" \"E\" .Name) | toLower }}.{{.Kind | toLower}}.org", &m),
            vec!["web.service.org"]
        );
        assert_eq!(render("{{.ObjectMeta.Name}}.{{/* note */}}x.org", &m), vec!["web.x.org"]);
        assert_eq!(render("  {{- .Name -}}  .x.org", &m), vec!["web.x.org"]);
        // A missing key renders empty.
        assert_eq!(render("{{.Labels.none}}x.org", &m), vec!["x.org"]);
    }

    #[test]
    fn refuses_unsupported_syntax() {
        for bad in [
            "{{if .Name}}x{{end}}",
            "{{.Spec.ClusterIP}}",
            "{{ printf \"%s\" .Name }}",
            "{{.Name}",
            "{{ .Labels }}",
            "{{ toLower }}",
            "{{ $x := .Name }}",
            "{{ .Name .Namespace }}",
            "{{ \"a\" | \"b\" }}",
            "{{ (toLower .Name }}",
            "{{ .Labels.a.b }}",
        ] {
            assert!(FqdnTemplate::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
