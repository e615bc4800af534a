module example.local/exodns-testbed/connector-server

go 1.24.0

require sigs.k8s.io/external-dns v0.22.0
