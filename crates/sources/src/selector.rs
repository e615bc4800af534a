//! Kubernetes label selectors: the text syntax of `--label-filter` and `--annotation-filter`
//! (`a=b,c!=d,e in (x,y),!f,g`) and the structured `LabelSelector` of Gateway `allowedRoutes`.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Longest label value and name part of a key (RFC 1123 label).
const MAX_PART: usize = 63;
/// Longest DNS prefix of a key (`example.com/` in `example.com/name`).
const MAX_PREFIX: usize = 253;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Exists,
    DoesNotExist,
    In,
    NotIn,
    Gt,
    Lt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, set: &BTreeMap<String, String>) -> bool {
        let value = set.get(&self.key);
        match self.op {
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
            Op::In => value.is_some_and(|v| self.values.contains(v)),
            Op::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Op::Gt | Op::Lt => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Op::Gt { have > want } else { have < want }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Op::Exists => write!(f, "{}", self.key),
            Op::DoesNotExist => write!(f, "!{}", self.key),
            Op::In if self.values.len() == 1 => write!(f, "{}={}", self.key, self.values[0]),
            Op::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Op::NotIn if self.values.len() == 1 => write!(f, "{}!={}", self.key, self.values[0]),
            Op::NotIn => write!(f, "{} notin ({})", self.key, self.values.join(",")),
            Op::Gt => write!(f, "{}>{}", self.key, self.values[0]),
            Op::Lt => write!(f, "{}<{}", self.key, self.values[0]),
        }
    }
}

