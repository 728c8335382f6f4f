package kernels

import (
	"encoding/binary"
	"sync"
	"unsafe"
)

// Q4_0 with block sums in lanes. The VNNI and AVX2 kernel sets multiply Q4_0
// weights with 8-bit activation blocks (blockQ8) in chunks of 16 blocks: each block's
// exact integer dot product I = Σ(w−8)·x comes first, and the float work is
// one fma per block, F[q4Lane(c)] = fma(float(I), dw·dx, F[q4Lane(c)]) for
// block c of each chunk (q4BGo is the reference). Decoding (gemvQ4B) and
// the matrix kernel (gemmQ4B) reach the same integers by different routes,
// so they agree bit for bit and a batch gives what single tokens give.
//
// Doing the integer sums per block before any float work is what makes the
// matrix kernel cheap: after packing, its VPDPBUSD lanes (VPMADDUBSW +
// VPMADDWD on AVX2) are whole blocks, and there is one convert, multiply and
// fma per 16 blocks of a (row, token), not per 2.

// q4Lane is the float lane of block c (0…15) of a chunk: the lane where the
// decoding kernel's reduction tree leaves it (internal/asmgen's q4Lane).
func q4Lane(c int) int { k := c / 2; return (k/4)*8 + (c%2)*4 + k%4 }

const (
	q4ChunkBlocks = 16
	// q4ActChunk is the bytes of a packed activation chunk (both layouts):
	// 512 int8 values, 16 int32 −8·Σx, 16 float32 dx.
	q4ActChunk = 640
	// q4PanelChunk is the bytes of a packed weight row chunk: 512 nibble
	// values, 16 float32 dw.
	q4PanelChunk = 576
	// q4GemmMinRows is the fewest input rows for the matrix kernel; fewer
	// rows run the decoding kernel once each.
	q4GemmMinRows = 4
	// q4PanelBytes bounds the packed weight rows of one panel (they are
	// read once per 4 input rows and should stay in the core's L2).
	q4PanelBytes = 192 << 10
)

func q4Chunks(nb int) int { return (nb + q4ChunkBlocks - 1) / q4ChunkBlocks }

// q4ChunkTail returns the byte masks of gemvQ4B's scale loads in the
// partial last chunk of nb blocks, at chunk offsets 0, 64, 144 and 208 (a
// bit per byte that lies within the chunk's blocks).
func q4ChunkTail(nb int) (m [4]uint64) {
	r := nb % q4ChunkBlocks
	for i, off := range []int{0, 64, 144, 208} {
		if v := min(64, max(0, r*q4_0Bytes-off)); v == 64 {
			m[i] = ^uint64(0)
		} else {
			m[i] = 1<<v - 1
		}
	}
	return m
}

// packQ4Sides writes the int32 −8·Σx and float32 dx of the chunk's blocks
// a (≤ 16) in lane order into side (128 bytes), zeros elsewhere.
func packQ4Sides(side []byte, a []blockQ8) {
	side = side[:128]
	clear(side)
	for c := range a {
		l := q4Lane(c)
		binary.LittleEndian.PutUint32(side[4*l:], uint32(-8*a[c].sum))
		*(*float32)(unsafe.Pointer(&side[64+4*l])) = a[c].d
	}
}

// q4GemvBlock is the block of a chunk whose values lie in lane i of group k
// of the decoding kernel's activation layout (packQ4GemvAct).
func q4GemvBlock(k, i int) int { return 2*k + i%2 + 8*(i/2) }

// packQ4GemvAct packs one activation row (its blocks a) for gemvQ4B: per
// chunk 4 groups of 128 bytes, group k's lane i (16 bytes) holding block
// q4GemvBlock(k, i)'s values 0…15 in the first 64 bytes and its values
// 16…31 in the second (zeros past the last block), then the sides
// (len(dst) ≥ q4Chunks(len(a))·q4ActChunk).
func packQ4GemvAct(dst []byte, a []blockQ8) {
	for ch := range q4Chunks(len(a)) {
		d := dst[ch*q4ActChunk : (ch+1)*q4ActChunk]
		blk := a[ch*q4ChunkBlocks : min(len(a), (ch+1)*q4ChunkBlocks)]
		if len(blk) < q4ChunkBlocks {
			clear(d[:512])
		}
		for k := range 4 {
			for i := range 4 {
				c := q4GemvBlock(k, i)
				if c >= len(blk) {
					continue
				}
				q := unsafe.Slice((*byte)(unsafe.Pointer(&blk[c].qs[0])), 32)
				copy(d[128*k+16*i:][:16], q[:16])
				copy(d[128*k+64+16*i:][:16], q[16:])
			}
		}
		packQ4Sides(d[512:], blk)
	}
}

