//! One DNS question at a time, for checking what a server really answers.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::TestbedError;

const TIMEOUT: Duration = Duration::from_secs(2);
const UDP_TRIES: usize = 3;

/// A whole answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// `NoError`, `NXDomain`, `ServFail`, …
    pub rcode: String,
    pub authoritative: bool,
    /// Whether it came over TCP after a truncated UDP answer.
    pub over_tcp: bool,
    /// Answer section: (owner name, type, TTL, data in presentation form).
    pub answers: Vec<(String, String, u32, String)>,
    /// Authority section (a referral's NS records, a negative answer's SOA), same shape.
    pub authorities: Vec<(String, String, u32, String)>,
}

/// Asks `name` `rtype` (`"A"`, `"TXT"`, …) of the server at `addr:port` without recursion, over
/// UDP, again over TCP if the answer is truncated. Returns the data of the answers of type
/// `rtype`, sorted, in presentation form: names absolute (`lb.example.net.`), TXT as quoted
/// strings (`"v=spf1 -all"`, several strings separated by a space), MX `10 mail.example.org.`.
pub async fn dns_query(addr: IpAddr, port: u16, name: &str, rtype: &str) -> Result<Vec<String>, TestbedError> {
    let answer = dns_query_full(addr, port, name, rtype).await?;
    let want = rtype.to_ascii_uppercase();
    let mut data: Vec<String> = answer.answers.into_iter().filter(|a| a.1 == want).map(|a| a.3).collect();
    data.sort();
    Ok(data)
}

/// [`dns_query`] that fails on SERVFAIL (`TestbedError::Dns` naming the question): what PowerDNS
/// answers for a LUA record whose code does not compile or run. Other rcodes (NXDOMAIN, …) give
/// no answers, as in [`dns_query`].
pub async fn dns_answers(addr: IpAddr, port: u16, name: &str, rtype: &str) -> Result<Vec<String>, TestbedError> {
    let answer = dns_query_full(addr, port, name, rtype).await?;
    if answer.rcode == "ServFail" {
        return Err(TestbedError::Dns(format!("SERVFAIL for {name} {rtype} from {addr}:{port}")));
    }
    let want = rtype.to_ascii_uppercase();
    let mut data: Vec<String> = answer.answers.into_iter().filter(|a| a.1 == want).map(|a| a.3).collect();
    data.sort();
    Ok(data)
}

pub async fn dns_query_full(addr: IpAddr, port: u16, name: &str, rtype: &str) -> Result<DnsAnswer, TestbedError> {
    let err = |m: String| TestbedError::Dns(m);
    let qtype =
        RecordType::from_str(&rtype.to_ascii_uppercase()).map_err(|e| err(format!("record type {rtype:?}: {e}")))?;
    let qname = Name::from_ascii(if name.ends_with('.') { name.to_owned() } else { format!("{name}.") })
        .map_err(|e| err(format!("name {name:?}: {e}")))?;
    let id: u16 = rand_id();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = false;
    msg.add_query(Query::query(qname, qtype));
    let wire = msg.to_vec().map_err(|e| err(e.to_string()))?;
    let server = SocketAddr::new(addr, port);

    let mut response = udp_exchange(server, &wire, id).await?;
    let mut over_tcp = false;
    if response.metadata.truncation {
        response = tcp_exchange(server, &wire, id).await?;
        over_tcp = true;
    }
    let section = |records: &[hickory_proto::rr::Record]| {
        records.iter().map(|r| (r.name.to_ascii(), r.record_type().to_string(), r.ttl, present(&r.data))).collect()
    };
    let answers = section(&response.answers);
    let authorities = section(&response.authorities);
    Ok(DnsAnswer {
        rcode: format!("{:?}", response.metadata.response_code),
        authoritative: response.metadata.authoritative,
        over_tcp,
        answers,
        authorities,
    })
}

fn rand_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0),
    );
    h.finish() as u16
}

fn present(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| {
                let mut out = String::from("\"");
                for c in String::from_utf8_lossy(s).chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
                out
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

async fn udp_exchange(server: SocketAddr, wire: &[u8], id: u16) -> Result<Message, TestbedError> {
    let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0".parse().unwrap() } else { "[::]:0".parse().unwrap() };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(server).await?;
    let mut buf = vec![0u8; 65535];
    for _ in 0..UDP_TRIES {
        sock.send(wire).await?;
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => break, // timed out: send again
                Ok(Err(e)) => return Err(TestbedError::Dns(format!("{server}: {e}"))),
                Ok(Ok(n)) => {
                    let msg = Message::from_vec(&buf[..n]).map_err(|e| TestbedError::Dns(e.to_string()))?;
                    if msg.metadata.id == id && msg.metadata.message_type == MessageType::Response {
                        return Ok(msg);
                    }
                }
            }
        }
    }
    Err(TestbedError::Dns(format!("{server}: no answer over UDP after {UDP_TRIES} tries")))
}

async fn tcp_exchange(server: SocketAddr, wire: &[u8], id: u16) -> Result<Message, TestbedError> {
    let io = async {
        let mut stream = TcpStream::connect(server).await?;
        let len = u16::try_from(wire.len()).map_err(|_| std::io::Error::other("query too long"))?;
        let mut framed = Vec::with_capacity(wire.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(wire);
        stream.write_all(&framed).await?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(TIMEOUT * 3, io)
        .await
        .map_err(|_| TestbedError::Dns(format!("{server}: no answer over TCP")))??;
    let msg = Message::from_vec(&buf).map_err(|e| TestbedError::Dns(e.to_string()))?;
    if msg.metadata.id != id {
        return Err(TestbedError::Dns(format!("{server}: answer id {} for query id {id}", msg.metadata.id)));
    }
    Ok(msg)
}
