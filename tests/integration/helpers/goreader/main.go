// SPDX-License-Identifier: MIT
// goreader OUT NAME...: writes "NAME=value" or "NAME unset" for each NAME,
// as os.Getenv sees it, to OUT (never to stdout or stderr). Built by the
// integration tests with CGO_ENABLED=0 (static) or 1 (cgo.go: dynamic).
package main

import "os"

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		os.Exit(2)
	}
	for _, n := range os.Args[2:] {
		if v := os.Getenv(n); v != "" {
			f.WriteString(n + "=" + v + "\n")
		} else {
			f.WriteString(n + " unset\n")
		}
	}
	if f.Close() != nil {
		os.Exit(2)
	}
}