// packQ4GemmAct packs one activation row for gemmQ4B: per chunk 8 zmm, zmm j
// lane q4Lane(c) holding values 4j…4j+3 of block c, then the sides.
func packQ4GemmAct(dst []byte, a []blockQ8) {
	for ch := range q4Chunks(len(a)) {
		d := dst[ch*q4ActChunk : (ch+1)*q4ActChunk]
		blk := a[ch*q4ChunkBlocks : min(len(a), (ch+1)*q4ChunkBlocks)]
		if len(blk) < q4ChunkBlocks {
			clear(d[:512])
		}
		v := unsafe.Slice((*uint32)(unsafe.Pointer(&d[0])), 128)
		for c := range blk {
			l := q4Lane(c)
			q := unsafe.Slice((*uint32)(unsafe.Pointer(&blk[c].qs[0])), 8)
			for j := range 8 {
				v[16*j+l] = q[j]
			}
		}
		packQ4Sides(d[512:], blk)
	}
}

// packQ4Panel packs rows weight rows of nb Q4_0 blocks (row i at w[i·ws:])
// for gemmQ4B: per row, per chunk, 8 zmm of nibble values (zmm j lane
// q4Lane(c): elements 4j…4j+3 of block c, which are the low nibbles of
// bytes 4j… for j < 4 and the high nibbles of bytes 4(j−4)… after), then 16
// float32 dw in lane order; zeros past the last block.
func packQ4Panel(dst []byte, w []byte, ws, rows, nb int) {
	nch := q4Chunks(nb)
	f16 := f16Lookup()
	for i := range rows {
		row := w[i*ws : i*ws+nb*q4_0Bytes]
		for ch := range nch {
			d := dst[(i*nch+ch)*q4PanelChunk : (i*nch+ch+1)*q4PanelChunk]
			n := min(nb-ch*q4ChunkBlocks, q4ChunkBlocks)
			if n < q4ChunkBlocks {
				clear(d)
			}
			v := unsafe.Slice((*uint32)(unsafe.Pointer(&d[0])), 144)
			for c := range n {
				blk := row[(ch*q4ChunkBlocks+c)*q4_0Bytes:][:q4_0Bytes]
				l := q4Lane(c)
				for j := range 4 {
					x := binary.LittleEndian.Uint32(blk[2+4*j:])
					v[16*j+l] = x & 0x0f0f0f0f
					v[16*(j+4)+l] = x >> 4 & 0x0f0f0f0f
				}
				*(*float32)(unsafe.Pointer(&v[128+l])) = f16[le16(blk)]
			}
		}
	}
}

// q4BGo is the plain-Go reference of the Q4_0 kernels with block sums in
// lanes: out[i] = weight row i (at w[i·ws:], len(a) blocks) times the
// activation blocks a, with the kernels' float operations in their order.
func q4BGo(out []float32, w []byte, ws, rows int, a []blockQ8) {
	for i := range rows {
		row := w[i*ws : i*ws+len(a)*q4_0Bytes]
		var f [16]float32
		for b := range a {
			blk := row[b*q4_0Bytes : (b+1)*q4_0Bytes]
			s := -8 * a[b].sum
			for e := range 32 {
				s += int32(blk[2+e%16]>>(4*(e/16))&15) * int32(a[b].qs[e])
			}
			l := q4Lane(b % q4ChunkBlocks)
			f[l] = fma32(float32(s), f16ToF32(le16(blk))*a[b].d, f[l])
		}
		var h [8]float32
		for l := range 8 {
			h[l] = f[l] + f[l+8]
		}
		out[i] = ((h[0] + h[1]) + (h[2] + h[3])) + ((h[4] + h[5]) + (h[6] + h[7]))
	}
}

// gemvQ4BFunc is the decoding kernel: out[i] = weight row i (at w[i·ws:],
// nb blocks) times the activation row packed by packQ4GemvAct, i < rows.
type gemvQ4BFunc func(out []float32, w []byte, ws, rows int, a []byte, nb int)

