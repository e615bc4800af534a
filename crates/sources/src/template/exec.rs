//! Rendering a parsed template on an object, as Go's text/template executes it: the dot, the
//! variables and their scopes, `if`/`with`/`range` and `break`/`continue`.

use std::borrow::Cow;

use serde_json::Value;

use super::TemplateInput;
use super::funcs::{self, Func};
use super::parse::{Arg, Cmd, Control, Node, Pipe};
use super::value::Val;

/// Bounds on one rendering (a template read from a flag runs on every object): steps taken and
/// bytes written.
const MAX_STEPS: u64 = 1_000_000;
const MAX_OUTPUT: usize = 1 << 20;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct Exec<'x> {
    input: TemplateInput<'x>,
    vars: Vec<(&'x str, Val<'x>)>,
    pub out: String,
    steps: u64,
}

impl<'x> Exec<'x> {
    pub fn new(input: TemplateInput<'x>) -> Self {
        Exec { input, vars: vec![("$", Val::Root)], out: String::new(), steps: 0 }
    }

    fn step(&mut self) -> Result<(), String> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(format!("the template takes more than {MAX_STEPS} steps"));
        }
        if self.out.len() > MAX_OUTPUT {
            return Err(format!("the template writes more than {MAX_OUTPUT} bytes"));
        }
        Ok(())
    }

    pub fn run(&mut self, nodes: &'x [Node]) -> Result<(), String> {
        self.walk(nodes, &Val::Root).map(|_| ())
    }

    fn walk(&mut self, nodes: &'x [Node], dot: &Val<'x>) -> Result<Flow, String> {
        for n in nodes {
            self.step()?;
            let flow = match n {
                Node::Text(t) => {
                    self.out.push_str(t);
                    Flow::Normal
                }
                Node::Action(p) => {
                    let v = self.pipe(p, dot)?;
                    if p.decl.is_empty() {
                        let s = v.print()?;
                        self.out.push_str(&s);
                    }
                    Flow::Normal
                }
                Node::If(c) => self.if_or_with(c, dot, false)?,
                Node::With(c) => self.if_or_with(c, dot, true)?,
                Node::Range(c) => self.range(c, dot)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_or_with(&mut self, c: &'x Control, dot: &Val<'x>, with: bool) -> Result<Flow, String> {
        let mark = self.vars.len();
        let v = self.pipe(&c.pipe, dot)?;
        let flow = if v.truth() {
            if with { self.walk(&c.then, &v) } else { self.walk(&c.then, dot) }
        } else {
            self.walk(&c.otherwise, dot)
        };
        self.vars.truncate(mark);
        flow
    }

    fn range(&mut self, c: &'x Control, dot: &Val<'x>) -> Result<Flow, String> {
        let mark = self.vars.len();
        let v = self.cmds(&c.pipe.cmds, dot)?;
        let items = elements(v)?;
        let empty = items.is_empty();
        for (key, elem) in items {
            self.step()?;
            self.vars.truncate(mark);
            let d = &c.pipe.decl;
            let vals = if d.len() == 2 { vec![key, elem.clone()] } else { vec![elem.clone()] };
            for (name, val) in d.iter().zip(vals) {
                if c.pipe.assign { self.set(name, val) } else { self.vars.push((name.as_str(), val)) }
            }
            match self.walk(&c.then, &elem)? {
                Flow::Break => break,
                Flow::Normal | Flow::Continue => {}
            }
        }
        self.vars.truncate(mark);
        if empty {
            let flow = self.walk(&c.otherwise, dot);
            self.vars.truncate(mark);
            return flow;
        }
        Ok(Flow::Normal)
    }

    fn set(&mut self, name: &str, val: Val<'x>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = val;
        }
    }

    /// A pipeline's value, declared or assigned to its variable when it names one.
    fn pipe(&mut self, p: &'x Pipe, dot: &Val<'x>) -> Result<Val<'x>, String> {
        let v = self.cmds(&p.cmds, dot)?;
        if let Some(name) = p.decl.first() {
            if p.assign {
                self.set(name, v.clone());
            } else {
                self.vars.push((name.as_str(), v.clone()));
            }
        }
        Ok(v)
    }

    fn cmds(&mut self, cmds: &'x [Cmd], dot: &Val<'x>) -> Result<Val<'x>, String> {
        let mut piped: Option<Val<'x>> = None;
        for c in cmds {
            piped = Some(match c {
                Cmd::Arg(a) => self.arg(a, dot)?,
                Cmd::Call(f @ (Func::And | Func::Or), args) => self.and_or(*f, args, dot, piped.take())?,
                Cmd::Call(f, args) => {
                    let mut vals = Vec::with_capacity(args.len() + 1);
                    for a in args {
                        vals.push(self.arg(a, dot)?);
                    }
                    vals.extend(piped.take());
                    funcs::apply(*f, vals, self.input.source).map_err(|e| format!("{}: {e}", funcs::name(*f)))?
                }
            });
        }
        Ok(piped.unwrap_or(Val::Missing))
    }

    /// `and` returns its first false argument, `or` its first true one, else the last; the
    /// rest are not evaluated.
    fn and_or(&mut self, f: Func, args: &'x [Arg], dot: &Val<'x>, piped: Option<Val<'x>>) -> Result<Val<'x>, String> {
        let mut last = Val::Missing;
        for a in args {
            last = self.arg(a, dot)?;
            if last.truth() != (f == Func::And) {
                return Ok(last);
            }
        }
        Ok(piped.unwrap_or(last))
    }

    fn arg(&mut self, a: &'x Arg, dot: &Val<'x>) -> Result<Val<'x>, String> {
        self.step()?;
        let (base, path, what) = match a {
            Arg::Str(s) => return Ok(Val::Str(Cow::Borrowed(s))),
            Arg::Int(i) => return Ok(Val::Int(*i)),
            Arg::Float(f) => return Ok(Val::Float(*f)),
            Arg::Bool(b) => return Ok(Val::Bool(*b)),
            Arg::Nil => return Ok(Val::Nil),
            Arg::Dot(path) => (dot.clone(), path, ""),
            Arg::Var(name, path) => {
                let v =
                    self.vars.iter().rev().find(|(n, _)| *n == name.as_str()).map_or(Val::Missing, |(_, v)| v.clone());
                (v, path, name.as_str())
            }
            Arg::Pipe(p, path) => (self.pipe(p, dot)?, path, "(…)"),
        };
        let mut v = base;
        for (i, name) in path.iter().enumerate() {
            v = field(v, name, &self.input).map_err(|e| {
                let shown: String = path[..=i].iter().map(|p| format!(".{p}")).collect();
                format!("{what}{shown}: {e}")
            })?;
        }
        Ok(v)
    }
}

