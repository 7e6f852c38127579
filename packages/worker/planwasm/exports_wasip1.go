package main

import "unsafe"

// The module's exports (see the package doc): in is the host's input
// buffer, out the last answer, kept until the next call so the host can
// read it.
var in, out []byte

//go:wasmexport stk_buffer
func stkBuffer(n uint32) unsafe.Pointer {
	if uint32(cap(in)) < n {
		in = make([]byte, n)
	}
	in = in[:n]
	if n == 0 {
		return nil
	}
	return unsafe.Pointer(&in[0])
}

//go:wasmexport stk_invoke
func stkInvoke(op, n uint32) uint64 {
	out = answer(op, in[:n])
	if len(out) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out))
}
