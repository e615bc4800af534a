//! What exodns prints for people: a zone listing and a plan as a diff.

use std::fmt::Write as _;
use std::io::IsTerminal;

use exodns_core::{Changes, Endpoint};

use crate::cli::ColorChoice;

/// A zone-file-like listing, one line per target, sorted by name and type.
pub fn zone_listing(records: &[Endpoint]) -> String {
    let mut rows: Vec<(String, String, String, &str)> = Vec::new();
    for ep in records {
        let ttl = if ep.ttl.is_set() { ep.ttl.0.to_string() } else { "-".into() };
        for t in ep.targets.iter() {
            rows.push((ep.dns_name.fqdn(), ttl.clone(), ep.record_type.to_string(), t));
        }
    }
    rows.sort();
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, ttl, rt, target) in rows {
        let _ = writeln!(out, "{name:<width$}  {ttl:>6}  IN  {rt:<5}  {target}");
    }
    out
}

struct Palette {
    add: &'static str,
    change: &'static str,
    remove: &'static str,
    reset: &'static str,
}

fn palette(choice: ColorChoice) -> Palette {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    if on {
        Palette { add: "\x1b[32m", change: "\x1b[33m", remove: "\x1b[31m", reset: "\x1b[0m" }
    } else {
        Palette { add: "", change: "", remove: "", reset: "" }
    }
}

fn describe(ep: &Endpoint) -> String {
    let mut s = format!("{} {}", ep.dns_name, ep.record_type);
    if !ep.set_identifier.is_empty() {
        let _ = write!(s, " [{}]", ep.set_identifier);
    }
    s
}

fn data(ep: &Endpoint) -> String {
    let mut s = ep.targets.join(", ");
    if ep.ttl.is_set() {
        let _ = write!(s, " ttl={}", ep.ttl.0);
    }
    for p in &ep.provider_specific {
        let _ = write!(s, " {}={}", p.name, p.value);
    }
    s
}

fn origin(ep: &Endpoint) -> String {
    ep.resource().map(|r| format!("  ({r})")).unwrap_or_default()
}

/// The plan as a diff: `+` create, `~` update old → new, `-` delete.
pub fn plan_diff(changes: &Changes, color: ColorChoice) -> String {
    let p = palette(color);
    let mut out = String::new();
    for ep in &changes.create {
        let _ = writeln!(out, "{}+ create {}  {}{}{}", p.add, describe(ep), data(ep), origin(ep), p.reset);
    }
    for (old, new) in changes.update_old.iter().zip(&changes.update_new) {
        let _ = writeln!(
            out,
            "{}~ update {}  {} → {}{}{}",
            p.change,
            describe(new),
            data(old),
            data(new),
            origin(new),
            p.reset
        );
    }
    for ep in &changes.delete {
        let _ = writeln!(out, "{}- delete {}  {}{}{}", p.remove, describe(ep), data(ep), origin(ep), p.reset);
    }
    let _ = writeln!(
        out,
        "{} to create, {} to update, {} to delete",
        changes.create.len(),
        changes.update_new.len(),
        changes.delete.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_core::RecordType;

    #[test]
    fn diff_lines() {
        let old = Endpoint::parse("a.example.org", RecordType::A, &["1.1.1.1"]).unwrap();
        let new = Endpoint::parse("a.example.org", RecordType::A, &["2.2.2.2"])
            .unwrap()
            .with_label("resource", "service/d/a");
        let changes = Changes {
            create: vec![Endpoint::parse("b.example.org", RecordType::CNAME, &["x.example.net"]).unwrap()],
            update_old: vec![old.clone()],
            update_new: vec![new],
            delete: vec![old],
        };
        let text = plan_diff(&changes, ColorChoice::Never);
        assert_eq!(
            text,
            "+ create b.example.org CNAME  x.example.net\n\
             ~ update a.example.org A  1.1.1.1 → 2.2.2.2  (service/d/a)\n\
             - delete a.example.org A  1.1.1.1\n\
             1 to create, 1 to update, 1 to delete\n"
        );
    }

    #[test]
    fn zone_lines_sorted_per_target() {
        let a = Endpoint::parse("b.example.org", RecordType::A, &["1.1.1.1", "2.2.2.2"]).unwrap();
        let txt = Endpoint::parse("a-b.example.org", RecordType::TXT, &["heritage=external-dns"]).unwrap();
        let text = zone_listing(&[a, txt]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("a-b.example.org.") && lines[0].ends_with("\"heritage=external-dns\""));
        assert!(lines[2].ends_with("A      2.2.2.2"));
    }
}
