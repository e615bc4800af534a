//! A decoder of Go's `encoding/gob` streams for exactly what the connector source reads: the
//! first value of a stream, a slice of structs shaped like upstream's `endpoint.Endpoint`
//! (strings, an integer, a string slice, a string map and a slice of name/value structs).
//!
//! The wire format is the one `encoding/gob`'s package documentation describes: messages, each a
//! byte count and then either a type definition (a negative type id and a `wireType`) or a value
//! (a positive type id and its encoding). Fields the receiver does not know are skipped, and
//! struct fields are matched by name, as gob's own decoder does; a field it knows must have the
//! type it expects, checked once for the type as gob checks it. Every count is checked against
//! the bytes left in its message, so no input makes it allocate much more than it read, and
//! nesting is bounded.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use exodns_core::ProviderSpecific;

use crate::types::DNSEndpointEntry;

/// The largest message accepted (upstream's decoder takes up to 1 GiB; 16 MiB holds about 80 000
/// endpoints).
pub const MAX_MESSAGE: u64 = 16 << 20;
/// The deepest nesting of values skipped (a field exodns does not read, of a recursive type).
const MAX_DEPTH: usize = 64;
/// Type ids below this are gob's own.
const FIRST_USER_ID: i64 = 64;

const BOOL: i64 = 1;
const INT: i64 = 2;
const UINT: i64 = 3;
const FLOAT: i64 = 4;
const BYTES: i64 = 5;
const STRING: i64 = 6;
const COMPLEX: i64 = 7;
const INTERFACE: i64 = 8;

/// What is wrong with a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GobError(pub String);

fn bad<T>(why: impl Into<String>) -> Result<T, GobError> {
    Err(GobError(why.into()))
}

/// A type the stream defined.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wire {
    Array {
        elem: i64,
    },
    Slice {
        elem: i64,
    },
    Struct {
        name: String,
        fields: Vec<(String, i64)>,
    },
    Map {
        key: i64,
        elem: i64,
    },
    /// A value encoded by its own method (GobEncoder, BinaryMarshaler, TextMarshaler): bytes.
    Opaque,
}

/// The bytes of one message.
struct Buf<'a> {
    b: &'a [u8],
}

impl<'a> Buf<'a> {
    fn byte(&mut self) -> Result<u8, GobError> {
        let (&first, rest) = self.b.split_first().ok_or_else(|| GobError("a message ends inside a value".into()))?;
        self.b = rest;
        Ok(first)
    }

