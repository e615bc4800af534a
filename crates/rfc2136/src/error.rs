use hickory_proto::op::ResponseCode;

use crate::tsig::TsigFailure;

/// What went wrong talking to an RFC2136 server, or in the settings. No variant ever carries the
/// TSIG secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rfc2136Error {
    /// A setting is wrong; `setting` is the flag name.
    #[error("{setting}: {message}")]
    Config { setting: &'static str, message: String },
    /// Connecting, sending or receiving failed (refused, reset, timed out, TLS handshake).
    #[error("{server}: {what}: {message}")]
    Transport { server: String, what: String, message: String },
    /// The server answered with an error RCODE.
    #[error("{server}: {what}: the server answered {}{hint}", rcode_name(*.rcode))]
    Rcode { server: String, what: String, rcode: ResponseCode, hint: String },
    /// TSIG: the server did not accept our signature, or its answer's signature is wrong.
    #[error(
        "{server}: {what}: TSIG: {failure} (check --rfc2136-tsig-keyname, --rfc2136-tsig-secret and --rfc2136-tsig-secret-alg)"
    )]
    Tsig { server: String, what: String, failure: TsigFailure },
    /// An answer that makes no sense for the request.
    #[error("{server}: {what}: {message}")]
    Protocol { server: String, what: String, message: String },
}

impl Rfc2136Error {
    /// Worth trying again later (or on another host): the network, a server failure.
    pub fn is_transient(&self) -> bool {
        match self {
            Rfc2136Error::Transport { .. } => true,
            Rfc2136Error::Rcode { rcode, .. } => matches!(*rcode, ResponseCode::ServFail | ResponseCode::Refused),
            _ => false,
        }
    }
}

/// The RCODE as dig and upstream print it: NOERROR, NXRRSET, NOTAUTH, …
pub fn rcode_name(rcode: ResponseCode) -> String {
    let code = u16::from(rcode);
    let name = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        _ => return format!("RCODE {code}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rcodes_read_as_dig_prints_them() {
        assert_eq!(rcode_name(ResponseCode::NotAuth), "NOTAUTH");
        assert_eq!(rcode_name(ResponseCode::NXRRSet), "NXRRSET");
        assert_eq!(rcode_name(ResponseCode::Unknown(3841)), "RCODE 3841");
    }
}
