package kernels

// quantKernels are the tiled matrix kernels for quantized weights of one
// kernel set (kernelSet.quant). They live apart from kernelSet's other fields
// so that quantized and float kernels can evolve independently.
//
// gemmQ8_0[nr-1] and gemmQ4_0[nr-1] multiply groups of 4 weight rows with nr
// packed activation rows (see gemmQGo for the contract); nil entries leave
// Q8_0 / Q4_0 weights to the per-row dot kernels of the kernel set.
type quantKernels struct {
	gemmQ8_0, gemmQ4_0 [4]gemmQFunc
}

// gemmQFunc is one tiled kernel: groups×4 weight rows (row i of a group at
// w[i·ws:], the next group at w[4·ws:]) times nr packed activation rows
// (row j at a[j·as:], np full block pairs then tail = 0 or 1 half pair),
// token j's 4 results of each group stored at out[j·ldo:] (ldo in float32s),
// the next group's 4 places further.
type gemmQFunc func(out []float32, ldo int, w []byte, ws, groups int, a []byte, as, np, tail int)

// goQuantKernels is the plain-Go reference: it has no tiled kernels, the
// per-row dots serve (gemmQGo is the reference the tiled kernels are held
// to in tests).
var goQuantKernels = quantKernels{}

// curQuant are the quantized kernels in use (see useKernels).
var curQuant quantKernels
