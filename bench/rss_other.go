//go:build !linux

package bench

import "runtime"

const mmapSupported = runtime.GOOS != "windows" && runtime.GOOS != "plan9" && runtime.GOOS != "js" && runtime.GOOS != "wasip1"

func resetPeakRSS() bool { return false }

func peakRSS() int64 { return 0 }

func cpuModel() string { return "" }
