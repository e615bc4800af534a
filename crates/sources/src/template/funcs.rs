//! The functions a template may call: upstream's (`contains`, `trimPrefix`, `trimSuffix`, `trim`,
//! `toLower`, `replace`, `isIPv4`, `isIPv6`, `isSource`, `hasKey`, `fromJson`), exodns's `toUpper`,
//! and Go's builtins (`index`, `slice`, `len`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`,
//! `not`, `printf`, `print`, `println`). `and` and `or` are evaluated by the executor (they
//! stop at the first deciding argument); the rest here.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::parse::{Ty, ty_name};
use super::value::{Val, equal, go_float, less, write_value};
use crate::kind::SourceName;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    Contains,
    TrimPrefix,
    TrimSuffix,
    Trim,
    ToLower,
    ToUpper,
    Replace,
    IsIpv4,
    IsIpv6,
    IsSource,
    HasKey,
    FromJson,
    Index,
    Slice,
    Len,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    Printf,
    Print,
    Println,
}

const FUNCS: &[(&str, Func)] = &[
    ("contains", Func::Contains),
    ("trimPrefix", Func::TrimPrefix),
    ("trimSuffix", Func::TrimSuffix),
    ("trim", Func::Trim),
    ("toLower", Func::ToLower),
    ("toUpper", Func::ToUpper),
    ("replace", Func::Replace),
    ("isIPv4", Func::IsIpv4),
    ("isIPv6", Func::IsIpv6),
    ("isSource", Func::IsSource),
    ("hasKey", Func::HasKey),
    ("fromJson", Func::FromJson),
    ("index", Func::Index),
    ("slice", Func::Slice),
    ("len", Func::Len),
    ("eq", Func::Eq),
    ("ne", Func::Ne),
    ("lt", Func::Lt),
    ("le", Func::Le),
    ("gt", Func::Gt),
    ("ge", Func::Ge),
    ("and", Func::And),
    ("or", Func::Or),
    ("not", Func::Not),
    ("printf", Func::Printf),
    ("print", Func::Print),
    ("println", Func::Println),
];

/// Upstream's source names (`isSource` refuses others, as upstream's does), besides exodns's own.
const UPSTREAM_SOURCES: &[&str] = &[
    "node",
    "service",
    "ingress",
    "pod",
    "gateway-httproute",
    "gateway-grpcroute",
    "gateway-tlsroute",
    "gateway-tcproute",
    "gateway-udproute",
    "istio-gateway",
    "istio-virtualservice",
    "ambassador-host",
    "contour-httpproxy",
    "gloo-proxy",
    "traefik-proxy",
    "openshift-route",
    "fake",
    "empty",
    "connector",
    "crd",
    "skipper-routegroup",
    "kong-tcpingress",
    "f5-virtualserver",
    "f5-transportserver",
    "unstructured",
];

pub(super) fn lookup(name: &str) -> Option<Func> {
    FUNCS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

pub(super) fn name(f: Func) -> &'static str {
    FUNCS.iter().find(|(_, g)| *g == f).map_or("?", |(n, _)| n)
}

pub(super) fn unknown(name: &str) -> String {
    let keyword = ["if", "else", "end", "range", "with", "break", "continue"].contains(&name);
    if keyword {
        return format!("unexpected {name:?} in a pipeline");
    }
    let known: Vec<&str> = FUNCS.iter().map(|(n, _)| *n).collect();
    format!("function {name:?} is not supported; exodns knows {}", known.join(", "))
}

/// Whether `isSource` may name `name` (case-insensitive): upstream's sources and exodns's.
pub(super) fn known_source(name: &str) -> bool {
    UPSTREAM_SOURCES.iter().any(|s| s.eq_ignore_ascii_case(name))
        || SourceName::all().any(|s| s.as_str().eq_ignore_ascii_case(name))
}

pub(super) fn unknown_source(name: &str) -> String {
    format!("isSource: unknown source {name:?} (valid: {})", UPSTREAM_SOURCES.join(", "))
}

