//go:build !linux

package main

// hugeBuffer returns nil: no huge-page buffer on this platform.
func hugeBuffer(size int) []byte { return nil }
