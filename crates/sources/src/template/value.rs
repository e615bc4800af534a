//! The values a template works on, and how Go's text/template prints, tests and compares them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// A value while a template is rendered: one of the object's parts, a JSON value (raw sections,
/// `fromJson`) or what a function returned.
#[derive(Debug, Clone)]
pub(super) enum Val<'a> {
    /// Go's "no value": a missing field or key. Rendered empty (Go prints `<no value>`).
    Missing,
    /// A JSON null (Go's nil interface).
    Nil,
    /// The object itself (the root `.`, `$`).
    Root,
    /// `.ObjectMeta`.
    Meta,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// `.Labels` or `.Annotations` (Go's `map[string]string`; `None` is a nil map).
    StrMap(Option<&'a BTreeMap<String, String>>),
    /// A JSON list or object.
    Json(Cow<'a, Value>),
}

impl<'a> Val<'a> {
    pub fn str(s: impl Into<Cow<'a, str>>) -> Self {
        Val::Str(s.into())
    }

    /// A JSON value as Go sees it after decoding: numbers are integers when they are written so
    /// (Kubernetes's decoding; `fromJson` makes every number a float, as Go's `encoding/json`).
    pub fn from_json(v: Cow<'a, Value>) -> Self {
        match v {
            Cow::Borrowed(b) => match b {
                Value::String(s) => Val::Str(Cow::Borrowed(s)),
                Value::Array(_) | Value::Object(_) => Val::Json(Cow::Borrowed(b)),
                other => Val::json_scalar(other),
            },
            Cow::Owned(o) => match o {
                Value::String(s) => Val::Str(Cow::Owned(s)),
                o @ (Value::Array(_) | Value::Object(_)) => Val::Json(Cow::Owned(o)),
                other => Val::json_scalar(&other),
            },
        }
    }

    fn json_scalar(v: &Value) -> Self {
        match v {
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) if n.is_f64() => Val::Float(n.as_f64().unwrap_or_default()),
            Value::Number(n) => n.as_i64().map_or_else(|| Val::Float(n.as_f64().unwrap_or_default()), Val::Int),
            _ => Val::Nil,
        }
    }

    /// Go's name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Missing | Val::Nil => "nil",
            Val::Root => "object",
            Val::Meta => "ObjectMeta",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::StrMap(_) => "map[string]string",
            Val::Json(j) if j.is_array() => "[]interface {}",
            Val::Json(_) => "map[string]interface {}",
        }
    }

    /// Go's truth: false, 0, an empty string, list or map, nil and no value are false.
    pub fn truth(&self) -> bool {
        match self {
            Val::Missing | Val::Nil => false,
            Val::Root | Val::Meta => true,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::StrMap(m) => m.is_some_and(|m| !m.is_empty()),
            Val::Json(j) => match &**j {
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => false,
            },
        }
    }

    /// Whether Go sees no value here (nil or missing).
    pub fn is_nil(&self) -> bool {
        matches!(self, Val::Missing | Val::Nil)
    }

    /// The value as it is printed (`fmt.Print`), except that nil and a missing value are empty.
    pub fn print(&self) -> Result<String, String> {
        let mut out = String::new();
        match self {
            Val::Missing | Val::Nil => {}
            Val::Root | Val::Meta => return Err("a template cannot print the whole object".into()),
            other => write_value(&mut out, other, 'v'),
        }
        Ok(out)
    }
}

/// Writes `v` as `fmt` does with `%v` (or `%s`/`%d`, applied to the elements of lists and maps).
pub(super) fn write_value(out: &mut String, v: &Val<'_>, verb: char) {
    match v {
        // Inside a list or a map (a nil at the top is empty, see `print` and `printf`).
        Val::Missing | Val::Nil => out.push_str("<nil>"),
        Val::Root | Val::Meta => out.push_str("{…}"),
        Val::Bool(b) if verb == 'v' => {
            let _ = write!(out, "{b}");
        }
        Val::Int(i) if matches!(verb, 'v' | 'd') => {
            let _ = write!(out, "{i}");
        }
        Val::Float(f) if verb == 'v' => out.push_str(&go_float(*f)),
        Val::Str(s) if matches!(verb, 'v' | 's') => out.push_str(s),
        Val::StrMap(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.iter().flat_map(|m| m.iter()).enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, &Val::str(k.as_str()), verb);
                out.push(':');
                write_value(out, &Val::str(x.as_str()), verb);
            }
            out.push(']');
        }
        Val::Json(j) => write_json(out, j, verb),
        other => {
            let _ = write!(out, "%!{verb}({}=", other.type_name());
            write_value(out, other, 'v');
            out.push(')');
        }
    }
}

fn write_json(out: &mut String, j: &Value, verb: char) {
    match j {
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_json(out, x, verb);
            }
            out.push(']');
        }
        Value::Object(m) => {
            // Go prints a map with its keys sorted.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, &Val::str(k.as_str()), verb);
                out.push(':');
                write_json(out, &m[k], verb);
            }
            out.push(']');
        }
        // Go decodes an integer of an object as int64.
        Value::Number(n) if n.is_i64() && !matches!(verb, 'v' | 'd') => {
            let _ = write!(out, "%!{verb}(int64={n})");
        }
        scalar => write_value(out, &Val::from_json(Cow::Borrowed(scalar)), verb),
    }
}

/// A float as Go's `%v` prints it: the shortest digits, with an exponent below 1e-4 and from 1e6
/// (`1e+06`, `1.5e-05`).
pub(super) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// The kinds `eq` and `lt` compare (Go's `basicKind`).
#[derive(PartialEq)]
enum Kind<'v> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'v str),
    Nil,
    Other,
}

fn kind<'v>(v: &'v Val<'_>) -> Kind<'v> {
    match v {
        Val::Missing | Val::Nil => Kind::Nil,
        Val::Bool(b) => Kind::Bool(*b),
        Val::Int(i) => Kind::Int(*i),
        Val::Float(f) => Kind::Float(*f),
        Val::Str(s) => Kind::Str(s),
        _ => Kind::Other,
    }
}

/// Go's `eq a b`: values of one basic kind compare; nil equals nil; other pairs are an error
/// unless one side is nil.
pub(super) fn equal(a: &Val<'_>, b: &Val<'_>) -> Result<bool, String> {
    match (kind(a), kind(b)) {
        (Kind::Other, _) | (_, Kind::Other) if !a.is_nil() && !b.is_nil() => {
            Err(format!("non-comparable types {} and {}", a.type_name(), b.type_name()))
        }
        (Kind::Nil, Kind::Nil) => Ok(true),
        (Kind::Nil, _) | (_, Kind::Nil) => Ok(false),
        (x, y) if std::mem::discriminant(&x) == std::mem::discriminant(&y) => Ok(x == y),
        _ => Err(format!("incompatible types for comparison: {} and {}", a.type_name(), b.type_name())),
    }
}

/// Go's `lt a b`: integers, floats and strings of one kind.
pub(super) fn less(a: &Val<'_>, b: &Val<'_>) -> Result<bool, String> {
    match (kind(a), kind(b)) {
        (Kind::Int(x), Kind::Int(y)) => Ok(x < y),
        (Kind::Float(x), Kind::Float(y)) => Ok(x < y),
        (Kind::Str(x), Kind::Str(y)) => Ok(x < y),
        (Kind::Bool(_), Kind::Bool(_)) | (Kind::Nil | Kind::Other, _) | (_, Kind::Nil | Kind::Other) => {
            Err("invalid type for comparison".into())
        }
        _ => Err(format!("incompatible types for comparison: {} and {}", a.type_name(), b.type_name())),
    }
}