/// Checks a call's arguments (their types, the piped value last) before rendering; the type of
/// its result.
pub(super) fn check(f: Func, args: &[Ty]) -> Result<Ty, String> {
    use Func::*;
    let (min, max) = match f {
        Trim | ToLower | ToUpper | IsIpv4 | IsIpv6 | IsSource | FromJson | Len | Not => (1, 1),
        Contains | TrimPrefix | TrimSuffix | HasKey | Ne | Lt | Le | Gt | Ge => (2, 2),
        Replace => (3, 3),
        Slice => (1, 3),
        Index | And | Or | Printf => (1, usize::MAX),
        Eq => (2, usize::MAX),
        Print | Println => (0, usize::MAX),
    };
    if args.len() < min || args.len() > max {
        let want = if min == max { format!("{min}") } else { format!("at least {min}") };
        return Err(format!("takes {want} arguments, got {}", args.len()));
    }
    let whole = |t: &Ty| matches!(t, Ty::Root | Ty::Meta);
    let not_string = |t: &Ty| !matches!(t, Ty::Str | Ty::Any);
    let strings = |a: &[Ty]| {
        if a.iter().any(not_string) { Err("takes strings, not maps or numbers".to_owned()) } else { Ok(()) }
    };
    Ok(match f {
        Contains | IsIpv4 | IsIpv6 | IsSource => strings(args).map(|_| Ty::Bool)?,
        TrimPrefix | TrimSuffix | Trim | ToLower | ToUpper | Replace => strings(args).map(|_| Ty::Str)?,
        FromJson => strings(args).map(|_| Ty::Any)?,
        HasKey => {
            if !matches!(args[0], Ty::StrMap | Ty::Any) {
                return Err(format!("takes .Labels or .Annotations and a key, not {}", ty_name(args[0])));
            }
            strings(&args[1..]).map(|_| Ty::Bool)?
        }
        Index => match (args[0], &args[1..]) {
            (Ty::StrMap, [Ty::Str | Ty::Any]) => Ty::Str,
            (Ty::StrMap, _) => return Err("takes .Labels or .Annotations and one key (a string)".into()),
            (Ty::Any, keys) if keys.iter().all(|k| matches!(k, Ty::Str | Ty::Int | Ty::Any)) => Ty::Any,
            (Ty::Str, [Ty::Int | Ty::Any]) => Ty::Int,
            _ => return Err("takes a map and keys, or a list and positions".into()),
        },
        Slice => match args[0] {
            Ty::Str if args[1..].iter().all(|k| matches!(k, Ty::Int | Ty::Any)) => Ty::Str,
            Ty::Any if args[1..].iter().all(|k| matches!(k, Ty::Int | Ty::Any)) => Ty::Any,
            _ => return Err("takes a string or a list and positions".into()),
        },
        Len => match args[0] {
            Ty::Str | Ty::StrMap | Ty::Any => Ty::Int,
            other => return Err(format!("len of {}", ty_name(other))),
        },
        Eq | Ne | Lt | Le | Gt | Ge => {
            if args.iter().any(whole) {
                return Err("cannot compare the whole object".into());
            }
            Ty::Bool
        }
        Not => Ty::Bool,
        And | Or => {
            if args.iter().all(|t| *t == args[0]) {
                args[0]
            } else {
                Ty::Any
            }
        }
        Printf => {
            if not_string(&args[0]) {
                return Err("the format must be a string".into());
            }
            Ty::Str
        }
        Print | Println => Ty::Str,
    })
}

/// A string argument. A missing value or nil is empty (Go fails there: but a field not filled
/// yet is not a broken template).
pub(super) fn string_arg<'v>(v: &'v Val<'_>) -> Result<&'v str, String> {
    match v {
        Val::Str(s) => Ok(s),
        Val::Missing | Val::Nil => Ok(""),
        other => Err(format!("wrong type for value; expected string; got {}", other.type_name())),
    }
}

