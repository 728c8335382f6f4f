package kernels

// quantKernels are the tiled matrix kernels for quantized weights of one
// kernel set (kernelSet.quant). They live apart from kernelSet's other fields
// so that quantized and float kernels can evolve independently.
//
// gemmQ8_0[nr-1] multiplies groups of 4 weight rows with nr packed
// activation rows (see gemmQGo for the contract); nil entries leave Q8_0
// weights to the per-row dot kernels of the kernel set. gemvQ8_0 is the
// one-activation-row kernel of decoding; per weight row it performs the
// same operations as gemmQ8_0. gemvQ8_0C is gemvQ8_0 on the compact
// activation layout (compactQ8Act) that decoding uses for long rows, with
// the same results bit for bit.
//
// dotQ8_0x8, where set, is dotQ8_0x4 for eight activation rows (res[k] =
// dotQ8_0 of row k, bit for bit): the per-row matrix path of Q8_0 takes
// eight input rows at a time with it. ds holds the eight rows' scales by
// block (q8Scales8), so that each weight block's eight scale products take
// one vector multiply. (The VNNI set's Q8_0 matrices go through gemmQ8_0
// instead.) dotQ4Kx8, where set, is the same for Q4_K and dotQ4Kx4 (it
// takes no scales: ds is nil).
//
// gemvQ8, where set, is the Q8_0 decoding kernel of the per-row path:
// out[i] = dotQ8_0(row i at w[i·ws:], a) bit for bit, i < len(out), several
// rows at a time (nil leaves decoding to dotQ8_0 row by row).
//
// gemvQ4KR and gemvQ6KR, where set, are the same for Q4_K and dotQ4K,
// Q6_K and dotQ6K, on activation blocks in their plain order (gemvQ4K
// takes them reordered).
//
// gemvQ4B and gemmQ4B are the Q4_0 kernels with block sums in lanes
// (quant_q4.go), decoding and matrix; nil leaves Q4_0 to the per-row dots.
//
// gemmQ4K[np-1] multiplies Q4_K weight rows with np pairs of activation
// rows (see gemmQ4KGo); per weight row it performs the float operations of
// the kernel set's dotQ4K; gemvQ4K, where set, is the decoding kernel that
// does so for a run of weight rows, its activation blocks prepared by
// q4KGemvOrder (else decoding keeps dotQ4K). gemmQ6K
// [nr-1] does the same for Q6_K (and dotQ6K) with nr activation rows, and
// gemvQ6K for Q6_K decoding. nil entries leave the type to the per-row dots.
type quantKernels struct {
	gemmQ8_0  [4]gemmQFunc
	gemvQ8_0  gemvQFunc
	gemvQ8_0C gemvQFunc
	dotQ8_0x8 func(res *[8]float32, w []byte, a []blockQ8, ds []float32, nb int)
	dotQ4Kx8  func(res *[8]float32, w []byte, a []blockQ8K, ds []float32, nb int)
	gemvQ8    func(out []float32, w []byte, ws int, a []blockQ8)
	gemvQ4KR  gemvKFunc
	gemvQ6KR  gemvKFunc
	gemvQ4B   gemvQ4BFunc
	gemmQ4B   gemmQ4BFunc
	gemmQ4K   [2]gemmKPFunc
	gemvQ4K   gemvKFunc
	gemvQ6K   gemvKFunc
	gemmQ6K   [4]gemmKFunc
}

// gemmKFunc is one tiled K-quant kernel: rows weight rows (row i at
// w[i·ws:]) times nr activation rows of nb blocks each (row t at a[t·as:],
// as counted in blocks), the result of weight row i and activation row t
// stored at out[t·ldo+i].
type gemmKFunc func(out []float32, ldo int, w []byte, ws, rows int, a []blockQ8K, as, nb int)

// gemvKFunc is a K-quant decoding kernel: out[i] = weight row i (at
// w[i·ws:], len(a) blocks) times the activation row a, i < len(out).
type gemvKFunc func(out []float32, w []byte, ws int, a []blockQ8K)

// gemmKPFunc is a gemmKFunc for np pairs of activation rows that also reads
// each pair's side records (pair q at side[q·ss:], see packQ4KSide) and
// stores the results of the first ns ≤ 2·np rows only.
type gemmKPFunc func(out []float32, ldo int, w []byte, ws, rows int, a []blockQ8K, as, nb int, side []byte, ss, ns int)

// gemmQFunc is one tiled kernel: groups×4 weight rows (row i of a group at
// w[i·ws:], the next group at w[4·ws:]) times nr packed activation rows
// (row j at a[j·as:], np full block pairs then tail = 0 or 1 half pair),
// token j's 4 results of each group stored at out[j·ldo:] (ldo in float32s),
// the next group's 4 places further. prefetch asks the kernel to prefetch
// each next group's rows (worth it when they come from memory).
type gemmQFunc func(out []float32, ldo int, w []byte, ws, groups int, a []byte, as, np, tail int, prefetch bool)

// gemvQFunc is one decoding kernel: out[i] = row i (at w[i·ws:]) times the
// packed activation row a (np full block pairs, then tail = 0 or 1 half
// pair), for i < rows.
type gemvQFunc func(out []float32, w []byte, ws, rows int, a []byte, np, tail int)

// goQuantKernels is the plain-Go reference: it has no tiled kernels, the
// per-row dots serve (gemmQGo is the reference the tiled kernels are held
// to in tests).
var goQuantKernels = quantKernels{}

// curQuant are the quantized kernels in use (see useKernels).
var curQuant quantKernels