/// A parsed selector. The empty selector matches everything; [`Selector::nothing`] matches
/// nothing (what Kubernetes makes of a missing structured selector).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl Selector {
    /// The selector that matches every set, including the empty one.
    pub fn everything() -> Self {
        Selector::default()
    }

    /// The selector that matches no set.
    pub fn nothing() -> Self {
        Selector { requirements: Vec::new(), nothing: true }
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && !self.nothing
    }

    /// Whether the labels (or annotations) `set` satisfy every requirement.
    pub fn matches(&self, set: Option<&BTreeMap<String, String>>) -> bool {
        if self.nothing {
            return false;
        }
        if self.requirements.is_empty() {
            return true;
        }
        let empty = BTreeMap::new();
        let set = set.unwrap_or(&empty);
        self.requirements.iter().all(|r| r.matches(set))
    }

    /// Whether any requirement is about `key` (used to refuse `--ingress-class` together with an
    /// annotation filter on the ingress-class annotation, as upstream does).
    pub fn mentions(&self, key: &str) -> bool {
        self.requirements.iter().any(|r| r.key == key)
    }

    /// Parses the text syntax. The error says what is wrong and where.
    pub fn parse(input: &str) -> Result<Self, String> {
        let tokens = tokenize(input)?;
        let mut p = Parser { tokens, pos: 0 };
        let mut requirements = Vec::new();
        if p.tokens.is_empty() {
            return Ok(Selector::everything());
        }
        loop {
            requirements.push(p.requirement()?);
            match p.next() {
                None => break,
                Some(Token::Comma) => continue,
                Some(t) => return Err(format!("expected ',' or the end after a requirement, found {t}")),
            }
        }
        Ok(Selector { requirements, nothing: false })
    }

    /// Converts a structured `LabelSelector` (`matchLabels` + `matchExpressions`). `None` selects
    /// nothing; an empty selector selects everything.
    pub fn from_label_selector(selector: Option<&LabelSelector>) -> Result<Self, String> {
        let Some(sel) = selector else {
            return Ok(Selector::nothing());
        };
        let mut requirements = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            check_key(k)?;
            check_value(v)?;
            requirements.push(Requirement { key: k.clone(), op: Op::In, values: vec![v.clone()] });
        }
        for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
            check_key(&e.key)?;
            let values = e.values.clone().unwrap_or_default();
            let op = match e.operator.as_str() {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => {
                    return Err(format!(
                        "matchExpressions[{i}]: operator {other:?} is not one of In, NotIn, Exists, DoesNotExist"
                    ));
                }
            };
            match op {
                Op::In | Op::NotIn if values.is_empty() => {
                    return Err(format!("matchExpressions[{i}]: {} needs at least one value", e.operator));
                }
                Op::Exists | Op::DoesNotExist if !values.is_empty() => {
                    return Err(format!("matchExpressions[{i}]: {} takes no values", e.operator));
                }
                _ => {}
            }
            for v in &values {
                check_value(v)?;
            }
            requirements.push(Requirement { key: e.key.clone(), op, values });
        }
        Ok(Selector { requirements, nothing: false })
    }

    /// A selector requiring every `key=value` of `labels` (a Service's `spec.selector`). An empty
    /// map selects everything, as Kubernetes does.
    pub fn from_map(labels: &BTreeMap<String, String>) -> Self {
        let requirements =
            labels.iter().map(|(k, v)| Requirement { key: k.clone(), op: Op::In, values: vec![v.clone()] }).collect();
        Selector { requirements, nothing: false }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nothing {
            return f.write_str("<nothing>");
        }
        let parts: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Not,
    Eq,
    NotEq,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "{w:?}"),
            Token::Not => f.write_str("'!'"),
            Token::Eq => f.write_str("'='"),
            Token::NotEq => f.write_str("'!='"),
            Token::Gt => f.write_str("'>'"),
            Token::Lt => f.write_str("'<'"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Comma => f.write_str("','"),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | '<' | '>' | '(' | ')' | ',')
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        chars.next();
        let tok = match c {
            '!' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::NotEq
            }
            '!' => Token::Not,
            '=' => {
                if chars.peek() == Some(&'=') {
                    chars.next();
                }
                Token::Eq
            }
            '>' => Token::Gt,
            '<' => Token::Lt,
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            _ => {
                let mut w = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || is_special(n) {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                Token::Word(w)
            }
        };
        out.push(tok);
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let negated = if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            true
        } else {
            false
        };
        let key = match self.next() {
            Some(Token::Word(w)) => w,
            Some(t) => return Err(format!("expected a key, found {t}")),
            None => return Err("expected a key, found the end".into()),
        };
        check_key(&key)?;
        if negated {
            return match self.peek() {
                None | Some(Token::Comma) => Ok(Requirement { key, op: Op::DoesNotExist, values: Vec::new() }),
                Some(t) => Err(format!("'!{key}' takes no operator, found {t}")),
            };
        }
        let op = match self.peek() {
            None | Some(Token::Comma) => return Ok(Requirement { key, op: Op::Exists, values: Vec::new() }),
            Some(Token::Eq) => Op::In,
            Some(Token::NotEq) => Op::NotIn,
            Some(Token::Gt) => Op::Gt,
            Some(Token::Lt) => Op::Lt,
            Some(Token::Word(w)) if w == "in" => Op::In,
            Some(Token::Word(w)) if w == "notin" => Op::NotIn,
            Some(t) => {
                return Err(format!("after key {key:?} expected an operator (=, ==, !=, in, notin, >, <), found {t}"));
            }
        };
        let set_op = matches!(self.next(), Some(Token::Word(_)));
        let values = if set_op { self.value_set(&key)? } else { vec![self.single_value(&key, op)?] };
        if matches!(op, Op::Gt | Op::Lt) && values[0].parse::<i64>().is_err() {
            return Err(format!("{key}: '>' and '<' need an integer, found {:?}", values[0]));
        }
        Ok(Requirement { key, op, values })
    }

    fn single_value(&mut self, key: &str, op: Op) -> Result<String, String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                check_value(&w)?;
                Ok(w)
            }
            // `a=` selects an empty value, as Kubernetes allows.
            None | Some(Token::Comma) if matches!(op, Op::In | Op::NotIn) => Ok(String::new()),
            Some(t) => Err(format!("{key}: expected a value, found {t}")),
            None => Err(format!("{key}: expected a value, found the end")),
        }
    }

    fn value_set(&mut self, key: &str) -> Result<Vec<String>, String> {
        if self.next() != Some(Token::Open) {
            return Err(format!("{key}: 'in' and 'notin' need a list in parentheses, like \"{key} in (a,b)\""));
        }
        let mut values = Vec::new();
        let mut expect_value = true;
        loop {
            match self.next() {
                Some(Token::Word(w)) if expect_value => {
                    check_value(&w)?;
                    values.push(w);
                    expect_value = false;
                }
                Some(Token::Comma) if !expect_value => expect_value = true,
                // An empty element (`(a,)`) is the empty value, as Kubernetes reads it.
                Some(Token::Comma) => values.push(String::new()),
                Some(Token::Close) => {
                    if expect_value && !values.is_empty() {
                        values.push(String::new());
                    }
                    break;
                }
                Some(t) => return Err(format!("{key}: unexpected {t} in the value list")),
                None => return Err(format!("{key}: the value list is not closed with ')'")),
            }
        }
        if values.is_empty() {
            return Err(format!("{key}: the value list of 'in'/'notin' cannot be empty"));
        }
        Ok(values)
    }
}

fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_PART
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        let ok = !p.is_empty()
            && p.len() <= MAX_PREFIX
            && p.split('.').all(|l| {
                let b = l.as_bytes();
                !b.is_empty()
                    && b.len() <= MAX_PART
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            });
        if !ok {
            return Err(format!("key {key:?}: the prefix before '/' must be a lowercase DNS name"));
        }
    }
    if !is_name_part(name) {
        return Err(format!(
            "key {key:?}: the name must be 1-63 characters, letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_name_part(value) {
        Ok(())
    } else {
        Err(format!(
            "value {value:?}: must be at most 63 characters, letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_all_operators() {
        let s = Selector::parse("a=b, c!=d ,e in (x, y),!f,g,h==i,n>3,m<10,k notin (z)").unwrap();
        assert_eq!(s.to_string(), "a=b,c!=d,e in (x,y),!f,g,h=i,n>3,m<10,k!=z");
        let ok = set(&[("a", "b"), ("e", "y"), ("g", ""), ("h", "i"), ("n", "4"), ("m", "9")]);
        assert!(s.matches(Some(&ok)));
        let mut bad = ok.clone();
        bad.insert("f".into(), "1".into());
        assert!(!s.matches(Some(&bad)));
        let mut bad = ok.clone();
        bad.insert("c".into(), "d".into());
        assert!(!s.matches(Some(&bad)));
        let mut bad = ok;
        bad.insert("n".into(), "3".into());
        assert!(!s.matches(Some(&bad)));
    }

    #[test]
    fn empty_matches_everything_and_nothing_matches_nothing() {
        assert!(Selector::parse("").unwrap().matches(None));
        assert!(Selector::parse("  ").unwrap().is_empty());
        assert!(!Selector::nothing().matches(Some(&set(&[("a", "b")]))));
        assert!(!Selector::from_label_selector(None).unwrap().matches(None));
        assert!(Selector::from_label_selector(Some(&LabelSelector::default())).unwrap().matches(None));
    }

    #[test]
    fn prefixed_keys() {
        let s = Selector::parse("kubernetes.io/ingress.class in (nginx,traefik)").unwrap();
        assert!(s.matches(Some(&set(&[("kubernetes.io/ingress.class", "nginx")]))));
        assert!(s.mentions("kubernetes.io/ingress.class"));
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "a in b",
            "a in ()",
            "a in (b",
            "=b",
            "a=b=c",
            "a b",
            "!a=b",
            "a>b",
            "-a=b",
            "a=-b",
            "a,,b",
            "a=(b)",
            "Foo.COM/a=b",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn structured_selector() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
        let ls = LabelSelector {
            match_labels: Some(set(&[("team", "a")])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: "NotIn".into(),
                values: Some(vec!["prod".into()]),
            }]),
        };
        let s = Selector::from_label_selector(Some(&ls)).unwrap();
        assert!(s.matches(Some(&set(&[("team", "a")]))));
        assert!(!s.matches(Some(&set(&[("team", "a"), ("env", "prod")]))));
        let bad = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "x".into(),
                operator: "Maybe".into(),
                values: None,
            }]),
            ..Default::default()
        };
        assert!(Selector::from_label_selector(Some(&bad)).is_err());
    }
}
