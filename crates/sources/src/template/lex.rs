//! Go's text/template lexing: text, `{{ actions }}` with `{{-`/`-}}` trimming and
//! `{{/* comments */}}`, and the tokens of an action.

/// A token, with its byte position and whether space came before it (`$x.a` is one operand,
/// `$x .a` two).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub pos: usize,
    pub spaced: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Text(String),
    Open,
    Close,
    /// `.` alone.
    Dot,
    /// `.name` (without the dot).
    Field(String),
    /// `$` or `$name` (with the `$`).
    Var(String),
    /// A function name or a keyword.
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Comma,
    Declare,
    Assign,
}

const SPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// The tokens of a whole template.
pub(super) fn lex(src: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut trim_next = false;
    while pos < src.len() {
        let rest = &src[pos..];
        let open = rest.find("{{").unwrap_or(rest.len());
        let after = &rest[open..];
        let trim_before = after.len() > 3 && after[2..].starts_with('-') && after[3..].starts_with(SPACE);
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start_matches(SPACE);
        }
        if trim_before {
            text = text.trim_end_matches(SPACE);
        }
        if !text.is_empty() {
            out.push(Token { tok: Tok::Text(text.to_owned()), pos, spaced: false });
        }
        if open == rest.len() {
            break;
        }
        let start = pos + open;
        pos = start + if trim_before { 3 } else { 2 };
        // A comment: `{{/*` … `*/}}`, trim markers allowed.
        let body = src[pos..].trim_start_matches(SPACE);
        if body.starts_with("/*") {
            let c = pos + (src[pos..].len() - body.len());
            let Some(end) = src[c..].find("*/") else { return Err(format!("unclosed comment at byte {start}")) };
            let tail = &src[c + end + 2..];
            let t = tail.trim_start_matches(SPACE);
            if let Some(after) = t.strip_prefix("}}") {
                trim_next = false;
                pos = src.len() - after.len();
            } else if t.len() < tail.len() && t.starts_with("-}}") {
                trim_next = true;
                pos = src.len() - t.len() + 3;
            } else {
                return Err(format!("the comment at byte {start} ends before the closing '}}}}'"));
            }
            continue;
        }
        out.push(Token { tok: Tok::Open, pos: start, spaced: false });
        let (end, trim) = lex_action(src, pos, &mut out)?;
        trim_next = trim;
        pos = end;
    }
    Ok(out)
}

/// The tokens of one action from `pos` to its `}}`; returns the position after it and whether
/// it ends with `-}}`.
fn lex_action(src: &str, mut pos: usize, out: &mut Vec<Token>) -> Result<(usize, bool), String> {
    let start = pos;
    let mut spaced = true;
    loop {
        let rest = &src[pos..];
        let Some(c) = rest.chars().next() else {
            return Err(format!("an action opened at byte {} is not closed with '}}}}'", start.saturating_sub(2)));
        };
        if SPACE.contains(&c) {
            let t = rest.trim_start_matches(SPACE);
            if t.starts_with("-}}") {
                out.push(Token { tok: Tok::Close, pos, spaced: true });
                return Ok((src.len() - t.len() + 3, true));
            }
            pos = src.len() - t.len();
            spaced = true;
            continue;
        }
        if rest.starts_with("}}") {
            out.push(Token { tok: Tok::Close, pos, spaced });
            return Ok((pos + 2, false));
        }
        let (tok, len) = lex_token(rest).map_err(|e| format!("{e} at byte {pos}"))?;
        out.push(Token { tok, pos, spaced });
        spaced = false;
        pos += len;
    }
}

