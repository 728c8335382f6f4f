package kernels

import (
	"math"
	"sync"
)

// IEEE 754 binary16 and bfloat16 conversions.

// f32ToF16 rounds f to the nearest binary16 value (ties to even); values too
// large become ±Inf, NaN stays NaN.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b >> 23 & 0xff)
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 31 {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): the value in units of 2^-24.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || rem == halfway && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is the correct result, up to Inf
	}
	return sign | uint16(h)
}

// f16ToF32 converts a binary16 value exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

var (
	f16TableOnce sync.Once
	f16Table     *[1 << 16]float32
)

// f16Lookup returns the binary16 → float32 table (256 KiB, built on first use).
func f16Lookup() *[1 << 16]float32 {
	f16TableOnce.Do(func() {
		t := new([1 << 16]float32)
		for i := range t {
			t[i] = f16ToF32(uint16(i))
		}
		f16Table = t
	})
	return f16Table
}

// f32ToBF16 rounds f to the nearest bfloat16 (ties to even); NaN stays NaN.
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b >> 16 & 1)
	return uint16(b >> 16)
}

// bf16ToF32 converts a bfloat16 value exactly.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToF16 rounds src into dst as binary16 values, each to nearest (ties to
// even); values beyond the half range become ±Inf. len(dst) ≥ len(src).
func F32ToF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = f32ToF16(v)
	}
}

// F16ToF32 widens the binary16 values src into dst (exactly; the kernel
// set's converter). len(dst) ≥ len(src).
func F16ToF32(dst []float32, src []uint16) { f16ToF32Slice(dst[:len(src)], src) }
