//! The DNS side: which host serves an operation (`--rfc2136-load-balancing-strategy`), zone
//! transfers, signed UPDATE messages and pipelined queries.

use std::sync::Mutex;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};

use crate::config::{Rfc2136Config, Strategy};
use crate::error::Rfc2136Error;
use crate::tsig::{self, TsigFailure, TsigKey, Verifier};
use crate::wire::{Connection, Transport};

/// What an operation does, for the host rotation: reads (AXFR) and writes (UPDATE) rotate and
/// fail over independently, as upstream's do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    List = 0,
    Send = 1,
}

#[derive(Debug, Default)]
struct Rotation {
    /// Per operation: the host in use (disabled), next in turn (round-robin) or last picked
    /// (random).
    current: [usize; 2],
}

pub(crate) struct Client {
    hosts: Vec<String>,
    port: u16,
    key: Option<TsigKey>,
    transport: Transport,
    strategy: Strategy,
    rotation: Mutex<Rotation>,
}

impl Client {
    pub fn new(cfg: &Rfc2136Config) -> Result<Client, Rfc2136Error> {
        let transport = Transport::new(cfg.tls.as_ref(), cfg.timeout)
            .map_err(|message| Rfc2136Error::Config { setting: "--rfc2136-use-tls", message })?;
        Ok(Client {
            hosts: cfg.hosts.iter().map(|h| h.trim().to_owned()).collect(),
            port: cfg.effective_port(),
            key: cfg.tsig.clone(),
            transport,
            strategy: cfg.strategy,
            rotation: Mutex::new(Rotation::default()),
        })
    }

    /// `host:port` of host `i`, for messages.
    pub fn server(&self, i: usize) -> String {
        let host = &self.hosts[i];
        if host.contains(':') { format!("[{host}]:{}", self.port) } else { format!("{host}:{}", self.port) }
    }

    /// The hosts to try for one operation, in order.
    fn order(&self, op: Op) -> Vec<usize> {
        let n = self.hosts.len();
        if n == 1 {
            return vec![0];
        }
        let mut r = self.rotation.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut r.current[op as usize];
        let start = match self.strategy {
            Strategy::Disabled => *slot,
            Strategy::RoundRobin => {
                let s = *slot;
                *slot = (s + 1) % n;
                s
            }
            Strategy::Random => {
                let pick = (*slot + 1 + rand::random_range(0..n - 1)) % n;
                *slot = pick;
                pick
            }
        };
        (0..n).map(|k| (start + k) % n).collect()
    }

    /// Host `i` failed `op`: with the disabled strategy, the next host takes over.
    fn failed(&self, op: Op, i: usize) {
        if self.strategy == Strategy::Disabled && self.hosts.len() > 1 {
            let mut r = self.rotation.lock().unwrap_or_else(|p| p.into_inner());
            if r.current[op as usize] == i {
                r.current[op as usize] = (i + 1) % self.hosts.len();
            }
        }
    }

    /// The records of `zone` by AXFR, from the first host that serves it whole.
    pub async fn axfr(&self, zone: &Name) -> Result<Vec<Record>, Rfc2136Error> {
        let mut last = None;
        for i in self.order(Op::List) {
            match self.axfr_from(i, zone).await {
                Ok(records) => return Ok(records),
                Err(e) => {
                    if self.hosts.len() > 1 {
                        tracing::warn!(server = %self.server(i), error = %e, "zone transfer failed; trying the next host");
                    }
                    self.failed(Op::List, i);
                    last = Some(e);
                }
            }
        }
        Err(last.expect("at least one host"))
    }

