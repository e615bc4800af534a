//! A list response (`{"kind": "ServiceList", "metadata": {…}, "items": [{…}, …]}`) cut into its
//! items as its bytes arrive, so that each item is decoded on its own and the whole body is never
//! held: at 10 000 Services the body is 15 MB and its decoded items more (issue 18).
//!
//! Only the list's own structure is parsed here (its keys, the `items` array, where each value
//! ends); the items and the list's metadata are decoded by serde from the slices given out.

/// One piece of a list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece {
    /// The bytes of the list's `metadata` (a `ListMeta`).
    Metadata,
    /// The bytes of one element of `items`.
    Item,
    /// The list's closing brace: nothing follows.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the list's opening brace.
    Open,
    /// Before a key of the list or the closing brace.
    Key,
    /// After a value of the list: before a comma or the closing brace.
    AfterValue,
    /// After a key, before its colon.
    Colon(Field),
    /// Before the value of a key.
    Value(Field),
    /// Inside `items`: before an item or the closing bracket.
    Items,
    /// After an item: before a comma or the closing bracket.
    AfterItem,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Metadata,
    Items,
    Other,
}

/// How far the value being scanned has been read (scanning resumes there when more bytes come).
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    /// Offset of the value's first byte in the buffer.
    start: usize,
    /// Offset of the next byte to read.
    next: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

