package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// TestMatVecQuantNoAlloc: decoding must not allocate per token. MatVec (and
// small batched MatMuls) of each quantized type, on a pool and on the
// calling goroutine, allocates nothing once its scratch buffers are warm.
func TestMatVecQuantNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items)")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, typ := range []weights.DType{weights.Q8_0, weights.Q4_0, weights.Q4_K, weights.Q6_K} {
		for _, shape := range [][2]int{{128, 1024}, {1024, 1024}, {37, 512}} {
			rows, cols := shape[0], shape[1]
			data, err := Quantize(typ, randVec(rng, rows*cols, 1))
			if err != nil {
				t.Fatal(err)
			}
			w := Mat{Type: typ, Rows: rows, Cols: cols, Data: data}
			for _, n := range []int{1, 3, 8} {
				for _, pool := range []*Pool{nil, p} {
					t.Run(fmt.Sprintf("%v/%dx%d/n=%d/pool=%v", typ, rows, cols, n, pool != nil), func(t *testing.T) {
						x := randVec(rng, n*cols, 1)
						out := make([]float32, n*rows)
						MatMul(pool, out, w, x, n) // warm the scratch buffers
						if a := testing.AllocsPerRun(50, func() { MatMul(pool, out, w, x, n) }); a != 0 {
							t.Errorf("%v allocations per call, want 0", a)
						}
					})
				}
			}
		}
	}
}