    /// The records of `zone` by AXFR from host `i`.
    pub async fn axfr_from(&self, i: usize, zone: &Name) -> Result<Vec<Record>, Rfc2136Error> {
        let server = self.server(i);
        let what = format!("AXFR of {}", zone.to_ascii());
        let transport =
            |message: String| Rfc2136Error::Transport { server: server.clone(), what: what.clone(), message };
        let mut conn = self.transport.connect(&self.hosts[i], self.port).await.map_err(transport)?;
        let mut q = Message::new(rand::random(), MessageType::Query, OpCode::Query);
        q.add_query(Query::query(zone.clone(), RecordType::AXFR));
        let id = q.metadata.id;
        let (wire, mut verifier) = self.sign(q).map_err(|m| self.protocol(i, &what, m))?;
        conn.send(&wire).await.map_err(transport)?;
        let mut records = Vec::new();
        let mut soas = 0;
        loop {
            let buf = conn.recv().await.map_err(transport)?;
            let msg = self.check(i, &what, verifier.as_mut(), &buf)?;
            if msg.metadata.id != id {
                return Err(self.protocol(i, &what, format!("answer id {} for request id {id}", msg.metadata.id)));
            }
            if msg.metadata.response_code != ResponseCode::NoError {
                return Err(rcode_error(server.clone(), what, msg.metadata.response_code, transfer_hint));
            }
            for rec in msg.answers {
                if rec.record_type() == RecordType::SOA {
                    soas += 1;
                } else if soas == 0 {
                    return Err(self.protocol(i, &what, "the transfer does not start with the SOA".into()));
                }
                if soas < 2 {
                    records.push(rec);
                }
            }
            if soas >= 2 {
                break;
            }
        }
        if let Some(v) = &verifier {
            v.finish().map_err(|failure| Rfc2136Error::Tsig { server: server.clone(), what: what.clone(), failure })?;
        }
        Ok(records)
    }

    /// A connection for writes, to the first host (as the strategy orders them) that accepts one.
    pub async fn session(&self) -> Result<Session<'_>, Rfc2136Error> {
        let mut last = None;
        for i in self.order(Op::Send) {
            match self.transport.connect(&self.hosts[i], self.port).await {
                Ok(conn) => return Ok(Session { client: self, host: i, conn }),
                Err(message) => {
                    let e = Rfc2136Error::Transport { server: self.server(i), what: "UPDATE".into(), message };
                    if self.hosts.len() > 1 {
                        tracing::warn!(error = %e, "trying the next host");
                    }
                    self.failed(Op::Send, i);
                    last = Some(e);
                }
            }
        }
        Err(last.expect("at least one host"))
    }

    fn sign(&self, msg: Message) -> Result<(Vec<u8>, Option<Verifier>), String> {
        match &self.key {
            Some(key) => key.sign(msg, tsig::now()).map(|(w, v)| (w, Some(v))),
            None => msg.to_vec().map(|w| (w, None)).map_err(|e| e.to_string()),
        }
    }

    /// Decodes an answer, checking its TSIG when the request was signed.
    fn check(
        &self,
        i: usize,
        what: &str,
        verifier: Option<&mut Verifier>,
        buf: &[u8],
    ) -> Result<Message, Rfc2136Error> {
        match verifier {
            Some(v) => v.check(buf).map_err(|failure| match failure {
                TsigFailure::Malformed(m) => self.protocol(i, what, m),
                failure => Rfc2136Error::Tsig { server: self.server(i), what: what.to_owned(), failure },
            }),
            None => {
                Message::from_vec(buf).map_err(|e| self.protocol(i, what, format!("cannot decode the answer: {e}")))
            }
        }
    }

    fn protocol(&self, i: usize, what: &str, message: String) -> Rfc2136Error {
        Rfc2136Error::Protocol { server: self.server(i), what: what.to_owned(), message }
    }
}

/// One connection for a run of writes (and the queries that read them back).
pub(crate) struct Session<'a> {
    client: &'a Client,
    host: usize,
    conn: Connection,
}