/// Calls `f` (not `and`/`or`) on evaluated arguments; `source` is the source rendering.
pub(super) fn apply<'a>(f: Func, mut args: Vec<Val<'a>>, source: &str) -> Result<Val<'a>, String> {
    use Func::*;
    let s = |i: usize, args: &[Val<'_>]| string_arg(&args[i]).map(str::to_owned);
    Ok(match f {
        Contains => Val::Bool(string_arg(&args[0])?.contains(string_arg(&args[1])?)),
        TrimPrefix => {
            let (t, p) = (s(0, &args)?, s(1, &args)?);
            Val::str(t.strip_prefix(p.as_str()).unwrap_or(&t).to_owned())
        }
        TrimSuffix => {
            let (t, p) = (s(0, &args)?, s(1, &args)?);
            Val::str(t.strip_suffix(p.as_str()).unwrap_or(&t).to_owned())
        }
        // Go's strings.TrimSpace: Unicode white space.
        Trim => Val::str(string_arg(&args[0])?.trim().to_owned()),
        ToLower => Val::str(string_arg(&args[0])?.to_lowercase()),
        ToUpper => Val::str(string_arg(&args[0])?.to_uppercase()),
        Replace => Val::str(string_arg(&args[2])?.replace(string_arg(&args[0])?, string_arg(&args[1])?)),
        IsIpv4 => Val::Bool(string_arg(&args[0])?.parse::<Ipv4Addr>().is_ok()),
        IsIpv6 => Val::Bool(string_arg(&args[0])?.parse::<Ipv6Addr>().is_ok()),
        IsSource => {
            let want = string_arg(&args[0])?;
            if !known_source(want) {
                return Err(unknown_source(want));
            }
            Val::Bool(source.eq_ignore_ascii_case(want))
        }
        HasKey => match &args[0] {
            Val::StrMap(m) => {
                let key = string_arg(&args[1])?;
                Val::Bool(m.is_some_and(|m| m.contains_key(key)))
            }
            Val::Missing | Val::Nil => Val::Bool(false),
            other => {
                return Err(format!("wrong type for value; expected map[string]string; got {}", other.type_name()));
            }
        },
        FromJson => from_json(string_arg(&args[0])?),
        Index => {
            let keys = args.split_off(1);
            let mut item = args.pop().unwrap_or(Val::Missing);
            if item.is_nil() {
                return Err("index of untyped nil".into());
            }
            for k in &keys {
                item = index(item, k)?;
            }
            item
        }
        Slice => {
            let idx = args.split_off(1);
            slice(args.pop().unwrap_or(Val::Missing), &idx)?
        }
        Len => Val::Int(len(&args[0])?),
        Eq => {
            let mut any = false;
            for b in &args[1..] {
                if equal(&args[0], b)? {
                    any = true;
                    break;
                }
            }
            Val::Bool(any)
        }
        Ne => Val::Bool(!equal(&args[0], &args[1])?),
        Lt => Val::Bool(less(&args[0], &args[1])?),
        Le => Val::Bool(less(&args[0], &args[1])? || equal(&args[0], &args[1])?),
        Gt => Val::Bool(!less(&args[0], &args[1])? && !equal(&args[0], &args[1])?),
        Ge => Val::Bool(!less(&args[0], &args[1])?),
        Not => Val::Bool(!args[0].truth()),
        Printf => {
            let format = string_arg(&args[0])?.to_owned();
            Val::str(printf(&format, &args[1..]))
        }
        Print => Val::str(print(&args, false)),
        Println => Val::str(print(&args, true)),
        And | Or => unreachable!("and and or are evaluated by the executor"),
    })
}

/// Go's `encoding/json` into `any`: every number a float; nil when the text is not JSON.
fn from_json(text: &str) -> Val<'static> {
    fn floats(v: Value) -> Value {
        match v {
            Value::Number(n) => n.as_f64().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number),
            Value::Array(a) => Value::Array(a.into_iter().map(floats).collect()),
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, floats(v))).collect()),
            other => other,
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Val::from_json(Cow::Owned(floats(v))),
        Err(_) => Val::Nil,
    }
}

/// A position for `index` and `slice`.
fn position(k: &Val<'_>) -> Result<i64, String> {
    match k {
        Val::Int(i) => Ok(*i),
        Val::Missing | Val::Nil => Err("cannot index slice/array with nil".into()),
        other => Err(format!("cannot index slice/array with type {}", other.type_name())),
    }
}

