package verify

import (
	"context"
	"testing"
)

// BenchmarkVerifyMath500 measures verifications per second on MATH-500
// solution/answer pairs (each solution against its own answer).
func BenchmarkVerifyMath500(b *testing.B) {
	rows := readJSONL[math500Row](b, "testdata/math500.jsonl")
	m := NewMath()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := rows[i%len(rows)]
		if _, err := m.Verify(ctx, r.Answer, r.Solution); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkVerifyGSM8K measures GSM8K gold answer verification.
func BenchmarkVerifyGSM8K(b *testing.B) {
	rows := readJSONL[gsmRow](b, "testdata/gsm8k_test.jsonl")
	m := NewMath()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := rows[i%len(rows)]
		if _, err := m.Verify(ctx, "18", r.Answer); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkVerifyHostile measures each hostile input; every one must take
// milliseconds at most.
func BenchmarkVerifyHostile(b *testing.B) {
	m := NewMath()
	ctx := context.Background()
	for name, in := range hostileInputs() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(ctx, in[0], in[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