/// Characters that end a name.
fn ends_name(c: char) -> bool {
    SPACE.contains(&c) || "|()\"'`,$=:{}.".contains(c)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// One token at the start of `s` and its length.
fn lex_token(s: &str) -> Result<(Tok, usize), String> {
    let mut chars = s.chars();
    let c = chars.next().unwrap_or(' ');
    let next = chars.next();
    Ok(match c {
        '|' => (Tok::Pipe, 1),
        '(' => (Tok::LParen, 1),
        ')' => (Tok::RParen, 1),
        ',' => (Tok::Comma, 1),
        '=' => (Tok::Assign, 1),
        ':' if next == Some('=') => (Tok::Declare, 2),
        '"' => {
            let (body, len) = quoted(s, '"')?;
            (Tok::Str(unescape(body)?), len)
        }
        '`' => {
            let end = s[1..].find('`').ok_or("unclosed raw string")?;
            (Tok::Str(s[1..1 + end].to_owned()), end + 2)
        }
        '\'' => {
            let (body, len) = quoted(s, '\'')?;
            let text = unescape(body)?;
            let mut cs = text.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => (Tok::Int(c as i64), len),
                _ => return Err(format!("malformed character constant {}", &s[..len])),
            }
        }
        '.' if next.is_some_and(|n| !ends_name(n)) => {
            let len = 1 + s[1..].find(ends_name).unwrap_or(s.len() - 1);
            if s[1..len].chars().next().is_some_and(|c| c.is_ascii_digit()) {
                return Err(format!("bad field name {:?}", &s[..len]));
            }
            (Tok::Field(s[1..len].to_owned()), len)
        }
        '.' => (Tok::Dot, 1),
        '$' => {
            let len = 1 + s[1..].find(|c| !is_ident(c)).unwrap_or(s.len() - 1);
            (Tok::Var(s[..len].to_owned()), len)
        }
        c if c.is_ascii_digit() || (matches!(c, '+' | '-') && next.is_some_and(|n| n.is_ascii_digit())) => number(s)?,
        c if is_ident(c) => {
            let len = s.find(|c| !is_ident(c)).unwrap_or(s.len());
            let word = &s[..len];
            let tok = match word {
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                "nil" => Tok::Nil,
                w => Tok::Ident(w.to_owned()),
            };
            (tok, len)
        }
        c => return Err(format!("bad character {c:?} in an action")),
    })
}

/// The body of a quoted literal starting at `s[0]` and the literal's length.
fn quoted(s: &str, q: char) -> Result<(&str, usize), String> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '\n' => break,
            '\\' if !escaped => escaped = true,
            c if c == q && !escaped => return Ok((&s[1..i], i + 1)),
            _ => escaped = false,
        }
    }
    Err(format!("unterminated quoted literal {}", s.lines().next().unwrap_or_default()))
}

/// Go's escapes in a quoted literal: `\n \t \r \\ \" \' \a \b \f \v`, `\xHH`, `\uHHHH`,
/// `\UHHHHHHHH` and octal `\OOO`.
fn unescape(body: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or("a string ends in '\\'")?;
        let simple = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'v' => Some('\x0b'),
            '\\' | '"' | '\'' => Some(e),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let (digits, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return Err(format!("unknown escape sequence \\{e}")),
        };
        let mut code: String = if radix == 8 { e.to_string() } else { String::new() };
        for _ in 0..digits {
            code.push(chars.next().ok_or("a short escape sequence")?);
        }
        let n = u32::from_str_radix(&code, radix).map_err(|_| format!("bad escape sequence \\{e}{code}"))?;
        out.push(char::from_u32(n).ok_or_else(|| format!("escape sequence \\{e}{code} is not a character"))?);
    }
    Ok(out)
}

/// A number: an integer (decimal, `0x`, `0o`, `0b`, `_` separators) or a float.
fn number(s: &str) -> Result<(Tok, usize), String> {
    let bytes = s.as_bytes();
    let mut len = usize::from(matches!(bytes[0], b'+' | b'-'));
    let hex = s[len..].starts_with("0x") || s[len..].starts_with("0X");
    while len < bytes.len() {
        let b = bytes[len];
        let exp_sign = matches!(b, b'+' | b'-') && !hex && matches!(bytes[len - 1], b'e' | b'E');
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exp_sign {
            len += 1;
        } else {
            break;
        }
    }
    let text = &s[..len];
    let (sign, digits) = match text.strip_prefix('-') {
        Some(d) => (-1i32, d),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let clean = digits.replace('_', "");
    let lower = clean.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Ok((Tok::Int(i64::from(sign) * i), len));
    }
    match lower.parse::<f64>() {
        Ok(f) if f.is_finite() && !lower.starts_with("0x") && !lower.contains("inf") && !lower.contains("nan") => {
            Ok((Tok::Float(f64::from(sign) * f), len))
        }
        _ => Err(format!("bad number syntax: {text:?}")),
    }
}