    fn uint(&mut self) -> Result<u64, GobError> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(first.into());
        }
        // A negated byte count, then that many big-endian bytes.
        let n = first.wrapping_neg() as usize;
        if n > 8 {
            return bad(format!("an unsigned integer of {n} bytes (at most 8)"));
        }
        let mut v: u64 = 0;
        for _ in 0..n {
            v = (v << 8) | u64::from(self.byte()?);
        }
        Ok(v)
    }

    fn int(&mut self) -> Result<i64, GobError> {
        let u = self.uint()?;
        // Bit 0 says whether the rest is complemented.
        let v = (u >> 1) as i64;
        Ok(if u & 1 == 1 { !v } else { v })
    }

    /// A count of items that take at least one byte each.
    fn count(&mut self) -> Result<usize, GobError> {
        let n = self.uint()?;
        if n > self.b.len() as u64 {
            return bad(format!("a count of {n} with {} bytes left in the message", self.b.len()));
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], GobError> {
        let n = self.count()?;
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    /// A Go string: bytes, which need not be UTF-8 (such bytes become U+FFFD and the name or
    /// target holding them is refused later, on its own).
    fn string(&mut self) -> Result<String, GobError> {
        Ok(String::from_utf8_lossy(self.bytes()?).into_owned())
    }

    /// The fields of a struct value: calls `f` with each field number sent, until the end mark.
    fn fields(
        &mut self,
        n: usize,
        mut f: impl FnMut(&mut Self, usize) -> Result<(), GobError>,
    ) -> Result<(), GobError> {
        let mut field: u64 = u64::MAX; // -1: the first delta gives field 0
        loop {
            let delta = self.uint()?;
            if delta == 0 {
                return Ok(());
            }
            field = field.wrapping_add(delta);
            if field >= n as u64 {
                return bad(format!("field number {field} of a struct of {n} fields"));
            }
            f(self, field as usize)?;
        }
    }
}

/// The types a stream defined so far.
#[derive(Debug, Default)]
struct Types(HashMap<i64, Wire>);

impl Types {
    fn get(&self, id: i64) -> Result<&Wire, GobError> {
        self.0.get(&id).ok_or_else(|| GobError(format!("type id {id} is used but was never defined")))
    }

    fn describe(&self, id: i64) -> String {
        match id {
            BOOL => "bool".into(),
            INT => "int".into(),
            UINT => "uint".into(),
            FLOAT => "float".into(),
            BYTES => "[]byte".into(),
            STRING => "string".into(),
            COMPLEX => "complex".into(),
            INTERFACE => "interface".into(),
            _ => match self.0.get(&id) {
                Some(Wire::Array { .. }) => "an array".into(),
                Some(Wire::Slice { elem }) if *elem == STRING => "[]string".into(),
                Some(Wire::Slice { .. }) => "a slice".into(),
                Some(Wire::Struct { name, .. }) => format!("struct {name}"),
                Some(Wire::Map { .. }) => "a map".into(),
                Some(Wire::Opaque) => "a self-encoded value".into(),
                None => format!("type id {id}"),
            },
        }
    }

    /// Reads a type definition (`wireType`) for `id`.
    fn define(&mut self, id: i64, b: &mut Buf<'_>) -> Result<(), GobError> {
        if id < FIRST_USER_ID || self.0.contains_key(&id) {
            return bad(format!("type id {id} defined again or reserved"));
        }
        let mut wire = None;
        b.fields(7, |b, kind| {
            if wire.is_some() {
                return bad(format!("the definition of type id {id} is of two kinds"));
            }
            wire = Some(match kind {
                0 => {
                    let mut elem = None;
                    b.fields(3, |b, f| {
                        match f {
                            0 => drop(common(b)?),
                            1 => elem = Some(b.int()?),
                            _ => drop(b.int()?),
                        }
                        Ok(())
                    })?;
                    Wire::Array { elem: elem.unwrap_or(0) }
                }
                1 => {
                    let mut elem = None;
                    b.fields(2, |b, f| {
                        match f {
                            0 => drop(common(b)?),
                            _ => elem = Some(b.int()?),
                        }
                        Ok(())
                    })?;
                    Wire::Slice { elem: elem.unwrap_or(0) }
                }
                2 => {
                    let (mut name, mut fields) = (String::new(), Vec::new());
                    b.fields(2, |b, f| {
                        match f {
                            0 => name = common(b)?,
                            _ => {
                                for _ in 0..b.count()? {
                                    let (mut n, mut t) = (String::new(), 0);
                                    b.fields(2, |b, f| {
                                        match f {
                                            0 => n = b.string()?,
                                            _ => t = b.int()?,
                                        }
                                        Ok(())
                                    })?;
                                    fields.push((n, t));
                                }
                            }
                        }
                        Ok(())
                    })?;
                    Wire::Struct { name, fields }
                }
                3 => {
                    let (mut key, mut elem) = (0, 0);
                    b.fields(3, |b, f| {
                        match f {
                            0 => drop(common(b)?),
                            1 => key = b.int()?,
                            _ => elem = b.int()?,
                        }
                        Ok(())
                    })?;
                    Wire::Map { key, elem }
                }
                _ => {
                    b.fields(1, |b, _| common(b).map(drop))?;
                    Wire::Opaque
                }
            });
            Ok(())
        })?;
        let Some(wire) = wire else {
            return bad(format!("the definition of type id {id} is empty"));
        };
        self.0.insert(id, wire);
        Ok(())
    }

    /// Skips a value of type `id`.
    fn skip(&self, id: i64, b: &mut Buf<'_>, depth: usize) -> Result<(), GobError> {
        if depth > MAX_DEPTH {
            return bad(format!("values nested more than {MAX_DEPTH} deep"));
        }
        match id {
            BOOL | INT | UINT | FLOAT => b.uint().map(drop),
            BYTES | STRING => b.bytes().map(drop),
            COMPLEX => b.uint().and_then(|_| b.uint()).map(drop),
            INTERFACE => bad("an interface value (exodns reads none)"),
            _ => match self.get(id)? {
                Wire::Array { elem } | Wire::Slice { elem } => {
                    for _ in 0..b.count()? {
                        self.skip(*elem, b, depth + 1)?;
                    }
                    Ok(())
                }
                Wire::Map { key, elem } => {
                    for _ in 0..b.count()? {
                        self.skip(*key, b, depth + 1)?;
                        self.skip(*elem, b, depth + 1)?;
                    }
                    Ok(())
                }
                Wire::Struct { fields, .. } => b.fields(fields.len(), |b, f| self.skip(fields[f].1, b, depth + 1)),
                Wire::Opaque => b.bytes().map(drop),
            },
        }
    }

    /// The element type of a slice type, if `id` is one.
    fn slice_of(&self, id: i64) -> Option<i64> {
        match self.0.get(&id) {
            Some(Wire::Slice { elem }) => Some(*elem),
            _ => None,
        }
    }

    fn struct_fields(&self, id: i64) -> Option<&[(String, i64)]> {
        match self.0.get(&id) {
            Some(Wire::Struct { fields, .. }) => Some(fields),
            _ => None,
        }
    }
}

/// A `CommonType` struct: its name (the id repeated in it is not needed).
fn common(b: &mut Buf<'_>) -> Result<String, GobError> {
    let mut name = String::new();
    b.fields(2, |b, f| {
        match f {
            0 => name = b.string()?,
            _ => drop(b.int()?),
        }
        Ok(())
    })?;
    Ok(name)
}

/// How an `Endpoint` field is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    DnsName,
    Targets,
    RecordType,
    SetIdentifier,
    RecordTtl,
    Labels,
    ProviderSpecific,
    Skip,
}