/// A field of a value (Go's evalField): the object's parts, a map key, nothing below a missing
/// value; an error on nil, a string, a number or a list.
fn field<'x>(v: Val<'x>, name: &str, input: &TemplateInput<'x>) -> Result<Val<'x>, String> {
    let meta = input.metadata;
    let s = |o: &'x Option<String>| Val::Str(Cow::Borrowed(o.as_deref().unwrap_or_default()));
    let raw = |key: Option<&str>| match input.raw {
        None => Val::Missing,
        Some(r) => match key {
            None => Val::from_json(Cow::Borrowed(r)),
            Some(k) => r.get(k).map_or(Val::Missing, |v| Val::from_json(Cow::Borrowed(v))),
        },
    };
    Ok(match (v, name) {
        (Val::Root, "Kind") => Val::Str(Cow::Borrowed(input.kind)),
        (Val::Root, "APIVersion") => Val::Str(Cow::Borrowed(input.api_version)),
        (Val::Root, "ObjectMeta") => Val::Meta,
        (Val::Root, "Metadata") => raw(Some("metadata")),
        (Val::Root, "Spec") => raw(Some("spec")),
        (Val::Root, "Status") => raw(Some("status")),
        (Val::Root, "Object") => raw(None),
        (Val::Root | Val::Meta, "Name") => s(&meta.name),
        (Val::Root | Val::Meta, "Namespace") => s(&meta.namespace),
        (Val::Root | Val::Meta, "Labels") => Val::StrMap(meta.labels.as_ref()),
        (Val::Root | Val::Meta, "Annotations") => Val::StrMap(meta.annotations.as_ref()),
        (Val::Root | Val::Meta, _) => return Err(format!("the object has no field {name}")),
        (Val::StrMap(m), _) => m.and_then(|m| m.get(name)).map_or(Val::Missing, |v| Val::Str(Cow::Borrowed(v))),
        (Val::Json(Cow::Borrowed(Value::Object(m))), _) => {
            m.get(name).map_or(Val::Missing, |v| Val::from_json(Cow::Borrowed(v)))
        }
        (Val::Json(Cow::Owned(Value::Object(mut m))), _) => {
            m.remove(name).map_or(Val::Missing, |v| Val::from_json(Cow::Owned(v)))
        }
        (Val::Missing, _) => Val::Missing,
        (Val::Nil, _) => return Err(format!("nil pointer evaluating interface {{}}.{name}")),
        (Val::Str(s), _) => return Err(format!("can't evaluate field {name} of {s:?}, a string")),
        (other, _) => return Err(format!("can't evaluate field {name} in type {}", other.type_name())),
    })
}

