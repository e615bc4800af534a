//! `--fqdn-template`, `--target-template` and `--fqdn-target-template`: the subset of Go's
//! text/template that upstream users write for host names and targets.
//!
//! Supported: text, `{{ pipeline }}` actions with `{{-`/`-}}` trimming and `{{/* comments */}}`;
//! fields `.Name`, `.Namespace`, `.Kind`, `.APIVersion`, `.Labels.key`, `.Annotations.key`
//! (also under `.ObjectMeta.`); the raw sections of an object the `unstructured` source reads,
//! `.Metadata…`, `.Spec…`, `.Status…` and `.Object…` (any depth); string and integer literals;
//! functions `trimPrefix`, `trimSuffix`, `trim`, `replace`, `toLower`, `toUpper`, `index` (map keys
//! and list positions, several in a row); pipes and parentheses. Anything else (`if`, `range`,
//! variables, unknown functions) is refused when the flag is read. The output is split on commas
//! into host names, as upstream does.
//!
//! A missing field or key renders empty (Go prints `<no value>`, which is never a usable name or
//! target). Reading a field of a list or a string, or a list position past its end, is an error of
//! that object ([`FqdnTemplate::try_render`]) — Go's too, which fails upstream's whole source.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

const FUNCS: &str = "trimPrefix, trimSuffix, trim, replace, toLower, toUpper, index";
const FIELDS: &str = ".Name, .Namespace, .Kind, .APIVersion, .Labels.<key>, .Annotations.<key>, \
                      .Metadata.<path>, .Spec.<path>, .Status.<path>, .Object.<path>";

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

/// A raw section of an object (the `unstructured` source's objects have them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Metadata,
    Spec,
    Status,
    Object,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Lit(String),
    Int(i64),
    Field(Field),
    MapKey(Field, String),
    /// A raw section and the field names below it.
    Raw(Root, Vec<String>),
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
    Int,
    /// `.Labels` or `.Annotations`.
    Map,
    /// A raw value: known only when rendered.
    Any,
}

/// What a template sees of an object.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInput<'a> {
    pub kind: &'a str,
    pub api_version: &'a str,
    pub metadata: &'a ObjectMeta,
    /// The whole object as JSON, for `.Spec…` and the other raw sections (the `unstructured`
    /// source's objects); `None` for the typed sources, where they render empty.
    pub raw: Option<&'a Value>,
}

/// A value while a template is rendered.
#[derive(Debug, Clone)]
enum Val<'a> {
    Str(String),
    Int(i64),
    Map(Option<&'a BTreeMap<String, String>>),
    Json(&'a Value),
    Missing,
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
    /// a map, a list position past the end, a map or list where a string is wanted.
    pub fn try_render(&self, input: &TemplateInput<'_>) -> Result<String, String> {
        let mut out = String::new();
        for n in &self.nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(e) => out.push_str(&print(&eval(e, input)?)),
            }
        }
        Ok(out)
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
        fn raw(e: &Expr) -> bool {
            match e {
                Expr::Raw(..) => true,
                Expr::Call(_, args) => args.iter().any(raw),
                _ => false,
            }
        }
        self.nodes.iter().any(|n| matches!(n, Node::Action(e) if raw(e)))
    }
}

fn map_of<'a>(field: Field, input: &TemplateInput<'a>) -> Option<&'a BTreeMap<String, String>> {
    match field {
        Field::Labels => input.metadata.labels.as_ref(),
        Field::Annotations => input.metadata.annotations.as_ref(),
        _ => None,
    }
}

/// A value as a string argument of a function: a missing one is empty (Go fails there too,
/// but a missing field is a field not filled yet, not a broken template).
fn as_str(v: &Val<'_>) -> Result<String, String> {
    match v {
        Val::Json(Value::Array(_) | Value::Object(_)) | Val::Map(_) => {
            Err(format!("a string is wanted, not {}", print(v)))
        }
        other => Ok(print(other)),
    }
}

/// A value as Go's text/template prints it (`fmt.Print`), except that a missing one is empty.
fn print(v: &Val<'_>) -> String {
    match v {
        Val::Str(s) => s.clone(),
        Val::Int(i) => i.to_string(),
        Val::Map(m) => {
            let items: Vec<String> = m.iter().flat_map(|m| m.iter()).map(|(k, v)| format!("{k}:{v}")).collect();
            format!("map[{}]", items.join(" "))
        }
        Val::Json(j) => go_print(j),
        Val::Missing => String::new(),
    }
}

fn go_print(j: &Value) -> String {
    match j {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_print).collect::<Vec<_>>().join(" ")),
        // Go prints a map with its keys sorted; serde_json's map keeps them sorted.
        Value::Object(m) => {
            format!("map[{}]", m.iter().map(|(k, v)| format!("{k}:{}", go_print(v))).collect::<Vec<_>>().join(" "))
        }
    }
}