const ENDPOINT_FIELDS: &[(&str, Field, &str)] = &[
    ("DNSName", Field::DnsName, "string"),
    ("Targets", Field::Targets, "[]string"),
    ("RecordType", Field::RecordType, "string"),
    ("SetIdentifier", Field::SetIdentifier, "string"),
    ("RecordTTL", Field::RecordTtl, "int"),
    ("Labels", Field::Labels, "map[string]string"),
    ("ProviderSpecific", Field::ProviderSpecific, "[]struct{Name, Value string}"),
];

/// The fields of a struct type read as upstream's `Endpoint`, checked against what they hold.
fn endpoint_plan(types: &Types, id: i64) -> Result<Vec<Field>, GobError> {
    let fields = types.struct_fields(id).ok_or_else(|| {
        GobError(format!("the stream holds a slice of {}, not of endpoint structs", types.describe(id)))
    })?;
    let mut plan = Vec::with_capacity(fields.len());
    for (name, t) in fields {
        let Some(&(_, field, want)) = ENDPOINT_FIELDS.iter().find(|(n, _, _)| n == name) else {
            plan.push(Field::Skip);
            continue;
        };
        let fits = match field {
            Field::DnsName | Field::RecordType | Field::SetIdentifier => *t == STRING,
            Field::RecordTtl => *t == INT,
            Field::Targets => types.slice_of(*t) == Some(STRING),
            Field::Labels => matches!(types.0.get(t), Some(Wire::Map { key: STRING, elem: STRING })),
            Field::ProviderSpecific => types.slice_of(*t).and_then(|e| types.struct_fields(e)).is_some_and(|f| {
                f.iter().any(|(n, _)| n == "Name" || n == "Value")
                    && f.iter().all(|(n, t)| !(n == "Name" || n == "Value") || *t == STRING)
            }),
            Field::Skip => true,
        };
        if !fits {
            return bad(format!("endpoint field {name} is {}, exodns reads {want}", types.describe(*t)));
        }
        plan.push(field);
    }
    if plan.iter().all(|f| *f == Field::Skip) {
        let name = match types.0.get(&id) {
            Some(Wire::Struct { name, .. }) => name.as_str(),
            _ => "",
        };
        return bad(format!("struct {name} has none of an endpoint's fields (DNSName, Targets, RecordType, …)"));
    }
    Ok(plan)
}

fn strings(b: &mut Buf<'_>) -> Result<Vec<String>, GobError> {
    let n = b.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(b.string()?);
    }
    Ok(out)
}

