// SPDX-License-Identifier: MIT
//go:build cgo

// With cgo the program is linked by the system linker against libc, with a
// program interpreter: the shim is loaded into it, yet os.Getenv still
// reads the environment block the process started with.
package main

import "C"