/// What `range` visits: a list's positions and elements, a map's keys (sorted) and values, or
/// 0..n for an integer n; nothing for nil or a missing value.
fn elements<'x>(v: Val<'x>) -> Result<Vec<(Val<'x>, Val<'x>)>, String> {
    Ok(match v {
        Val::Missing | Val::Nil => Vec::new(),
        Val::Int(n) => {
            if n > MAX_STEPS as i64 {
                return Err(format!("range over {n} takes more than {MAX_STEPS} steps"));
            }
            (0..n.max(0)).map(|i| (Val::Int(i), Val::Int(i))).collect()
        }
        Val::StrMap(m) => m
            .iter()
            .flat_map(|m| m.iter())
            .map(|(k, v)| (Val::Str(Cow::Borrowed(k.as_str())), Val::Str(Cow::Borrowed(v.as_str()))))
            .collect(),
        Val::Json(Cow::Borrowed(j)) => match j {
            Value::Array(a) => {
                a.iter().enumerate().map(|(i, e)| (Val::Int(i as i64), Val::from_json(Cow::Borrowed(e)))).collect()
            }
            Value::Object(m) => {
                let mut items: Vec<(&String, &Value)> = m.iter().collect();
                items.sort_by(|a, b| a.0.cmp(b.0));
                items
                    .into_iter()
                    .map(|(k, e)| (Val::Str(Cow::Borrowed(k.as_str())), Val::from_json(Cow::Borrowed(e))))
                    .collect()
            }
            _ => Vec::new(),
        },
        Val::Json(Cow::Owned(j)) => match j {
            Value::Array(a) => {
                a.into_iter().enumerate().map(|(i, e)| (Val::Int(i as i64), Val::from_json(Cow::Owned(e)))).collect()
            }
            Value::Object(m) => {
                let mut items: Vec<(String, Value)> = m.into_iter().collect();
                items.sort_by(|a, b| a.0.cmp(&b.0));
                items.into_iter().map(|(k, e)| (Val::str(k), Val::from_json(Cow::Owned(e)))).collect()
            }
            _ => Vec::new(),
        },
        other => {
            let shown = other.print().unwrap_or_else(|_| other.type_name().to_owned());
            return Err(format!("range can't iterate over {shown}"));
        }
    })
}
