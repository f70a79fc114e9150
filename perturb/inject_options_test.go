package perturb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
)

func gsm8k200(t *testing.T) []dataset.Problem {
	t.Helper()
	f, err := os.Open("testdata/gsm8k_test_200.jsonl")
	require.NoError(t, err)
	defer f.Close()
	ps, err := dataset.LoadGSM8K(f, "gsm8k_test_200.jsonl")
	require.NoError(t, err)
	return ps
}

// TestInjectOptionsRecordWhatTheyDo checks every error type, magnitude and
// position on 200 real GSM8K solutions: the prefix records the options, the
// recorded magnitude and position are the ones asked for, the corrupted
// step holds the wrong value, and most problems can take each error.
func TestInjectOptionsRecordWhatTheyDo(t *testing.T) {
	ps := gsm8k200(t)
	type opt struct {
		typ perturb.ErrorType
		mag perturb.Magnitude
		pos perturb.Position
	}
	var opts []opt
	for _, typ := range perturb.ErrorTypes {
		mags := []perturb.Magnitude{""}
		if typ == perturb.ErrArithmetic || typ == perturb.ErrOperand {
			mags = append(mags, perturb.Small, perturb.Large)
		}
		for _, m := range mags {
			for _, pos := range []perturb.Position{"", perturb.Early, perturb.Middle, perturb.Late} {
				opts = append(opts, opt{typ, m, pos})
			}
		}
	}
	for _, o := range opts {
		t.Run(fmt.Sprintf("%s/%s/%s", o.typ, o.mag, o.pos), func(t *testing.T) {
			inj := &perturb.InjectError{Seed: 7, Type: o.typ, Magnitude: o.mag, Position: o.pos}
			made := 0
			for _, p := range ps {
				pre, err := inj.Perturb(context.Background(), p)
				if errors.Is(err, perturb.ErrTooShort) {
					continue
				}
				require.NoError(t, err, p.ID)
				made++
				m := pre.Meta
				assert.Equal(t, string(o.typ), m["error_type"])
				assert.NotEqual(t, m["original"], m["corrupted"])
				if o.mag != "" {
					assert.Equal(t, string(o.mag), m["magnitude"], "%s: %s → %s", p.ID, m["original"], m["corrupted"])
				}
				if o.pos != "" {
					assert.Equal(t, string(o.pos), m["position"], p.ID)
				}
				switch o.typ {
				case perturb.ErrSign:
					assert.Equal(t, strings.TrimPrefix(m["original"], "-"), strings.TrimPrefix(m["corrupted"], "-"))
				case perturb.ErrOffByOne:
					a, _ := strconv.ParseFloat(strings.ReplaceAll(m["original"], ",", ""), 64)
					b, _ := strconv.ParseFloat(strings.ReplaceAll(m["corrupted"], ",", ""), 64)
					assert.InDelta(t, 1, abs(a-b), 1.0001, "%s → %s", m["original"], m["corrupted"])
				case perturb.ErrScale:
					assert.Equal(t, string(perturb.Large), m["magnitude"])
				}
				steps := perturb.Split(pre.Source)
				require.Equal(t, pre.ErrorStep, pre.StepsKept, "cut right after the error")
				assert.Contains(t, steps[pre.ErrorStep-1].Text, m["corrupted"])
				assert.Equal(t, "0", m["steps_after_error"])
			}
			t.Logf("%d of %d problems took the error", made, len(ps))
			min := 100
			if o.pos != "" || o.typ == perturb.ErrOperand {
				min = 25
			}
			assert.GreaterOrEqual(t, made, min, "problems that could take the error")
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestInjectKeepAfter(t *testing.T) {
	ps := gsm8k200(t)
	for _, k := range []int{1, 2} {
		inj := &perturb.InjectError{Seed: 1, KeepAfter: k, Position: perturb.Early}
		full := 0
		for _, p := range ps {
			pre, err := inj.Perturb(context.Background(), p)
			if errors.Is(err, perturb.ErrTooShort) {
				continue
			}
			require.NoError(t, err)
			after, _ := strconv.Atoi(pre.Meta["steps_after_error"])
			assert.Equal(t, pre.StepsKept-pre.ErrorStep, after)
			assert.LessOrEqual(t, after, k)
			assert.False(t, perturb.HasFinalAnswer(pre.Text), p.ID)
			if after == k {
				full++
			}
		}
		assert.Greater(t, full, 50, "k=%d steps kept after the error on most problems", k)
	}
}

func TestInjectOptionsDefaultUnchanged(t *testing.T) {
	p := gsm8k200(t)[0]
	a, err := (&perturb.InjectError{Seed: 5}).Perturb(context.Background(), p)
	require.NoError(t, err)
	b, err := (&perturb.InjectError{Seed: 5, Type: perturb.ErrArithmetic}).Perturb(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, a, b, "ErrArithmetic with no magnitude is the default")
}

func TestInjectOptionsRejectBadValues(t *testing.T) {
	p := gsm8k200(t)[0]
	for _, inj := range []*perturb.InjectError{{Type: "typo"}, {Magnitude: "huge"}, {Position: "first"},
		{KeepAfter: -1}, {Type: perturb.ErrSign, Magnitude: perturb.Small}} {
		_, err := inj.Perturb(context.Background(), p)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "InjectError.")
	}
}

func TestMagnitudeAndPositionOf(t *testing.T) {
	assert.Equal(t, perturb.Small, perturb.MagnitudeOf("100", "110"))
	assert.Equal(t, perturb.Medium, perturb.MagnitudeOf("10", "15"))
	assert.Equal(t, perturb.Large, perturb.MagnitudeOf("1,200", "120"))
	assert.Equal(t, perturb.Large, perturb.MagnitudeOf("0", "3"))
	assert.Equal(t, perturb.Magnitude(""), perturb.MagnitudeOf("x", "3"))
	assert.Equal(t, perturb.Early, perturb.PositionOf(0, 3))
	assert.Equal(t, perturb.Middle, perturb.PositionOf(1, 3))
	assert.Equal(t, perturb.Late, perturb.PositionOf(2, 3))
	assert.Equal(t, perturb.Late, perturb.PositionOf(1, 2))
}