/// One step into a raw value: a field name (`.x`) or an `index` key.
fn step<'a>(base: Val<'a>, key: &Val<'_>, via_index: bool) -> Result<Val<'a>, String> {
    match base {
        Val::Missing if !via_index => Ok(Val::Missing),
        Val::Missing => Err("index of a missing value".into()),
        Val::Map(m) => {
            let k = as_str(key)?;
            Ok(Val::Str(m.and_then(|m| m.get(&k)).cloned().unwrap_or_default()))
        }
        Val::Json(Value::Object(m)) => {
            let k = match key {
                Val::Int(i) if via_index => return Err(format!("a map is indexed by names, not {i}")),
                k => as_str(k)?,
            };
            Ok(m.get(&k).map_or(Val::Missing, Val::Json))
        }
        Val::Json(Value::Array(a)) if via_index => {
            let i = match key {
                Val::Int(i) => *i,
                Val::Json(Value::Number(n)) => n.as_i64().unwrap_or(-1),
                other => return Err(format!("a list is indexed by positions, not {:?}", print(other))),
            };
            usize::try_from(i)
                .ok()
                .and_then(|i| a.get(i))
                .map(Val::Json)
                .ok_or_else(|| format!("position {i} is past the end of a list of {}", a.len()))
        }
        Val::Json(Value::Null) => Err(format!("{} of null", if via_index { "index" } else { "a field" })),
        other => {
            let what = if via_index { format!("index {}", print(key)) } else { format!("field {}", print(key)) };
            Err(format!("{what} of {:?}, which is not a map", print(&other)))
        }
    }
}

fn eval<'a>(e: &Expr, input: &TemplateInput<'a>) -> Result<Val<'a>, String> {
    Ok(match e {
        Expr::Lit(s) => Val::Str(s.clone()),
        Expr::Int(i) => Val::Int(*i),
        Expr::Field(f) => match f {
            Field::Name => Val::Str(input.metadata.name.clone().unwrap_or_default()),
            Field::Namespace => Val::Str(input.metadata.namespace.clone().unwrap_or_default()),
            Field::Kind => Val::Str(input.kind.to_owned()),
            Field::ApiVersion => Val::Str(input.api_version.to_owned()),
            Field::Labels | Field::Annotations => Val::Map(map_of(*f, input)),
        },
        Expr::MapKey(f, key) => Val::Str(map_of(*f, input).and_then(|m| m.get(key)).cloned().unwrap_or_default()),
        Expr::Raw(root, path) => {
            let Some(raw) = input.raw else { return Ok(Val::Missing) };
            let mut v = match root {
                Root::Object => Val::Json(raw),
                Root::Metadata => raw.get("metadata").map_or(Val::Missing, Val::Json),
                Root::Spec => raw.get("spec").map_or(Val::Missing, Val::Json),
                Root::Status => raw.get("status").map_or(Val::Missing, Val::Json),
            };
            for name in path {
                v = step(v, &Val::Str(name.clone()), false).map_err(|e| format!("{}: {e}", raw_path(*root, path)))?;
            }
            v
        }
        Expr::Call(Func::Index, args) => {
            let mut v = eval(&args[0], input)?;
            for k in &args[1..] {
                let key = eval(k, input)?;
                v = step(v, &key, true).map_err(|e| format!("index: {e}"))?;
            }
            v
        }
        Expr::Call(func, args) => {
            let a = args.iter().map(|x| eval(x, input).and_then(|v| as_str(&v))).collect::<Result<Vec<String>, _>>()?;
            Val::Str(match func {
                Func::TrimPrefix => a[1].strip_prefix(a[0].as_str()).unwrap_or(&a[1]).to_owned(),
                Func::TrimSuffix => a[1].strip_suffix(a[0].as_str()).unwrap_or(&a[1]).to_owned(),
                Func::Trim => a[0].trim().to_owned(),
                Func::Replace => a[2].replace(a[0].as_str(), &a[1]),
                Func::ToLower => a[0].to_lowercase(),
                Func::ToUpper => a[0].to_uppercase(),
                Func::Index => unreachable!("handled above"),
            })
        }
    })
}

