package tokenizer

import "unsafe"

// bytesString views b as a string without copying. The caller must not
// keep the string beyond b's lifetime or modify b while it is in use; it is
// used for transient map lookups.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
