package recovery

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The filter's memory stops growing at bloomMaxBytes; past it every key
// is still found (no false negative: a miss is never claimed for a key in
// the cache) and the false positives rise as the last level fills, as a
// Bloom filter's formula says.
func TestKeyFilterIsBounded(t *testing.T) {
	defer func(b int) { bloomMaxBytes = b }(bloomMaxBytes)
	bloomMaxBytes = 96 << 10 // the first two levels: 32 + 64 KiB, 49,152 keys planned
	f := newKeyFilter()
	f.ready.Store(true)
	const keys = 150_000
	for i := range keys {
		f.add(fmt.Sprintf("k-%d", i))
	}
	assert.LessOrEqual(t, f.bytes, bloomMaxBytes)
	require.Len(t, f.levels, 2, "no level past the bound")
	for i := range keys {
		require.False(t, f.absent(fmt.Sprintf("k-%d", i)), "key %d", i)
	}
	fp := 0
	const probes = 20_000
	for i := range probes {
		if !f.absent(fmt.Sprintf("other-%d", i)) {
			fp++
		}
	}
	// A key is falsely present if either level says so: 1 − Π(1 − f_l),
	// f_l = (1 − e^{−k·n_l/m_l})^k.
	want := 1.0
	for _, l := range f.levels {
		m := float64(len(l.words) * 64)
		want *= 1 - math.Pow(1-math.Exp(-bloomProbes*float64(l.n)/m), bloomProbes)
	}
	want = 1 - want
	got := float64(fp) / probes
	t.Logf("%d keys in %d bytes (%.1f bits a key): %.1f %% false positives, formula %.1f %%", keys, f.bytes,
		8*float64(f.bytes)/keys, 100*got, 100*want)
	assert.InDelta(t, want, got, 0.02)
	assert.Greater(t, got, 0.05, "an overfull last level does have more false positives (the test has power)")
}