fn in_range(i: i64, len: usize) -> Result<usize, String> {
    usize::try_from(i).ok().filter(|i| *i < len).ok_or_else(|| format!("index out of range: {i}"))
}

/// One step of `index`: a map key or a list (or string) position.
pub(super) fn index<'a>(item: Val<'a>, key: &Val<'_>) -> Result<Val<'a>, String> {
    Ok(match item {
        Val::Missing | Val::Nil => return Err("index of nil pointer".into()),
        Val::StrMap(m) => {
            let k = match key {
                Val::Str(k) => k,
                Val::Missing | Val::Nil => return Err("value is nil; should be of type string".into()),
                other => return Err(format!("value has type {}; should be string", other.type_name())),
            };
            Val::Str(m.and_then(|m| m.get(k.as_ref())).map_or(Cow::Borrowed(""), |v| Cow::Borrowed(v.as_str())))
        }
        Val::Json(j) if j.is_object() => {
            let k = match key {
                Val::Str(k) => k,
                Val::Missing | Val::Nil => return Err("value is nil; should be of type string".into()),
                other => return Err(format!("value has type {}; should be string", other.type_name())),
            };
            // A missing key gives Go's zero value of interface{}: nil.
            match j {
                Cow::Borrowed(b) => b.get(k.as_ref()).map_or(Val::Nil, |v| Val::from_json(Cow::Borrowed(v))),
                Cow::Owned(Value::Object(mut m)) => {
                    m.remove(k.as_ref()).map_or(Val::Nil, |v| Val::from_json(Cow::Owned(v)))
                }
                Cow::Owned(_) => Val::Nil,
            }
        }
        Val::Json(j) => {
            let len = j.as_array().map_or(0, Vec::len);
            let i = in_range(position(key)?, len)?;
            match j {
                Cow::Borrowed(b) => Val::from_json(Cow::Borrowed(&b[i])),
                Cow::Owned(Value::Array(mut a)) => Val::from_json(Cow::Owned(a.swap_remove(i))),
                Cow::Owned(_) => Val::Nil,
            }
        }
        Val::Str(s) => Val::Int(i64::from(s.as_bytes()[in_range(position(key)?, s.len())?])),
        other => return Err(format!("can't index item of type {}", other.type_name())),
    })
}