/// Not a list response (a clear message for the watch's error).
#[derive(Debug, thiserror::Error)]
#[error("the list response is not a JSON list: {0} at byte {1}")]
pub(crate) struct SplitError(&'static str, usize);

/// Feeds on a list response's bytes and gives out its pieces as soon as each is complete.
#[derive(Debug)]
pub(crate) struct ListSplitter {
    buf: Vec<u8>,
    /// Bytes before this offset are consumed.
    pos: usize,
    /// Bytes dropped from the buffer so far (for error offsets).
    dropped: usize,
    at: At,
    scan: Option<Scan>,
}

impl Default for ListSplitter {
    fn default() -> Self {
        ListSplitter { buf: Vec::new(), pos: 0, dropped: 0, at: At::Open, scan: None }
    }
}

impl ListSplitter {
    /// Appends bytes of the response; what was consumed is dropped first.
    pub fn feed(&mut self, chunk: &[u8]) {
        let keep = self.scan.map_or(self.pos, |s| s.start.min(self.pos));
        if keep > 0 {
            self.buf.drain(..keep);
            self.dropped += keep;
            self.pos -= keep;
            if let Some(s) = &mut self.scan {
                s.start -= keep;
                s.next -= keep;
            }
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete piece and its bytes, `None` when more bytes are needed.
    pub fn next_piece(&mut self) -> Result<Option<(Piece, &[u8])>, SplitError> {
        loop {
            if self.at == At::End {
                return Ok(Some((Piece::End, &[])));
            }
            let Some(b) = self.peek_token() else { return Ok(None) };
            match (self.at, b) {
                (At::Open, b'{') => {
                    self.pos += 1;
                    self.at = At::Key;
                }
                (At::Open, _) => return Err(self.error("expected '{'")),
                (At::AfterValue, b',') => {
                    self.pos += 1;
                    self.at = At::Key;
                }
                (At::Key | At::AfterValue, b'}') => {
                    self.pos += 1;
                    self.at = At::End;
                }
                (At::Key, b'"') => {
                    let Some(end) = self.scan_value()? else { return Ok(None) };
                    let field = match &self.buf[end.0 + 1..end.1 - 1] {
                        b"metadata" => Field::Metadata,
                        b"items" => Field::Items,
                        _ => Field::Other,
                    };
                    self.pos = end.1;
                    self.at = At::Colon(field);
                }
                (At::Key, _) => return Err(self.error("expected a key")),
                (At::AfterValue, _) => return Err(self.error("expected ',' or '}'")),
                (At::Colon(f), b':') => {
                    self.pos += 1;
                    self.at = At::Value(f);
                }
                (At::Colon(_), _) => return Err(self.error("expected ':'")),
                (At::Value(Field::Items), b'[') => {
                    self.pos += 1;
                    self.at = At::Items;
                }
                (At::Value(f), _) => {
                    let Some((start, end)) = self.scan_value()? else { return Ok(None) };
                    self.pos = end;
                    self.at = At::AfterValue;
                    if f == Field::Metadata {
                        return Ok(Some((Piece::Metadata, &self.buf[start..end])));
                    }
                }
                (At::AfterItem, b',') => {
                    self.pos += 1;
                    self.at = At::Items;
                }
                (At::Items | At::AfterItem, b']') => {
                    self.pos += 1;
                    self.at = At::AfterValue;
                }
                (At::Items, _) => {
                    let Some((start, end)) = self.scan_value()? else { return Ok(None) };
                    self.pos = end;
                    self.at = At::AfterItem;
                    return Ok(Some((Piece::Item, &self.buf[start..end])));
                }
                (At::AfterItem, _) => return Err(self.error("expected ',' or ']'")),
                (At::End, _) => unreachable!("handled above"),
            }
        }
    }

    /// Skips whitespace; the next byte, if there is one yet.
    fn peek_token(&mut self) -> Option<u8> {
        while let Some(&b) = self.buf.get(self.pos) {
            if !b.is_ascii_whitespace() {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// The extent of the JSON value starting at `pos` once all of it is in the buffer (a
    /// string, an object, an array, or a scalar, which ends at the first byte not its own).
    fn scan_value(&mut self) -> Result<Option<(usize, usize)>, SplitError> {
        let mut s = self.scan.take().unwrap_or(Scan { start: self.pos, next: self.pos, ..Scan::default() });
        let first = self.buf[s.start];
        let found = if matches!(first, b'{' | b'[' | b'"') {
            self.scan_nested(&mut s)
        } else {
            let rest = &self.buf[s.next..];
            match rest.iter().position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace()) {
                Some(i) => Some(s.next + i),
                None => {
                    s.next = self.buf.len();
                    None
                }
            }
        };
        match found {
            Some(end) if end == s.start => Err(self.error("expected a value")),
            Some(end) => Ok(Some((s.start, end))),
            None => {
                self.scan = Some(s);
                Ok(None)
            }
        }
    }

    /// Scans a string, object or array from `s.next`; its end (exclusive) when complete.
    fn scan_nested(&self, s: &mut Scan) -> Option<usize> {
        let bytes = &self.buf;
        let mut i = s.next;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            if s.in_string {
                if s.escaped {
                    s.escaped = false;
                } else if b == b'\\' {
                    s.escaped = true;
                } else if b == b'"' {
                    s.in_string = false;
                    if s.depth == 0 {
                        return Some(i);
                    }
                }
                continue;
            }
            match b {
                b'"' => s.in_string = true,
                b'{' | b'[' => s.depth += 1,
                b'}' | b']' => {
                    s.depth = s.depth.saturating_sub(1);
                    if s.depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        s.next = i;
        None
    }

    fn error(&self, what: &'static str) -> SplitError {
        SplitError(what, self.dropped + self.pos)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// Every piece of `body` fed in chunks of the given sizes (cycled), as JSON values.
    fn split(body: &[u8], sizes: &[usize]) -> Result<(Option<Value>, Vec<Value>), SplitError> {
        let mut s = ListSplitter::default();
        let (mut meta, mut items) = (None, Vec::new());
        let mut rest = body;
        let mut k = 0;
        loop {
            while let Some((p, bytes)) = s.next_piece()? {
                match p {
                    Piece::Metadata => meta = Some(serde_json::from_slice(bytes).unwrap()),
                    Piece::Item => items.push(serde_json::from_slice(bytes).unwrap()),
                    Piece::End => return Ok((meta, items)),
                }
            }
            assert!(!rest.is_empty(), "the body ended before the list did");
            let n = sizes[k % sizes.len()].clamp(1, rest.len());
            k += 1;
            s.feed(&rest[..n]);
            rest = &rest[n..];
        }
    }

    fn list() -> Value {
        json!({"kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "42", "continue": "x"},
        "items": [
            {"metadata": {"name": "a", "annotations": {"q": "a \"quoted\" } ] { [ \\ value"}}, "spec": {"ports": [{"port": 80}]}},
            {"metadata": {"name": "b"}, "n": -1.5e3, "t": true, "z": null, "e": [], "o": {}},
            "scalar", 7, null
        ]})
    }

    #[test]
    fn compact_and_pretty_lists_whole_and_byte_by_byte() {
        let v = list();
        for body in [serde_json::to_vec(&v).unwrap(), serde_json::to_vec_pretty(&v).unwrap()] {
            for sizes in [&[usize::MAX][..], &[1], &[3, 1, 7]] {
                let (meta, items) = split(&body, sizes).unwrap();
                assert_eq!(meta.as_ref(), Some(&v["metadata"]));
                assert_eq!(items, v["items"].as_array().unwrap().clone());
            }
        }
    }

    #[test]
    fn metadata_after_the_items_and_empty_or_null_items() {
        let body = br#" { "items" : [ ] , "kind":"List", "metadata" : {"resourceVersion":"1"} } "#;
        let (meta, items) = split(body, &[2]).unwrap();
        assert_eq!(meta, Some(json!({"resourceVersion": "1"})));
        assert!(items.is_empty());
        let (meta, items) = split(br#"{"items":null,"metadata":{}}"#, &[5]).unwrap();
        assert_eq!((meta, items.len()), (Some(json!({})), 0));
    }

    #[test]
    fn not_a_list() {
        let e = split(b"  [1, 2]", &[100]).unwrap_err();
        assert_eq!(e.to_string(), "the list response is not a JSON list: expected '{' at byte 2");
        assert!(split(br#"{"items": [1,, 2]}"#, &[4]).is_err());
        assert!(split(br#"{"items" 1}"#, &[4]).is_err());
    }

    /// A small arbitrary JSON value.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[ -~\\\\\"{}\\[\\]é\u{1F600}]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z\"{}]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// However the body is cut, the pieces are the list's metadata and items, in order.
        #[test]
        fn any_list_any_chunking(
            items in prop::collection::vec(value(), 0..6),
            meta in value(),
            extra in value(),
            pretty in any::<bool>(),
            sizes in prop::collection::vec(1usize..40, 1..6),
        ) {
            let v = json!({"kind": "List", "extra": extra, "items": items, "metadata": meta});
            let body = if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }.unwrap();
            let (m, got) = split(&body, &sizes).unwrap();
            prop_assert_eq!(m, Some(meta));
            prop_assert_eq!(got, items);
        }
    }
}
