//! The parser: text/template's grammar (actions, `if`/`else if`/`else`, `range` with `else`,
//! `with`, `break`/`continue`, variables, pipelines, parentheses), and the checks that refuse
//! at start what would always fail: an unknown field of the object, a function exodns does not
//! know, a number or a map where a string is wanted, an undefined variable.

use super::funcs::{self, Func};
use super::lex::{Tok, Token};

/// How deep actions and parentheses may nest (a bound for input read from a flag).
const MAX_DEPTH: usize = 64;

pub(super) const FIELDS: &str = ".Name, .Namespace, .Kind, .APIVersion, .Labels.<key>, .Annotations.<key>, \
     .ObjectMeta.<Name|Namespace|Labels|Annotations>, .Metadata.<path>, .Spec.<path>, .Status.<path>, .Object.<path>";

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    /// An action; it prints its value unless it declares or assigns a variable.
    Action(Pipe),
    If(Box<Control>),
    With(Box<Control>),
    Range(Box<Control>),
    Break,
    Continue,
}

/// `if`, `with` or `range`: the pipeline, its body and its `else` (an `else if` is an `If` there).
#[derive(Debug, Clone)]
pub(super) struct Control {
    pub pipe: Pipe,
    pub then: Vec<Node>,
    pub otherwise: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipe {
    /// `$x :=` (or `$i, $v :=` in `range`).
    pub decl: Vec<String>,
    /// `$x =` rather than `$x :=`.
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub(super) enum Cmd {
    /// A function and its arguments (a piped value comes last).
    Call(Func, Vec<Arg>),
    Arg(Arg),
}

#[derive(Debug, Clone)]
pub(super) enum Arg {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `.` and fields below it (`.Name`, `.Spec.host`).
    Dot(Vec<String>),
    /// `$x` (`$` for the object) and fields below it.
    Var(String, Vec<String>),
    /// `(pipeline)` and fields below it.
    Pipe(Box<Pipe>, Vec<String>),
}

/// What is known before rendering of a value's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Root,
    Meta,
    Str,
    Int,
    Float,
    Bool,
    StrMap,
    Nil,
    Any,
}

pub(super) struct Parsed {
    pub nodes: Vec<Node>,
    pub reads_raw: bool,
}

/// What ended a list of nodes.
enum Stop {
    End,
    Else,
    Eof,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    If,
    With,
    Range,
}

struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
    vars: Vec<(String, Ty)>,
    dot: Ty,
    ranges: usize,
    depth: usize,
    reads_raw: bool,
}

