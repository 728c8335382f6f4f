package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// TestMatVecs: MatVecs of one to four matrices sharing an input (of one
// type, or of the mixed types a Q4_K_M file gives one layer) equals MatVec
// of each bit for bit, for every kernel set, pool size and row count
// (including matrices smaller than a pool chunk and empty ones).
func TestMatVecs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pools := testPools(t, 2, 3)
	rowSets := [][]int{{7}, {64, 16, 16}, {300, 5}, {1, 0, 300, 33}, {512, 128, 128}}
	typeSets := [][]weights.DType{}
	for _, typ := range allTypes {
		typeSets = append(typeSets, []weights.DType{typ})
	}
	typeSets = append(typeSets, []weights.DType{weights.Q4_K, weights.Q4_K, weights.Q6_K, weights.Q8_0})
	typeSets = append(typeSets, []weights.DType{weights.BF16, weights.BF16 | roundBF16})
	for _, mode := range simdModes() {
		for _, types := range typeSets {
			cols := 256
			if types[0].BlockElems() == 1 {
				cols = 259
			}
			for _, rows := range rowSets {
				name := fmt.Sprintf("%s/%v/%v", modeName(mode), types, rows)
				t.Run(name, func(t *testing.T) {
					defer setSIMD(mode)()
					ws := make([]Mat, len(rows))
					want := make([][]float32, len(rows))
					for i, r := range rows {
						typ := types[i%len(types)]
						ws[i] = makeMat(t, typ&^roundBF16, r, cols, randVec(rng, r*cols, 1))
						ws[i].RoundBF16 = typ&roundBF16 != 0
					}
					x := randVec(rng, cols, 1)
					for _, p := range pools {
						outs := make([][]float32, len(rows))
						for i, w := range ws {
							want[i] = make([]float32, w.Rows)
							MatVec(nil, want[i], w, x)
							outs[i] = make([]float32, w.Rows)
							for k := range outs[i] {
								outs[i][k] = float32(k) + 0.5 // must be overwritten
							}
						}
						MatVecs(p, outs, ws, x)
						for i := range ws {
							for k := range want[i] {
								if outs[i][k] != want[i][k] {
									t.Fatalf("threads %d: matrix %d (%v) row %d: %g, MatVec gives %g", p.Threads(), i, ws[i].Type, k, outs[i][k], want[i][k])
								}
							}
						}
					}
				})
			}
		}
	}
}

// roundBF16 marks a BF16 matrix of TestMatVecs with Mat.RoundBF16 set.
const roundBF16 weights.DType = 1 << 7

// TestMatVecsNoAlloc: like MatVec, a warm MatVecs allocates nothing (it is
// called for every layer of every decoded token).
func TestMatVecsNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items)")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(13, 14))
	for _, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			ws := []Mat{makeMat(t, typ, 512, 512, randVec(rng, 512*512, 1)), makeMat(t, typ, 128, 512, randVec(rng, 128*512, 1))}
			outs := [][]float32{make([]float32, 512), make([]float32, 128)}
			x := randVec(rng, 512, 1)
			MatVecs(p, outs, ws, x)
			if a := testing.AllocsPerRun(50, func() { MatVecs(p, outs, ws, x) }); a != 0 {
				t.Errorf("%v allocations per call, want 0", a)
			}
		})
	}
}

func TestMatVecsBadInput(t *testing.T) {
	w := Mat{Type: weights.F32, Rows: 2, Cols: 3, Data: make([]byte, 24)}
	for name, f := range map[string]func(){
		"short x":   func() { MatVecs(nil, [][]float32{make([]float32, 2)}, []Mat{w}, make([]float32, 2)) },
		"short out": func() { MatVecs(nil, [][]float32{make([]float32, 1)}, []Mat{w}, make([]float32, 3)) },
		"counts":    func() { MatVecs(nil, [][]float32{make([]float32, 2)}, []Mat{w, w}, make([]float32, 3)) },
		"too many":  func() { MatVecs(nil, make([][]float32, 5), make([]Mat, 5), make([]float32, 3)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
