// connector-server: a test peer of exodns's connector source. It serves the endpoints of a JSON
// file (upstream ExternalDNS's endpoint.Endpoint JSON form) the way upstream's connector source
// expects them: to each TCP connection, one encoding/gob value of []*endpoint.Endpoint, then the
// connection is closed. The file is read again for every connection, so a test can change what
// the next sync sees.
//
//	connector-server -listen 127.0.0.1:0 -endpoints FILE   prints "listening on ADDR", serves
//	connector-server -dump -endpoints FILE                  writes one stream to stdout, exits
package main

import (
	"encoding/gob"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"

	"sigs.k8s.io/external-dns/endpoint"
)

func load(path string) ([]*endpoint.Endpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var eps []*endpoint.Endpoint
	if err := json.Unmarshal(data, &eps); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return eps, nil
}

func serve(w io.Writer, path string) error {
	eps, err := load(path)
	if err != nil {
		return err
	}
	return gob.NewEncoder(w).Encode(eps)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	file := flag.String("endpoints", "", "JSON file of endpoints, read at every connection")
	dump := flag.Bool("dump", false, "write one gob stream to stdout and exit")
	flag.Parse()
	if *dump {
		if err := serve(os.Stdout, *file); err != nil {
			log.Fatal(err)
		}
		return
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", l.Addr())
	for {
		conn, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		if err := serve(conn, *file); err != nil {
			log.Printf("connection from %s: %v", conn.RemoteAddr(), err)
		}
		conn.Close()
	}
}