pub(super) fn parse(toks: &[Token]) -> Result<Parsed, String> {
    let mut p = Parser {
        toks,
        pos: 0,
        vars: vec![("$".into(), Ty::Root)],
        dot: Ty::Root,
        ranges: 0,
        depth: 0,
        reads_raw: false,
    };
    let (nodes, end) = p.list()?;
    match end {
        Stop::Eof => Ok(Parsed { nodes, reads_raw: p.reads_raw }),
        Stop::End => Err(p.err("unexpected {{end}}")),
        Stop::Else => Err(p.err("unexpected {{else}}")),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn err(&self, msg: impl std::fmt::Display) -> String {
        match self.toks.get(self.pos.min(self.toks.len().saturating_sub(1))) {
            Some(t) if self.pos < self.toks.len() => format!("{msg} (at byte {})", t.pos),
            _ => format!("{msg} (at the end)"),
        }
    }

    fn expect_close(&mut self, what: &str) -> Result<(), String> {
        if self.peek() == Some(&Tok::Close) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("unexpected {} in {what}", describe(self.peek()))))
        }
    }

    /// Nodes up to `{{end}}`, `{{else` or the end of the template.
    fn list(&mut self) -> Result<(Vec<Node>, Stop), String> {
        let mut nodes = Vec::new();
        while let Some(tok) = self.peek() {
            if let Tok::Text(t) = tok {
                nodes.push(Node::Text(t.clone()));
                self.pos += 1;
                continue;
            }
            // An action: `{{` then a keyword or a pipeline.
            self.pos += 1;
            let word = match self.peek() {
                Some(Tok::Ident(w)) => w.clone(),
                _ => String::new(),
            };
            match word.as_str() {
                "end" => {
                    self.pos += 1;
                    self.expect_close("{{end}}")?;
                    return Ok((nodes, Stop::End));
                }
                "else" => {
                    self.pos += 1;
                    return Ok((nodes, Stop::Else));
                }
                "if" | "with" | "range" => {
                    self.pos += 1;
                    let kind = match word.as_str() {
                        "if" => Kind::If,
                        "with" => Kind::With,
                        _ => Kind::Range,
                    };
                    nodes.push(self.control(kind)?);
                }
                "break" | "continue" => {
                    if self.ranges == 0 {
                        return Err(self.err(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                    }
                    self.pos += 1;
                    self.expect_close(&word)?;
                    nodes.push(if word == "break" { Node::Break } else { Node::Continue });
                }
                "define" | "template" | "block" => {
                    return Err(self.err(format!("'{word}' is not supported by exodns templates")));
                }
                _ => {
                    let (pipe, ty) = self.pipeline("command", &Tok::Close)?;
                    self.pos += 1;
                    if pipe.decl.is_empty() {
                        match ty {
                            Ty::StrMap => {
                                return Err(self.err(
                                    "an action renders a whole map; use .Labels.<key> or index .Labels \"<key>\"",
                                ));
                            }
                            Ty::Root | Ty::Meta => return Err(self.err("an action renders the whole object")),
                            _ => {}
                        }
                    }
                    nodes.push(Node::Action(pipe));
                }
            }
        }
        Ok((nodes, Stop::Eof))
    }

    fn control(&mut self, kind: Kind) -> Result<Node, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("actions nest too deep"));
        }
        let name = match kind {
            Kind::If => "if",
            Kind::With => "with",
            Kind::Range => "range",
        };
        let mark = self.vars.len();
        let outer_dot = self.dot;
        let (pipe, ty) = self.pipeline(name, &Tok::Close)?;
        self.pos += 1;
        match kind {
            Kind::If => {}
            Kind::With => self.dot = ty,
            Kind::Range => {
                let (key, elem) = match ty {
                    Ty::StrMap => (Ty::Str, Ty::Str),
                    Ty::Int => (Ty::Int, Ty::Int),
                    Ty::Any | Ty::Nil => (Ty::Any, Ty::Any),
                    other => return Err(self.err(format!("range cannot iterate over {}", ty_name(other)))),
                };
                self.dot = elem;
                let n = self.vars.len();
                match pipe.decl.len() {
                    1 if !pipe.assign => self.vars[n - 1].1 = elem,
                    2 if !pipe.assign => {
                        self.vars[n - 2].1 = key;
                        self.vars[n - 1].1 = elem;
                    }
                    _ => {}
                }
                self.ranges += 1;
            }
        }
        let (then, end) = self.list()?;
        if kind == Kind::Range {
            self.ranges -= 1;
        }
        self.dot = outer_dot;
        let otherwise = match end {
            Stop::End => Vec::new(),
            Stop::Eof => return Err(self.err(format!("{{{{{name}}}}} has no {{{{end}}}}"))),
            Stop::Else => {
                let chained = match (kind, self.peek()) {
                    (Kind::If, Some(Tok::Ident(w))) if w == "if" => Some(Kind::If),
                    (Kind::With, Some(Tok::Ident(w))) if w == "with" => Some(Kind::With),
                    _ => None,
                };
                if let Some(k) = chained {
                    // `else if …` / `else with …`: a control of its own that takes the `end`.
                    self.pos += 1;
                    vec![self.control(k)?]
                } else {
                    self.expect_close("{{else}}")?;
                    match self.list()? {
                        (list, Stop::End) => list,
                        (_, Stop::Else) => return Err(self.err(format!("a second {{{{else}}}} in {{{{{name}}}}}"))),
                        (_, Stop::Eof) => return Err(self.err(format!("{{{{{name}}}}} has no {{{{end}}}}"))),
                    }
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(match kind {
            Kind::If => Node::If(Box::new(Control { pipe, then, otherwise })),
            Kind::With => Node::With(Box::new(Control { pipe, then, otherwise })),
            Kind::Range => Node::Range(Box::new(Control { pipe, then, otherwise })),
        })
    }

    /// `[decl] command { | command }` up to `end` (not consumed), and its type.
    fn pipeline(&mut self, ctx: &str, end: &Tok) -> Result<(Pipe, Ty), String> {
        let mut decl = Vec::new();
        let mut assign = false;
        let vars_ahead = |p: &Self, n: usize| -> Option<bool> {
            // `$a :=`, `$a =`, `$a, $b :=`.
            let toks = &p.toks[p.pos..];
            let at = if n == 1 { 1 } else { 3 };
            let names_ok = matches!(toks.first().map(|t| &t.tok), Some(Tok::Var(_)))
                && (n == 1
                    || (matches!(toks.get(1).map(|t| &t.tok), Some(Tok::Comma))
                        && matches!(toks.get(2).map(|t| &t.tok), Some(Tok::Var(_)))));
            match toks.get(at).map(|t| &t.tok) {
                Some(Tok::Declare) if names_ok => Some(false),
                Some(Tok::Assign) if names_ok => Some(true),
                _ => None,
            }
        };
        for n in [2, 1] {
            if let Some(a) = vars_ahead(self, n) {
                if n == 2 && ctx != "range" {
                    return Err(self.err(format!("too many declarations in {ctx}")));
                }
                for i in 0..n {
                    if let Tok::Var(v) = &self.toks[self.pos + 2 * i].tok {
                        decl.push(v.clone());
                    }
                }
                assign = a;
                self.pos += 2 * n;
                break;
            }
        }
        for v in decl.iter().filter(|_| assign) {
            if !self.vars.iter().any(|(n, _)| n == v) {
                return Err(self.err(format!("undefined variable {v:?}")));
            }
        }
        let mut cmds = Vec::new();
        let mut ty = Ty::Any;
        loop {
            let (cmd, t) = self.command(ctx, if cmds.is_empty() { None } else { Some(ty) })?;
            cmds.push(cmd);
            ty = t;
            match self.peek() {
                Some(Tok::Pipe) => self.pos += 1,
                Some(t) if t == end => break,
                other => return Err(self.err(format!("unexpected {} in {ctx}", describe(other)))),
            }
        }
        if !assign {
            for v in &decl {
                self.vars.push((v.clone(), ty));
            }
        }
        Ok((Pipe { decl, assign, cmds }, ty))
    }

    /// One command: a function and its arguments, or a single value.
    fn command(&mut self, ctx: &str, piped: Option<Ty>) -> Result<(Cmd, Ty), String> {
        if let Some(Tok::Ident(name)) = self.peek() {
            let name = name.clone();
            let Some(func) = funcs::lookup(&name) else {
                return Err(self.err(funcs::unknown(&name)));
            };
            self.pos += 1;
            let mut args = Vec::new();
            let mut tys = Vec::new();
            while !matches!(self.peek(), Some(Tok::Pipe | Tok::Close | Tok::RParen) | None) {
                let (a, t) = self.operand()?;
                args.push(a);
                tys.push(t);
            }
            tys.extend(piped);
            if func == Func::IsSource
                && let Some(Arg::Str(s)) = args.first()
                && !funcs::known_source(s)
            {
                return Err(self.err(funcs::unknown_source(s)));
            }
            let ty = funcs::check(func, &tys).map_err(|e| self.err(format!("{name}: {e}")))?;
            return Ok((Cmd::Call(func, args), ty));
        }
        if matches!(self.peek(), Some(Tok::Pipe | Tok::Close | Tok::RParen) | None) {
            return Err(self.err(format!("missing value for {ctx}")));
        }
        if self.peek() == Some(&Tok::Nil) {
            return Err(self.err("nil is not a command"));
        }
        if piped.is_some() {
            return Err(self.err("only a function can take a piped value"));
        }
        let (a, t) = self.operand()?;
        if !matches!(self.peek(), Some(Tok::Pipe | Tok::Close | Tok::RParen) | None) {
            return Err(self.err("a value cannot take arguments"));
        }
        Ok((Cmd::Arg(a), t))
    }

    /// A literal, `.`, a field chain, a variable or a parenthesized pipeline, with the fields
    /// written right after it.
    fn operand(&mut self) -> Result<(Arg, Ty), String> {
        let Some(token) = self.toks.get(self.pos) else { return Err(self.err("missing value")) };
        self.pos += 1;
        let (arg, ty) = match &token.tok {
            Tok::Str(s) => (Arg::Str(s.clone()), Ty::Str),
            Tok::Int(i) => (Arg::Int(*i), Ty::Int),
            Tok::Float(f) => (Arg::Float(*f), Ty::Float),
            Tok::Bool(b) => (Arg::Bool(*b), Ty::Bool),
            Tok::Nil => (Arg::Nil, Ty::Nil),
            Tok::Dot => (Arg::Dot(Vec::new()), self.dot),
            Tok::Field(f) => {
                let mut path = vec![f.clone()];
                let ty = self.fields(self.dot, ".", &mut path)?;
                return Ok((Arg::Dot(path), ty));
            }
            Tok::Var(v) => {
                let Some(&(_, ty)) = self.vars.iter().rev().find(|(n, _)| n == v) else {
                    return Err(self.err(format!("undefined variable {v:?}")));
                };
                let mut path = Vec::new();
                let ty = self.fields(ty, v, &mut path)?;
                return Ok((Arg::Var(v.clone(), path), ty));
            }
            Tok::LParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.err("parentheses nest too deep"));
                }
                let (pipe, ty) = self.pipeline("parenthesized pipeline", &Tok::RParen)?;
                self.pos += 1;
                self.depth -= 1;
                let mut path = Vec::new();
                let ty = self.fields(ty, "(…)", &mut path)?;
                return Ok((Arg::Pipe(Box::new(pipe), path), ty));
            }
            Tok::Ident(name) => {
                return Err(self.err(format!("call {name:?} in parentheses to pass its result")));
            }
            other => return Err(self.err(format!("unexpected {} in an operand", describe(Some(other))))),
        };
        if matches!(self.toks.get(self.pos), Some(Token { tok: Tok::Field(_), spaced: false, .. })) {
            return Err(self.err("a literal has no fields"));
        }
        Ok((arg, ty))
    }

    /// Reads the fields written right after an operand into `path` (which may hold the first)
    /// and types them from `base`.
    fn fields(&mut self, base: Ty, what: &str, path: &mut Vec<String>) -> Result<Ty, String> {
        while let Some(Token { tok: Tok::Field(f), spaced: false, .. }) = self.toks.get(self.pos) {
            path.push(f.clone());
            self.pos += 1;
        }
        let mut ty = base;
        for (i, f) in path.iter().enumerate() {
            let prefix = if what == "." { "" } else { what };
            let shown = || format!("{prefix}{}", path[..=i].iter().map(|p| format!(".{p}")).collect::<String>());
            ty = match (ty, f.as_str()) {
                (Ty::Root, "Name" | "Namespace" | "Kind" | "APIVersion") => Ty::Str,
                (Ty::Root | Ty::Meta, "Labels" | "Annotations") => Ty::StrMap,
                (Ty::Meta, "Name" | "Namespace") => Ty::Str,
                (Ty::Root, "ObjectMeta") => Ty::Meta,
                (Ty::Root, "Metadata" | "Spec" | "Status" | "Object") => {
                    self.reads_raw = true;
                    Ty::Any
                }
                (Ty::Root | Ty::Meta, _) => {
                    return Err(self.err(format!("field {} is not supported; exodns templates know {FIELDS}", shown())));
                }
                (Ty::StrMap, _) => Ty::Str,
                (Ty::Any, _) => Ty::Any,
                (Ty::Str, _) => {
                    return Err(self.err(format!(
                        "field {}: a string has no fields (keys with dots need index, like index .Labels \"app.kubernetes.io/name\")",
                        shown()
                    )));
                }
                (other, _) => return Err(self.err(format!("field {}: {} has no fields", shown(), ty_name(other)))),
            };
        }
        Ok(ty)
    }
}

pub(super) fn ty_name(t: Ty) -> &'static str {
    match t {
        Ty::Root => "the object",
        Ty::Meta => ".ObjectMeta",
        Ty::Str => "a string",
        Ty::Int => "an integer",
        Ty::Float => "a float",
        Ty::Bool => "a boolean",
        Ty::StrMap => "a map of strings",
        Ty::Nil => "nil",
        Ty::Any => "a value",
    }
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "end of template".into(),
        Some(Tok::Close) => "'}}'".into(),
        Some(Tok::RParen) => "')'".into(),
        Some(Tok::LParen) => "'('".into(),
        Some(Tok::Pipe) => "'|'".into(),
        Some(Tok::Comma) => "','".into(),
        Some(Tok::Declare) => "':='".into(),
        Some(Tok::Assign) => "'='".into(),
        Some(Tok::Ident(w)) => format!("{w:?}"),
        Some(Tok::Var(v)) => v.clone(),
        Some(other) => format!("{other:?}"),
    }
}