fn read_endpoint(
    types: &Types,
    fields: &[(String, i64)],
    plan: &[Field],
    b: &mut Buf<'_>,
) -> Result<DNSEndpointEntry, GobError> {
    let mut e = DNSEndpointEntry::default();
    b.fields(plan.len(), |b, f| {
        match plan[f] {
            Field::DnsName => e.dns_name = b.string()?,
            Field::RecordType => e.record_type = b.string()?,
            Field::SetIdentifier => e.set_identifier = b.string()?,
            Field::RecordTtl => e.record_ttl = Some(b.int()?),
            Field::Targets => e.targets = strings(b)?,
            Field::Labels => {
                let mut labels = BTreeMap::new();
                for _ in 0..b.count()? {
                    let k = b.string()?;
                    labels.insert(k, b.string()?);
                }
                e.labels = labels;
            }
            Field::ProviderSpecific => {
                let elem = types.slice_of(fields[f].1).unwrap_or_default();
                let prop_fields = types.struct_fields(elem).unwrap_or_default();
                for _ in 0..b.count()? {
                    let mut p = ProviderSpecific { name: String::new(), value: String::new() };
                    b.fields(prop_fields.len(), |b, pf| match prop_fields[pf].0.as_str() {
                        "Name" => b.string().map(|s| p.name = s),
                        "Value" => b.string().map(|s| p.value = s),
                        _ => types.skip(prop_fields[pf].1, b, 1),
                    })?;
                    e.provider_specific.push(p);
                }
            }
            Field::Skip => types.skip(fields[f].1, b, 1)?,
        }
        Ok(())
    })?;
    Ok(e)
}

/// The value of a value message: type `id`, a slice of endpoint structs.
fn read_value(types: &Types, id: i64, b: &mut Buf<'_>) -> Result<Vec<DNSEndpointEntry>, GobError> {
    let Some(elem) = types.slice_of(id) else {
        return bad(format!("the stream holds {}, not a slice of endpoints", types.describe(id)));
    };
    let plan = endpoint_plan(types, elem)?;
    let fields = types.struct_fields(elem).unwrap_or_default();
    // A value that is not a struct is sent as a struct of one field: delta 0 first.
    if b.uint()? != 0 {
        return bad("the value does not start as a single value");
    }
    let n = b.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(read_endpoint(types, fields, &plan, b)?);
    }
    if !b.b.is_empty() {
        return bad(format!("{} bytes after the value in its message", b.b.len()));
    }
    Ok(out)
}

/// An unsigned integer read from the stream itself (a message's byte count); `None` at the
/// end of the stream before its first byte.
fn stream_uint(r: &mut impl Read) -> Result<Option<u64>, GobError> {
    let mut first = [0u8; 1];
    match r.read_exact(&mut first) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    if first[0] < 0x80 {
        return Ok(Some(first[0].into()));
    }
    let n = first[0].wrapping_neg() as usize;
    if n > 8 {
        return bad(format!("a message length of {n} bytes (at most 8)"));
    }
    let mut buf = [0u8; 8];
    r.read_exact(&mut buf[8 - n..]).map_err(io)?;
    Ok(Some(u64::from_be_bytes(buf)))
}

fn io(e: std::io::Error) -> GobError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => GobError("the stream ends inside a message".into()),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            GobError("no more data within the read timeout".into())
        }
        _ => GobError(format!("reading: {e}")),
    }
}

/// Reads type definitions and the first value of a gob stream: upstream's `[]*endpoint.Endpoint`.
/// Nothing after that value is read.
pub fn decode_endpoints(r: &mut impl Read) -> Result<Vec<DNSEndpointEntry>, GobError> {
    let mut types = Types::default();
    loop {
        let Some(len) = stream_uint(r)? else {
            return bad(if types.0.is_empty() {
                "the stream ends before any message".to_owned()
            } else {
                format!("the stream ends after {} type definitions, before the value", types.0.len())
            });
        };
        if len == 0 || len > MAX_MESSAGE {
            return bad(format!("a message of {len} bytes (1 to {MAX_MESSAGE} accepted)"));
        }
        let mut msg = Vec::new();
        r.take(len).read_to_end(&mut msg).map_err(io)?;
        if msg.len() as u64 != len {
            return bad(format!("the stream ends {} bytes into a message of {len}", msg.len()));
        }
        let mut b = Buf { b: &msg };
        let id = b.int()?;
        if id >= 0 {
            return read_value(&types, id, &mut b);
        }
        types.define(id.checked_neg().unwrap_or(i64::MAX), &mut b)?;
        if !b.b.is_empty() {
            return bad(format!("{} bytes after the definition of type id {}", b.b.len(), -id));
        }
    }
}
