//! Every construct against the output Go's text/template gives on the same object (taken from a
//! Go program running upstream's functions over this object; `<no value>` is empty in exodns,
//! the one difference on purpose). `Fails`: an error rendering this object; `Refused`: refused
//! when the flag is read (Go refuses at parse time, or, marked, fails on every object).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::{FqdnTemplate, TemplateInput};

enum Want {
    Ok(&'static str),
    Fails,
    Refused,
}
use Want::*;

pub(super) fn object() -> Value {
    json!({
        "apiVersion": "example.org/v1", "kind": "Widget",
        "metadata": {"name": "web", "namespace": "apps",
            "labels": {"app": "shop", "env": "prod",
                "records": "[{\"dns\":\"a.example.org\",\"port\":8080},{\"dns\":\"b.example.org\",\"port\":1000000}]"},
            "annotations": {"dns/primary": "api.example.com", "x": ""}},
        "spec": {"host": "w.example.org", "hosts": ["a.example.org", "b.example.org"], "port": 80, "ratio": 1.5,
            "big": 1e21, "small": 0.00001, "on": true, "nothing": null,
            "addresses": [{"ip": "192.0.2.1"}, {"ip": "2001:db8::1"}], "list": ["a", null, 2]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example.net"}]}}
    })
}

pub(super) fn meta_of(raw: &Value) -> ObjectMeta {
    serde_json::from_value(raw["metadata"].clone()).unwrap()
}

const CASES: &[(&str, Want)] = &[
    (r##"{{.Name}}.{{.Namespace}}.example.com"##, Ok(r##"web.apps.example.com"##)),
    (r##"{{.Kind}}/{{.APIVersion}}"##, Ok(r##"Widget/example.org/v1"##)),
    (r##"{{.ObjectMeta.Name}}.{{index .ObjectMeta.Annotations "dns/primary"}}"##, Ok(r##"web.api.example.com"##)), // the Go program has no ObjectMeta; upstream's objects do
    (r##"{{.Labels.app}}.{{index .Labels "env"}}"##, Ok(r##"shop.prod"##)),
    (r##"{{.Labels.missing}}x{{index .Labels "missing"}}"##, Ok(r##"x"##)),
    (r##"{{if eq .Kind "Widget"}}{{.Name}}.w.org{{end}}"##, Ok(r##"web.w.org"##)),
    (r##"{{if eq .Kind "Service"}}svc{{else}}other{{end}}"##, Ok(r##"other"##)),
    (r##"{{if .Spec.none}}a{{else if .Spec.hosts}}b{{else}}c{{end}}"##, Ok(r##"b"##)),
    (r##"{{if .Spec.none}}a{{else if .Spec.nothing}}b{{else}}c{{end}}"##, Ok(r##"c"##)),
    (r##"{{if and .Spec.on (eq .Labels.env "prod")}}yes{{end}}"##, Ok(r##"yes"##)),
    (r##"{{if or .Spec.none .Labels.app}}yes{{end}}"##, Ok(r##"yes"##)),
    (r##"{{or .Annotations.dns "invalid"}}.example.com"##, Ok(r##"invalid.example.com"##)),
    (
        r##"{{and 1 0 "x"}} {{and 1 2}} {{or 0 "" "q"}} {{or 0 ""}} {{not .Labels.missing}} {{not 1}} {{not ""}}"##,
        Ok(r##"0 2 q  true false true"##),
    ),
    (
        r##"{{if 0}}a{{end}}{{if 0.0}}b{{end}}{{if ""}}c{{end}}{{if .Spec.nothing}}d{{end}}{{if (fromJson "[]")}}e{{end}}{{if (fromJson "{}")}}f{{end}}{{if .Labels}}g{{end}}{{if 1}}h{{end}}{{if "x"}}i{{end}}{{if true}}j{{end}}{{if false}}k{{end}}"##,
        Ok(r##"ghij"##),
    ),
    (r##"{{range .Spec.hosts}}{{.}},{{end}}"##, Ok(r##"a.example.org,b.example.org,"##)),
    (
        r##"{{range $i, $e := .Spec.hosts}}{{$i}}:{{$e}} {{$.Name}};{{end}}"##,
        Ok(r##"0:a.example.org web;1:b.example.org web;"##),
    ),
    (r##"{{range $e := .Spec.hosts}}{{$e}};{{end}}"##, Ok(r##"a.example.org;b.example.org;"##)),
    (
        r##"{{range $k, $v := .Labels}}{{if ne $k "records"}}{{$k}}={{$v}};{{end}}{{end}}"##,
        Ok(r##"app=shop;env=prod;"##),
    ),
    (r##"{{range $k, $v := .Spec.addresses}}{{$k}}={{$v.ip}};{{end}}"##, Ok(r##"0=192.0.2.1;1=2001:db8::1;"##)),
    (r##"{{range $k, $v := .Status.loadBalancer}}{{$k}}{{end}}"##, Ok(r##"ingress"##)),
    (r##"{{range .Spec.none}}x{{else}}empty{{end}}"##, Ok(r##"empty"##)),
    (r##"{{range .Spec.nothing}}x{{else}}nil{{end}}"##, Ok(r##"nil"##)),
    (r##"{{range (fromJson "[]")}}x{{else}}none{{end}}"##, Ok(r##"none"##)),
    (
        r##"{{range .Spec.hosts}}{{if eq . "a.example.org"}}{{continue}}{{end}}{{.}}{{break}}{{end}}"##,
        Ok(r##"b.example.org"##),
    ),
    (r##"{{range .Spec.hosts}}{{.}}{{break}}{{end}}"##, Ok(r##"a.example.org"##)),
    (r##"{{range 3}}{{.}}{{end}}"##, Ok(r##"012"##)),
    (r##"{{range $i := 3}}{{$i}}{{end}}"##, Ok(r##"012"##)),
    (r##"{{range .Name}}{{.}}{{end}}"##, Refused), // Go: fails on every object (range can't iterate over a string)
    (r##"{{range .Status.loadBalancer.ingress}}{{.ip}},{{end}}"##, Ok(r##"192.0.2.10,,"##)),
    (r##"{{range .Status.loadBalancer.ingress}}{{or .ip .hostname}},{{end}}"##, Ok(r##"192.0.2.10,lb.example.net,"##)),
    (r##"{{range .Status.loadBalancer.ingress}}{{with .ip}}{{.}},{{end}}{{end}}"##, Ok(r##"192.0.2.10,"##)),
    (r##"{{with .Spec.host}}{{.}}{{else}}none{{end}}"##, Ok(r##"w.example.org"##)),
    (r##"{{with .Spec.none}}{{.}}{{else}}none{{end}}"##, Ok(r##"none"##)),
    (r##"{{with .Spec.none}}{{.}}{{else with .Spec.port}}port {{.}}{{end}}"##, Ok(r##"port 80"##)),
    (r##"{{with $x := .Spec.host}}{{$x}}{{end}}"##, Ok(r##"w.example.org"##)),
    (r##"{{$x := .Name}}{{$x}}.{{$x}}"##, Ok(r##"web.web"##)),
    (r##"{{$x := .Name}}{{$x = "y"}}{{$x}} {{if true}}{{$x = "z"}}{{end}}{{$x}}"##, Ok(r##"y z"##)),
    (r##"{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}"##, Ok(r##"21"##)),
    (r##"{{range $i, $e := .Spec.hosts}}{{$y := $e}}{{end}}{{$.Name}}"##, Ok(r##"web"##)),
    (r##"{{$.Name}}.{{$.Labels.app}}"##, Ok(r##"web.shop"##)),
    (r##"{{with .Spec}}{{.host}}.{{$.Namespace}}{{end}}"##, Ok(r##"w.example.org.apps"##)),
    (
        r##"{{len .Name}} {{len .Spec.hosts}} {{len .Labels}} {{len .Spec}} {{len .Annotations.x}}"##,
        Ok(r##"3 2 3 10 0"##),
    ),
    (r##"{{len .Labels.missing}}"##, Fails), // Go: error calling len: reflect: call of reflect.Value.Type on zero Value
    (r##"{{len .Spec.nothing}}"##, Fails),   // Go: error calling len: len of nil pointer
    (
        r##"{{eq 1 1}} {{eq "a" "a"}} {{eq .Name "x" "web"}} {{eq .Spec.port 80}} {{eq .Spec.on true}} {{eq .Spec.ratio 1.5}}"##,
        Ok(r##"true true true true true true"##),
    ),
    (
        r##"{{eq .Labels.missing .Spec.missing}} {{eq .Spec.nothing .Spec.missing}} {{eq .Labels.missing "x"}}"##,
        Ok(r##"true true false"##),
    ),
    (r##"{{eq 1 1.0}}"##, Fails), // Go: error calling eq: incompatible types for comparison: int and float64
    (r##"{{eq 1 "1"}}"##, Fails), // Go: error calling eq: incompatible types for comparison: int and string
    (r##"{{eq .Spec.hosts .Spec.hosts}}"##, Fails), // Go: error calling eq: non-comparable type [a.example.org b.example.org]: []interface {}
    (r##"{{ne .Name "web"}} {{ne 1 2}}"##, Ok(r##"false true"##)),
    (
        r##"{{lt 1 2}} {{lt "a" "b"}} {{gt .Spec.port 10}} {{le 2 2}} {{ge 2 3}} {{gt 1.5 1.25}} {{le "b" "a"}}"##,
        Ok(r##"true true true true false true false"##),
    ),
    (r##"{{lt .Spec.missing 1}}"##, Fails), // Go: error calling lt: invalid type for comparison
    (r##"{{lt true false}}"##, Fails),      // Go: error calling lt: invalid type for comparison
    (r##"{{lt 1 "a"}}"##, Fails),           // Go: error calling lt: incompatible types for comparison: int and string
    (
        r##"{{index .Spec.hosts 1}} {{index .Spec.addresses 1 "ip"}} {{index .Object.metadata "name"}}"##,
        Ok(r##"b.example.org 2001:db8::1 web"##),
    ),
    (r##"{{index .Spec.hosts 2}}"##, Fails), // Go: error calling index: reflect: slice index out of range
    (r##"{{index .Spec.hosts 5}}"##, Fails), // Go: error calling index: index out of range: 5
    (r##"{{index .Spec.hosts -1}}"##, Fails), // Go: error calling index: index out of range: -1
    (r##"{{index .Spec.hosts "a"}}"##, Fails), // Go: error calling index: cannot index slice/array with type string
    (r##"{{index .Spec "missing"}}|{{index .Labels "missing"}}"##, Ok(r##"|"##)),
    (r##"{{index .Spec.missing "x"}}"##, Fails), // Go: error calling index: index of untyped nil
    (r##"{{index .Spec "missing" "x"}}"##, Fails), // Go: error calling index: index of nil pointer
    (r##"{{index .Spec.addresses 0 1}}"##, Fails), // Go: error calling index: value has type int; should be string
    (r##"{{index .Name 0}}"##, Ok(r##"119"##)),
    (r##"{{index .Spec.port 0}}"##, Fails), // Go: error calling index: can't index item of type int64
    (r##"{{.Spec.nothing.x}}"##, Fails),    // Go: nil pointer evaluating interface {}.x
    (r##"{{.Spec.missing.x}}y"##, Ok(r##"y"##)),
    (r##"{{.Spec.host.x}}"##, Fails),  // Go: can't evaluate field x in type interface {}
    (r##"{{.Spec.hosts.x}}"##, Fails), // Go: can't evaluate field x in type interface {}
    (r##"{{.Spec.port.x}}"##, Fails),  // Go: can't evaluate field x in type interface {}
    (
        r##"{{.Spec.list}} {{.Spec.port}} {{.Spec.on}} {{.Spec.ratio}} {{.Spec.big}} {{.Spec.small}}"##,
        Ok(r##"[a <nil> 2] 80 true 1.5 1e+21 1e-05"##),
    ),
    (r##"{{.Spec.addresses}}"##, Ok(r##"[map[ip:192.0.2.1] map[ip:2001:db8::1]]"##)),
    (r##"{{.Spec.nothing}}x{{.Spec.missing}}"##, Ok(r##"x"##)),
    (
        r##"{{1e6}} {{123456.0}} {{1234567.0}} {{1e20}} {{0.0001}} {{0.00001}} {{-2.5}} {{1.0}}"##,
        Ok(r##"1e+06 123456 1.234567e+06 1e+20 0.0001 1e-05 -2.5 1"##),
    ),
    (
        r##"{{'a'}} {{0x10}} {{1_000}} {{-3}} {{+3}} {{1e3}} {{0o17}} {{0b101}} {{true}}"##,
        Ok(r##"97 16 1000 -3 3 1000 15 5 true"##),
    ),
    (r##"{{"a\tb\"c"}} {{`raw\n`}} {{"\x41\u00e9\101"}}"##, Ok(r##"a	b"c raw\n AéA"##)),
    (r##"{{hasKey .Labels "app"}} {{hasKey .Annotations "x"}} {{hasKey .Labels "zzz"}}"##, Ok(r##"true true false"##)),
    (
        r##"{{if hasKey .Labels "records"}}{{range $entry := (index .Labels "records" | fromJson)}}{{index $entry "dns"}},{{end}}{{end}}"##,
        Ok(r##"a.example.org,b.example.org,"##),
    ),
    (r##"{{range fromJson (index .Labels "records")}}{{.port}},{{end}}"##, Ok(r##"8080,1e+06,"##)),
    (r##"{{hasKey .Spec "host"}}"##, Fails), // Go: wrong type for value; expected map[string]string; got map[string]interface {}
    (
        r##"{{contains .Name "e"}} {{contains .Name "x"}} {{trimPrefix .Name "w"}} {{trimSuffix .Name "b"}} {{.Name | trimSuffix "b"}} {{"w" | trimPrefix .Name}}"##,
        Ok(r##"true false eb we b eb"##),
    ),
    (
        r##"{{trim "  a b  "}}|{{toLower "HeLLo"}}|{{replace "." "-" .Spec.host}}|{{.Spec.host | replace "." "-"}}"##,
        Ok(r##"a b|hello|w-example-org|w-example-org"##),
    ),
    (
        r##"{{if isIPv4 "192.0.2.1"}}v4{{end}} {{isIPv6 "::ffff:1.2.3.4"}} {{isIPv4 "::ffff:1.2.3.4"}} {{isIPv4 "256.1.1.1"}} {{isIPv6 "2001:db8::1"}} {{isIPv6 "x"}}"##,
        Ok(r##"v4 true false false true false"##),
    ),
    (r##"{{range .Spec.addresses}}{{if isIPv6 .ip}}{{.ip}}{{end}}{{end}}"##, Ok(r##"2001:db8::1"##)),
    (
        r##"{{fromJson "nope"}}x {{fromJson "[1,2]"}} {{fromJson "{\"a\":1.5}"}} {{index (fromJson "{\"env\":\"prod\"}") "env"}} {{fromJson "\"s\""}} {{fromJson "true"}} {{fromJson "7"}}"##,
        Ok(r##"x [1 2] map[a:1.5] prod s true 7"##),
    ),
    (r##"{{index (fromJson "nope") "x"}}"##, Fails), // Go: error calling index: index of untyped nil
    (r##"{{eq (index (fromJson "{\"p\":80}") "p") 80}}"##, Fails), // Go: error calling eq: incompatible types for comparison: float64 and int
    (r##"{{eq (index (fromJson "{\"p\":80}") "p") 80.0}}"##, Ok(r##"true"##)),
    (
        r##"{{printf "%s|%d|%v|%q|%s|%d|%5s|%-5s|%05d|%x|%s" .Name 42 .Spec.hosts .Name 42 "x" "ab" "ab" 42 "hi"}}"##,
        Ok(
            r##"web|42|[a.example.org b.example.org]|"web"|%!s(int=42)|%!d(string=x)|   ab|ab   |00042|6869|%!s(MISSING)"##,
        ),
    ),
    (
        r##"{{printf "%s %s" .Name}} {{printf "%s" .Name 3}} {{printf "%z" 3}}"##,
        Ok(r##"web %!s(MISSING) web%!(EXTRA int=3) %!z(int=3)"##),
    ),
    (
        r##"{{printf "%q" 97}} {{printf "%.2f" 1.5}} {{printf "%s" .Spec.list}} {{printf "%v" .Labels}}"##,
        Ok(
            r##"'a' 1.50 [a <nil> %!s(int64=2)] map[app:shop env:prod records:[{"dns":"a.example.org","port":8080},{"dns":"b.example.org","port":1000000}]]"##,
        ),
    ),
    (
        r##"{{printf "%s" 1.5}} {{printf "%d" "x"}} {{printf "%x" 255}} {{printf "%X" "hi"}} {{printf "%t" true}} {{printf "%t" 1}} {{printf "%5d|%-5d|%+d" 3 3 3}} {{printf "%.1s" "abc"}} {{printf "%6.2f" 3.14159}} {{printf "%e" 1234.5}} {{printf "%g" 1234.5}}"##,
        Ok(r##"%!s(float64=1.5) %!d(string=x) ff 6869 true %!t(int=1)     3|3    |+3 a   3.14 1.234500e+03 1234.5"##),
    ),
    (
        r##"{{printf "%q" "a\"b\n"}} {{printf "%v" true}} {{printf "%%"}} {{printf "%"}} {{printf "%d %d" 1}} {{printf "%05d" -42}} {{printf "%v" 1e6}} {{printf "%d" .Spec.port}}"##,
        Ok(r##""a\"b\n" true % %!(NOVERB) 1 %!d(MISSING) -0042 1e+06 80"##),
    ),
    (r##"{{printf "%s.%s.example.com" .Name .Namespace}}"##, Ok(r##"web.apps.example.com"##)),
    (r##"{{printf ","}}"##, Ok(r##","##)),
    (
        r##"{{print 1 2 "a" "b" 3 .Spec.on}}|{{println "x" 1}}|{{print}}"##,
        Ok(r##"1 2ab3 true|x 1
|"##),
    ),
    (
        r##"{{slice .Name 1 2}} {{slice .Spec.hosts 1}} {{slice .Name 1}} {{slice .Name}}"##,
        Ok(r##"e [b.example.org] eb web"##),
    ),
    (r##"{{slice .Name 2 1}}"##, Fails), // Go: error calling slice: invalid slice index: 2 > 1
    (r##"{{slice .Name 0 9}}"##, Fails), // Go: error calling slice: index out of range: 9
    (r##"{{- /* c */ -}} x {{- 3 -}} y"##, Ok(r##"x3y"##)),
    (r##"a {{/* c */}} b"##, Ok(r##"a  b"##)),
    (r##"{{"}}"}}"##, Ok(r##"}}"##)),
    (r##"{{.Name -}} , {{- .Namespace}}"##, Ok(r##"web,apps"##)),
    (r##"{{ .Name }}"##, Ok(r##"web"##)),
    (
        r##"{{range $key, $value := .Labels}}{{if contains $key "app"}}{{$.Name}}.{{$value}}.example.com{{printf ","}}{{end}}{{end}}"##,
        Ok(r##"web.shop.example.com,"##),
    ),
    (
        r##"{{range $k, $v := .Annotations}}{{if and (contains $k "dns/") (contains $v "example.com")}}{{$v}}{{printf ","}}{{end}}{{end}}"##,
        Ok(r##"api.example.com,"##),
    ),
    (
        r##"{{range .Spec.addresses}}{{if and (eq .ip "192.0.2.1") (isIPv4 .ip)}}{{.ip | replace "." "-"}}{{break}}{{end}}{{end}}.example.com"##,
        Ok(r##"192-0-2-1.example.com"##),
    ),
    (
        r##"{{$addr := index .Spec.hosts 0}}{{if contains $addr ".org"}}{{trimSuffix $addr ".org"}}{{else}}{{$addr}}{{end}}"##,
        Ok(r##"a.example"##),
    ),
    (
        r##"{{if eq .Kind "Widget"}}{{$url := index .Object.metadata "name"}}{{trimSuffix (trimPrefix $url "w") "b"}}{{end}}"##,
        Ok(r##"e"##),
    ),
    (r##"{{(index .Spec.addresses 0).ip}}"##, Ok(r##"192.0.2.1"##)),
    (r##"{{(fromJson "{\"a\":{\"b\":\"c\"}}").a.b}}"##, Ok(r##"c"##)),
    (r##"{{$x := fromJson "{\"a\":[1,2]}"}}{{range $x.a}}{{.}}{{end}}{{len $x.a}}"##, Ok(r##"122"##)),
    (r##"{{range $k, $v := fromJson "{\"b\":1,\"a\":2}"}}{{$k}}{{$v}}{{end}}"##, Ok(r##"a2b1"##)),
    (r##"{{with fromJson "{\"a\":1}"}}{{.a}}{{end}}"##, Ok(r##"1"##)),
    (r##"{{$x := 0}}{{range .Spec.hosts}}{{$x = .}}{{end}}{{$x}}"##, Ok(r##"b.example.org"##)),
    (r##"{{range $i, $v := .Spec.hosts}}{{if $i}},{{end}}{{$v}}{{end}}"##, Ok(r##"a.example.org,b.example.org"##)),
    (r##"{{if}}x{{end}}"##, Refused),   // Go: template: t:1: missing value for if
    (r##"{{range}}{{end}}"##, Refused), // Go: template: t:1: missing value for range
    (r##"{{end}}"##, Refused),          // Go: template: t:1: unexpected {{end}}
    (r##"{{else}}"##, Refused),         // Go: template: t:1: unexpected {{else}}
    (r##"{{if .Name}}x"##, Refused),    // Go: template: t:1: unexpected EOF
    (r##"{{if .Name}}x{{else}}y{{else}}z{{end}}"##, Refused), // Go: template: t:1: expected end; found {{else}}
    (r##"{{break}}"##, Refused),        // Go: template: t:1: {{break}} outside {{range}}
    (r##"{{range .Spec.hosts}}{{break 1}}{{end}}"##, Refused), // Go: template: t:1: unexpected "1" in {{break}}
    (r##"{{$undefined}}"##, Refused),   // Go: template: t:1: undefined variable "$undefined"
    (r##"{{$x = 1}}"##, Refused),       // Go: fails on every object (undefined variable)
    (r##"{{if true}}{{$x := 1}}{{end}}{{$x}}"##, Refused), // Go: template: t:1: undefined variable "$x"
    (r##"{{nosuch .Name}}"##, Refused), // Go: template: t:1: function "nosuch" not defined
    (r##"{{.Name .Namespace}}"##, Refused), // Go: fails on every object (can't give argument to non-function)
    (r##"{{"a" | "b"}}"##, Refused),    // Go: template: t:1: non executable command in pipeline stage 2
    (r##"{{(toLower .Name}}"##, Refused), // Go: template: t:1: unclosed left paren
    (r##"{{.Name}"##, Refused),         // Go: template: t:1: bad character U+007D '}'
    (r##"{{nil}}"##, Refused),          // Go: fails on every object (nil is not a command)
    (r##"{{define "x"}}y{{end}}"##, Refused), // Go: renders nothing; exodns does not support define
    (r##"{{template "x"}}"##, Refused), // Go: fails (no such template); exodns does not support template
    (r##"{{toLower}}"##, Refused),      // Go: fails on every object (wrong number of args)
    (r##"{{replace "a" "b"}}"##, Refused), // Go: fails on every object (wrong number of args)
    (r##"{{.Name | printf "%s-%s" "x"}}"##, Ok(r##"x-web"##)),
    (r##"{{"A" | toLower | printf "%s."}}"##, Ok(r##"a."##)),
    (r##"{{ .Name | len }}"##, Ok(r##"3"##)),
    (r##"{{$a, $b := .Name}}"##, Refused), // Go: template: t:1: too many declarations in command
    (r##"{{range $a, $b := .Spec.hosts}}{{$a}}{{$b}}{{end}}"##, Ok(r##"0a.example.org1b.example.org"##)),
    (r##"{{range $a, $b, $c := .Spec.hosts}}{{end}}"##, Refused), // Go: template: t:1: too many declarations in range
    (r##"{{/* unclosed"##, Refused),                              // Go: template: t:1: unclosed comment
    (r##"{{"unterminated}}"##, Refused),                          // Go: template: t:1: unterminated quoted string
    (r##"{{3 | printf "%d"}}"##, Ok(r##"3"##)),
    (r##"{{printf "%d" 3 | printf "%s!"}}"##, Ok(r##"3!"##)),
    (r##"{{.Labels.app | printf "%q"}}"##, Ok(r##""shop""##)),
    (r##"{{html .Name}}"##, Refused), // Go: "web"; exodns does not support html, js, urlquery
    (r##"{{call .Name}}"##, Refused), // Go: fails on every object (call of a string)
];

#[test]
fn constructs_render_as_go_renders_them() {
    let raw = object();
    let meta = meta_of(&raw);
    let input = TemplateInput {
        source: "service",
        kind: "Widget",
        api_version: "example.org/v1",
        metadata: &meta,
        raw: Some(&raw),
    };
    let mut wrong = Vec::new();
    for (t, want) in CASES {
        let got = FqdnTemplate::parse(t).map(|p| p.try_render(&input));
        let ok = match (want, &got) {
            (Ok(w), Result::Ok(Result::Ok(g))) => w == g,
            (Fails, Result::Ok(Err(_))) | (Refused, Err(_)) => true,
            _ => false,
        };
        if !ok {
            let w = match want {
                Ok(w) => format!("{w:?}"),
                Fails => "an error rendering".into(),
                Refused => "refused".into(),
            };
            wrong.push(format!("{t}\n    want {w}\n    got  {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} differ:\n{}", wrong.len(), CASES.len(), wrong.join("\n"));
}