// gemmQ4BFunc is the matrix kernel: pairs of packed weight rows (row i at
// panel[i·ws:], packQ4Panel) times 4 packed input rows (row t at a[t·as:],
// packQ4GemmAct), nch chunks each; row i's result for input row t is stored
// at out[t·ldo+i].
type gemmQ4BFunc func(out []float32, ldo int, panel []byte, ws, pairs int, a []byte, as, nch int)

// q4Scratch is one thread's packed weight panel and result tile.
type q4Scratch struct {
	panel []byte
	tmp   []float32
}

var q4Scratches = sync.Pool{New: func() any { return new(q4Scratch) }}

// matMulQ4B is matMulQ8 for Q4_0 weights on the kernels with block sums in
// lanes; j.a8 holds the quantized input rows. For one input row it returns
// the decoding loop instead of running it (see start).
func (j *quantJob) matMulQ4B(p *Pool) func(lo, hi int) {
	w, n, nb := j.w, j.n, j.nb
	nch := q4Chunks(nb)
	j.as = nch * q4ActChunk
	if n < q4GemmMinRows {
		j.a = j.packed(n * j.as)
		for t := range n {
			packQ4GemvAct(j.a[t*j.as:], j.a8[t*nb:(t+1)*nb])
		}
		if n == 1 {
			return j.q4GemvFn
		}
		p.For(w.Rows, j.q4GemvFn)
		return nil
	}
	nt := (n + 3) / 4 * 4
	j.a = j.packed(nt * j.as)
	clear(j.a[n*j.as:])
	forRows(p, n, j.q4PackFn)
	// Panels of an even number of rows that fit q4PanelBytes, at least two
	// per thread where the matrix allows.
	pr := max(2, q4PanelBytes/(nch*q4PanelChunk))
	pr = min(pr, (w.Rows+2*p.Threads()-1)/(2*p.Threads()))
	j.panel = max(2, (pr+1)&^1)
	p.For((w.Rows+j.panel-1)/j.panel, j.q4PanelsFn)
	return nil
}

func (j *quantJob) q4Pack(lo, hi int) {
	for t := lo; t < hi; t++ {
		packQ4GemmAct(j.a[t*j.as:], j.a8[t*j.nb:(t+1)*j.nb])
	}
}

// q4Gemv computes weight rows [lo, hi) for each input row.
func (j *quantJob) q4Gemv(lo, hi int) {
	rb, rows := j.w.rowBytes(), j.w.Rows
	for t := range j.n {
		curQuant.gemvQ4B(j.out[t*rows+lo:t*rows+hi], j.w.Data[lo*rb:], rb, hi-lo, j.a[t*j.as:(t+1)*j.as], j.nb)
	}
}

// q4Panels computes the weight-row panels [lo, hi) for all input rows.
func (j *quantJob) q4Panels(lo, hi int) {
	s := q4Scratches.Get().(*q4Scratch)
	defer q4Scratches.Put(s)
	w, n, nb, rows := j.w, j.n, j.nb, j.w.Rows
	nch := q4Chunks(nb)
	ps := nch * q4PanelChunk
	if cap(s.panel) < j.panel*ps {
		s.panel = make([]byte, j.panel*ps)
	}
	if cap(s.tmp) < 4*j.panel {
		s.tmp = make([]float32, 4*j.panel)
	}
	rb := w.rowBytes()
	for pi := lo; pi < hi; pi++ {
		r0 := pi * j.panel
		nr := min(j.panel, rows-r0)
		ne := (nr + 1) &^ 1 // rows packed, the last one zero when nr is odd
		panel := s.panel[:ne*ps]
		packQ4Panel(panel, w.Data[r0*rb:], rb, nr, nb)
		if ne > nr {
			clear(panel[nr*ps:])
		}
		for t := 0; t < n; t += 4 {
			a := j.a[t*j.as : (t+4)*j.as]
			if nr == ne && t+4 <= n {
				curQuant.gemmQ4B(j.out[t*rows+r0:], rows, panel, ps, ne/2, a, j.as, nch)
				continue
			}
			tmp := s.tmp[:4*ne]
			curQuant.gemmQ4B(tmp, ne, panel, ps, ne/2, a, j.as, nch)
			for k := range min(4, n-t) {
				copy(j.out[(t+k)*rows+r0:(t+k)*rows+r0+nr], tmp[k*ne:k*ne+nr])
			}
		}
	}
}