/// Go's `slice x i j`: a substring (byte positions on character boundaries) or a sub-list.
fn slice<'a>(item: Val<'a>, idx: &[Val<'_>]) -> Result<Val<'a>, String> {
    let len = match &item {
        Val::Str(s) => s.len(),
        Val::Json(j) if j.is_array() => j.as_array().map_or(0, Vec::len),
        Val::Missing | Val::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut bounds = [0, len];
    for (n, k) in idx.iter().take(2).enumerate() {
        let i = position(k)?;
        bounds[n] = usize::try_from(i).ok().filter(|i| *i <= len).ok_or_else(|| format!("index out of range: {i}"))?;
    }
    let [from, to] = bounds;
    if from > to {
        return Err(format!("invalid slice index: {from} > {to}"));
    }
    Ok(match item {
        Val::Str(s) => {
            let sub = s.get(from..to).ok_or("a slice of a string must cut at character boundaries")?;
            Val::str(sub.to_owned())
        }
        Val::Json(j) => Val::Json(Cow::Owned(Value::Array(j.as_array().map_or(&[][..], |a| &a[from..to]).to_vec()))),
        _ => Val::Missing,
    })
}

fn len(v: &Val<'_>) -> Result<i64, String> {
    let n = match v {
        Val::Str(s) => s.len(),
        Val::StrMap(m) => m.map_or(0, |m| m.len()),
        Val::Json(j) => j.as_array().map_or_else(|| j.as_object().map_or(0, |m| m.len()), Vec::len),
        Val::Missing => return Err("len of a missing value".into()),
        Val::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// `fmt.Sprint`: spaces between operands when neither is a string (`fmt.Sprintln`: always, and
/// a newline). Nil and missing values are empty.
fn print(args: &[Val<'_>], line: bool) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = |v: &Val<'_>| matches!(v, Val::Str(_));
        if i > 0 && (line || (!is_str(a) && !is_str(&args[i - 1]))) {
            out.push(' ');
        }
        if !a.is_nil() {
            write_value(&mut out, a, 'v');
        }
    }
    if line {
        out.push('\n');
    }
    out
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %q %x %X %t %f %e %g %%`, with the
/// flags `-`, `+`, `0`, a width and a precision; Go's `%!verb(type=value)`, `%!verb(MISSING)` and
/// `%!(EXTRA …)` for mismatches. A nil or missing argument prints empty.
pub(super) fn printf(format: &str, args: &[Val<'_>]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero) = (false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0usize).saturating_mul(10).saturating_add(d as usize).min(1024));
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p.saturating_mul(10).saturating_add(d as usize).min(1024);
                chars.next();
            }
            precision = Some(p);
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let text = format_one(arg, verb, plus, precision);
        let numeric = matches!(arg, Val::Int(_) | Val::Float(_));
        pad(&mut out, &text, width, minus, zero && numeric && !minus);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}=", a.type_name());
            write_value(&mut out, a, 'v');
        }
        out.push(')');
    }
    out
}

fn pad(out: &mut String, text: &str, width: Option<usize>, left: bool, zero: bool) {
    let n = text.chars().count();
    let fill = width.unwrap_or(0).saturating_sub(n);
    if left {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if zero {
        let (sign, digits) = match text.strip_prefix(['-', '+']) {
            Some(d) => (&text[..1], d),
            None => ("", text),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

fn format_one(arg: &Val<'_>, verb: char, plus: bool, precision: Option<usize>) -> String {
    let mut out = String::new();
    match (verb, arg) {
        (_, Val::Missing | Val::Nil) => {}
        ('v' | 'd', Val::Int(i)) => {
            let _ = write!(out, "{}{i}", if plus && *i >= 0 { "+" } else { "" });
        }
        ('s' | 'v', Val::Str(s)) => match precision {
            Some(p) => out.extend(s.chars().take(p)),
            None => out.push_str(s),
        },
        ('q', Val::Str(s)) => out.push_str(&quote(s)),
        ('q', Val::Int(i)) => {
            let c = u32::try_from(*i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
            let q = quote(&c.to_string());
            let _ = write!(out, "'{}'", q[1..q.len() - 1].replace("\\\"", "\""));
        }
        ('x' | 'X', Val::Str(s)) => {
            for b in s.bytes() {
                let _ = if verb == 'x' { write!(out, "{b:02x}") } else { write!(out, "{b:02X}") };
            }
        }
        ('x', Val::Int(i)) => {
            let _ = write!(out, "{}{:x}", if *i < 0 { "-" } else { "" }, i.unsigned_abs());
        }
        ('X', Val::Int(i)) => {
            let _ = write!(out, "{}{:X}", if *i < 0 { "-" } else { "" }, i.unsigned_abs());
        }
        ('t' | 'v', Val::Bool(b)) => {
            let _ = write!(out, "{b}");
        }
        ('f' | 'F', Val::Float(f)) => {
            let _ = write!(out, "{}{f:.*}", if plus && *f >= 0.0 { "+" } else { "" }, precision.unwrap_or(6));
        }
        ('e', Val::Float(f)) => {
            let e = format!("{f:.*e}", precision.unwrap_or(6));
            let (m, x) = e.split_once('e').unwrap_or((&e, "0"));
            let x: i32 = x.parse().unwrap_or(0);
            let _ = write!(out, "{m}e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs());
        }
        ('g' | 'v', Val::Float(f)) => out.push_str(&go_float(*f)),
        ('s' | 'v' | 'd', v @ (Val::Json(_) | Val::StrMap(_))) => write_value(&mut out, v, verb),
        (_, other) => {
            let _ = write!(out, "%!{verb}({}=", other.type_name());
            write_value(&mut out, other, 'v');
            out.push(')');
        }
    }
    out
}

/// Go's `strconv.Quote`.
fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