impl Session<'_> {
    /// The host this session writes to.
    pub fn host(&self) -> usize {
        self.host
    }

    pub fn server(&self) -> String {
        self.client.server(self.host)
    }

    /// Sends one UPDATE (signed with the key) and returns the answer's RCODE. An `Err` is a
    /// failure of the exchange itself: the network, TSIG, a garbled answer.
    pub async fn update(&mut self, msg: Message, what: &str) -> Result<ResponseCode, Rfc2136Error> {
        let id = msg.metadata.id;
        let c = self.client;
        let (wire, mut verifier) = c.sign(msg).map_err(|m| c.protocol(self.host, what, m))?;
        let transport =
            |message: String| Rfc2136Error::Transport { server: c.server(self.host), what: what.to_owned(), message };
        self.conn.send(&wire).await.map_err(transport)?;
        let buf = self.conn.recv().await.map_err(transport)?;
        let msg = c.check(self.host, what, verifier.as_mut(), &buf)?;
        if msg.metadata.id != id || msg.metadata.op_code != OpCode::Update {
            return Err(c.protocol(self.host, what, format!("answer {} to request {id}", msg.metadata.id)));
        }
        Ok(msg.metadata.response_code)
    }

    /// Asks each question (signed with the key), pipelined; the answers in the same order.
    pub async fn query(&mut self, questions: &[(Name, RecordType)]) -> Result<Vec<Message>, Rfc2136Error> {
        let c = self.client;
        let what = "read-back query";
        let base: u16 = rand::random();
        let mut wires = Vec::with_capacity(questions.len());
        let mut verifiers = Vec::with_capacity(questions.len());
        for (k, (name, rtype)) in questions.iter().enumerate() {
            let mut q = Message::new(base.wrapping_add(k as u16), MessageType::Query, OpCode::Query);
            q.metadata.recursion_desired = false;
            q.add_query(Query::query(name.clone(), *rtype));
            let (w, v) = c.sign(q).map_err(|m| c.protocol(self.host, what, m))?;
            wires.push(w);
            verifiers.push(v);
        }
        let answers = self.conn.pipeline(&wires).await.map_err(|message| Rfc2136Error::Transport {
            server: c.server(self.host),
            what: what.into(),
            message,
        })?;
        let mut out: Vec<Option<Message>> = vec![None; questions.len()];
        for buf in answers {
            let id = u16::from_be_bytes([buf.first().copied().unwrap_or(0), buf.get(1).copied().unwrap_or(0)]);
            let k = usize::from(id.wrapping_sub(base));
            if k >= out.len() || out[k].is_some() {
                return Err(c.protocol(self.host, what, format!("unexpected answer id {id}")));
            }
            out[k] = Some(c.check(self.host, what, verifiers[k].as_mut(), &buf)?);
        }
        Ok(out.into_iter().map(|m| m.expect("one answer per question")).collect())
    }
}

fn transfer_hint(rcode: ResponseCode) -> &'static str {
    match rcode {
        ResponseCode::Refused => " (zone transfers are not allowed to this key or address: allow-transfer / acl)",
        ResponseCode::NotAuth => " (the server is not authoritative for the zone, or does not accept the key)",
        _ => "",
    }
}

pub(crate) fn rcode_error(
    server: String,
    what: String,
    rcode: ResponseCode,
    hint: fn(ResponseCode) -> &'static str,
) -> Rfc2136Error {
    Rfc2136Error::Rcode { server, what, rcode, hint: hint(rcode).to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(hosts: &[&str], strategy: Strategy) -> Client {
        let mut cfg =
            Rfc2136Config::new(hosts.iter().map(|h| h.to_string()).collect(), vec!["example.test".into()], None);
        cfg.strategy = strategy;
        Client::new(&cfg).unwrap()
    }

    #[test]
    fn disabled_sticks_to_a_host_until_it_fails() {
        let c = client(&["a", "b", "c"], Strategy::Disabled);
        assert_eq!(c.order(Op::Send), [0, 1, 2]);
        assert_eq!(c.order(Op::Send), [0, 1, 2]);
        c.failed(Op::Send, 0);
        assert_eq!(c.order(Op::Send), [1, 2, 0]);
        assert_eq!(c.order(Op::List), [0, 1, 2], "reads rotate on their own");
    }

    #[test]
    fn round_robin_moves_on_each_time() {
        let c = client(&["a", "b", "c"], Strategy::RoundRobin);
        let firsts: Vec<usize> = (0..4).map(|_| c.order(Op::Send)[0]).collect();
        assert_eq!(firsts, [0, 1, 2, 0]);
        assert_eq!(c.order(Op::List), [0, 1, 2]);
    }

    #[test]
    fn random_never_repeats_the_last_host() {
        let c = client(&["a", "b", "c"], Strategy::Random);
        let mut last = c.order(Op::Send)[0];
        let mut seen = [false; 3];
        for _ in 0..200 {
            let order = c.order(Op::Send);
            assert_ne!(order[0], last);
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2], "every host is tried");
            seen[order[0]] = true;
            last = order[0];
        }
        assert_eq!(seen, [true; 3]);
        assert_eq!(client(&["a"], Strategy::Random).order(Op::Send), [0]);
    }

    #[test]
    fn servers_read_as_host_and_port() {
        let c = client(&["ns1.example.test", "2001:db8::1"], Strategy::Disabled);
        assert_eq!(c.server(0), "ns1.example.test:53");
        assert_eq!(c.server(1), "[2001:db8::1]:53");
    }
}