fn raw_path(root: Root, path: &[String]) -> String {
    let r = match root {
        Root::Metadata => ".Metadata",
        Root::Spec => ".Spec",
        Root::Status => ".Status",
        Root::Object => ".Object",
    };
    path.iter().fold(r.to_owned(), |acc, p| format!("{acc}.{p}"))
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
        if type_of(&expr) == Ty::Map {
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
    Int(i64),
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
                } else if let Ok(i) = w.parse::<i64>() {
                    out.push(Tok::Int(i));
                } else if w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !w.is_empty() {
                    out.push(Tok::Ident(w));
                } else {
                    return Err(format!("{w:?} in {{{{{body}}}}} is not supported ($variables and operators are not)"));
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
            Some(Tok::Int(i)) => Ok(Expr::Int(i)),
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
    let root = match parts[0] {
        "Metadata" => Some(Root::Metadata),
        "Spec" => Some(Root::Spec),
        "Status" => Some(Root::Status),
        "Object" => Some(Root::Object),
        _ => None,
    };
    if let Some(root) = root {
        if parts[1..].iter().any(|p| p.is_empty()) {
            return Err(format!("field {path} has an empty name"));
        }
        return Ok(Expr::Raw(root, parts[1..].iter().map(|p| (*p).to_owned()).collect()));
    }
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
        Expr::Int(_) => Ty::Int,
        Expr::Raw(..) => Ty::Any,
        Expr::Call(Func::Index, args) if type_of(&args[0]) == Ty::Any => Ty::Any,
        _ => Ty::Str,
    }
}

fn check_call(func: Func, args: &[Expr]) -> Result<(), String> {
    if func == Func::Index {
        return match (args.first().map(type_of), &args[1.min(args.len())..]) {
            (Some(Ty::Map), [k]) if type_of(k) == Ty::Str => Ok(()),
            (Some(Ty::Any), keys) if !keys.is_empty() && keys.iter().all(|k| type_of(k) != Ty::Map) => Ok(()),
            _ => Err("takes .Labels or .Annotations and a key, or a raw value (.Spec…) and keys or positions".into()),
        };
    }
    let want = match func {
        Func::TrimPrefix | Func::TrimSuffix => 2,
        Func::Trim | Func::ToLower | Func::ToUpper => 1,
        Func::Replace => 3,
        Func::Index => unreachable!("checked above"),
    };
    if args.len() != want {
        return Err(format!("takes {want} arguments, got {}", args.len()));
    }
    if args.iter().any(|a| matches!(type_of(a), Ty::Map | Ty::Int)) {
        return Err("takes strings, not maps or numbers".into());
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
            raw: None,
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
            "{{ index .Labels 0 }}",
            "{{ index .Spec }}",
            "{{ toLower 3 }}",
            "{{ .Spec. }}",
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

    #[test]
    fn raw_sections_of_an_object() {
        let raw: Value = serde_json::json!({
            "apiVersion": "example.org/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "apps"},
            "spec": {"host": "w.example.org", "hosts": ["a.example.org", "b.example.org"], "port": 80,
                     "addresses": [{"ip": "192.0.2.1"}], "nothing": null},
            "data": {"hostname": "cm.example.org"}
        });
        let m = meta("w", "apps", &[]);
        let input = TemplateInput { kind: "Widget", api_version: "example.org/v1", metadata: &m, raw: Some(&raw) };
        let r = |t: &str| FqdnTemplate::parse(t).unwrap_or_else(|e| panic!("{t}: {e}")).try_render(&input);
        assert_eq!(r("{{.Spec.host}}").unwrap(), "w.example.org");
        assert_eq!(r("{{index .Spec.hosts 1}}").unwrap(), "b.example.org");
        assert_eq!(r("{{index .Spec.addresses 0 \"ip\"}}").unwrap(), "192.0.2.1");
        assert_eq!(r("{{index .Object.data \"hostname\"}}").unwrap(), "cm.example.org");
        assert_eq!(r("{{.Object.data.hostname | toUpper}}").unwrap(), "CM.EXAMPLE.ORG");
        assert_eq!(r("{{.Metadata.namespace}}:{{.Spec.port}}").unwrap(), "apps:80");
        assert_eq!(r("{{.Spec.hosts}}").unwrap(), "[a.example.org b.example.org]");
        // Missing renders empty, at any depth below a map.
        assert_eq!(r("x{{.Status.address}}{{.Spec.none.deeper}}").unwrap(), "x");
        assert_eq!(r("{{index .Spec \"none\"}}").unwrap(), "");
        // Errors name what failed.
        let e = r("{{index .Spec.hosts 5}}").unwrap_err();
        assert!(e.contains("position 5"), "{e}");
        assert!(r("{{.Spec.host.x}}").unwrap_err().contains(".Spec.host.x"));
        assert!(r("{{.Spec.nothing.x}}").is_err());
        assert!(r("{{index .Status.addresses 0}}").is_err());
        assert!(r("{{toLower .Spec.hosts}}").is_err());
        // Typed sources have no raw sections.
        let typed = TemplateInput { raw: None, ..input };
        assert_eq!(FqdnTemplate::parse("{{.Spec.host}}x").unwrap().try_render(&typed).unwrap(), "x");
        assert!(FqdnTemplate::parse("{{.Spec.host}}").unwrap().reads_raw());
        assert!(!FqdnTemplate::parse("{{.Name}}").unwrap().reads_raw());
    }
}
