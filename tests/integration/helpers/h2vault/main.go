// SPDX-License-Identifier: MIT

// h2vault: a Vault-shaped HTTPS server that speaks HTTP/2 (Go's net/http
// offers h2 over TLS by ALPN), for transport-http2.sh: vault-dev speaks
// HTTP/1.1 only. It serves what a batch of KV v2 reads needs, in the shapes
// of Vault 1.8's answers (shared/vault-api recordings): the mount of any
// path is secret/, KV v2; secret/data/PATH holds {"a":"fake-h2-PATH"}.
// Each answer is held -hold long, so that concurrent requests overlap.
// GET /_stats (no token) gives {"connections":C,"requests":R,
// "max_in_flight":M,"h2":H}: the connections that carried a /v1/ request,
// those requests, the most answered at once, and those that came over
// HTTP/2.
//
//	h2vault -cert FILE -key FILE -token TOKEN -port-file FILE [-hold 300ms]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type connKey struct{}

type stats struct {
	sync.Mutex
	conns       map[net.Conn]bool
	Connections int `json:"connections"`
	Requests    int `json:"requests"`
	InFlight    int `json:"-"`
	MaxInFlight int `json:"max_in_flight"`
	H2          int `json:"h2"`
}

func main() {
	cert := flag.String("cert", "", "server certificate (PEM)")
	key := flag.String("key", "", "its key (PEM)")
	token := flag.String("token", "", "the only token accepted")
	portFile := flag.String("port-file", "", "where the port is written once listening")
	hold := flag.Duration("hold", 300*time.Millisecond, "how long each answer is held")
	flag.Parse()

	st := stats{conns: map[net.Conn]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/_stats", func(w http.ResponseWriter, r *http.Request) {
		st.Lock()
		defer st.Unlock()
		json.NewEncoder(w).Encode(&st)
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		st.Lock()
		st.Requests++
		st.InFlight++
		if st.InFlight > st.MaxInFlight {
			st.MaxInFlight = st.InFlight
		}
		if r.ProtoMajor == 2 {
			st.H2++
		}
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok && !st.conns[c] {
			st.conns[c] = true
			st.Connections++
		}
		st.Unlock()
		time.Sleep(*hold)
		st.Lock()
		st.InFlight--
		st.Unlock()

		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-Vault-Token") != *token {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":["permission denied"]}`)
			return
		}
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/v1/sys/internal/ui/mounts/"):
			fmt.Fprint(w, `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,`+
				`"data":{"accessor":"kv_1","config":{"default_lease_ttl":0,"force_no_cache":false,"max_lease_ttl":0},`+
				`"description":"","external_entropy_access":false,"local":false,"options":{"version":"2"},`+
				`"path":"secret/","seal_wrap":false,"type":"kv","uuid":"u"},"wrap_info":null,"warnings":null,"auth":null}`)
		case strings.HasPrefix(p, "/v1/secret/data/"):
			v, _ := json.Marshal("fake-h2-" + strings.TrimPrefix(p, "/v1/secret/data/"))
			fmt.Fprintf(w, `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,`+
				`"data":{"data":{"a":%s},"metadata":{"created_time":"2026-01-01T00:00:00Z","deletion_time":"",`+
				`"destroyed":false,"version":1}},"wrap_info":null,"warnings":null,"auth":null}`, v)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[]}`)
		}
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ConnContext: func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := os.WriteFile(*portFile, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Fatal(srv.ServeTLS(ln, *cert, *key))
}
