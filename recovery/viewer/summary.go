package viewer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// summaryJSON mirrors summary.json's stable keys (issue 7). Rates are
// pointers because undefined rates are written as null.
type summaryJSON struct {
	Buckets []bucketJSON `json:"buckets"`
	Overall *bucketJSON  `json:"overall"`
	Cost    struct {
		Calls        int     `json:"calls"`
		CachedCalls  int     `json:"cached_calls"`
		InputTokens  int     `json:"input_tokens"`
		OutputTokens int     `json:"output_tokens"`
		USD          float64 `json:"usd"`
	} `json:"cost"`
	ByDepth []struct {
		Depth         float64  `json:"depth"`
		Continuations int      `json:"continuations"`
		RecoveryRate  *float64 `json:"recovery_rate"`
	} `json:"by_depth"`
	ByStrategy []struct {
		Strategy string       `json:"strategy"`
		Buckets  []bucketJSON `json:"buckets"`
		Overall  *bucketJSON  `json:"overall"`
	} `json:"by_strategy"`
}

type bucketJSON struct {
	Name               string         `json:"name"`
	Problems           int            `json:"problems"`
	StrongPassRate     *float64       `json:"strong_pass_rate"`
	WeakPassRate       *float64       `json:"weak_pass_rate"`
	SetAside           map[string]int `json:"set_aside"`
	Continuations      int            `json:"continuations"`
	Recovered          int            `json:"recovered"`
	RecoveryRate       *float64       `json:"recovery_rate"`
	RecoveryCI         []*float64     `json:"recovery_ci"`
	NormalizedRecovery *float64       `json:"normalized_recovery"`
	RestartRate        *float64       `json:"restart_rate"`
}

// summary is the overview part read from summary.json.
type summary struct {
	Buckets    []Bucket
	Overall    Bucket
	ByDepth    []DepthRow
	ByStrategy []StrategyTable
	Cost       Cost
}

// parseSummary reads summary.json (name is used in errors). Syntax and type
// errors are located as name:line:col; invalid values name their field,
// e.g. "summary.json: buckets[1].recovery_rate: 1.5 is not in [0, 1]".
func parseSummary(name string, data []byte) (summary, error) {
	var raw summaryJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(data, se.Offset-1) // Offset is just past the bad byte
			return summary{}, fmt.Errorf("%s:%d:%d: %v", name, line, col, se)
		case errors.As(err, &te):
			line, col := position(data, te.Offset)
			return summary{}, fmt.Errorf("%s:%d:%d: field %s: %s where %s is expected", name, line, col, te.Field, te.Value, te.Type)
		}
		return summary{}, fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		line, col := position(data, dec.InputOffset())
		return summary{}, fmt.Errorf("%s:%d:%d: unexpected data after the summary object", name, line, col)
	}
	var s summary
	for i, b := range raw.Buckets {
		bk, err := b.bucket(fmt.Sprintf("buckets[%d]", i))
		if err != nil {
			return summary{}, fmt.Errorf("%s: %w", name, err)
		}
		if bk.Name == "" {
			return summary{}, fmt.Errorf("%s: buckets[%d].name: empty", name, i)
		}
		s.Buckets = append(s.Buckets, bk)
	}
	if raw.Overall != nil {
		o, err := raw.Overall.bucket("overall")
		if err != nil {
			return summary{}, fmt.Errorf("%s: %w", name, err)
		}
		o.Name = ""
		s.Overall = o
	} else {
		s.Overall = Bucket{StrongPassRate: math.NaN(), WeakPassRate: math.NaN(), RecoveryRate: math.NaN(),
			NormalizedRecovery: math.NaN(), RestartRate: math.NaN(), RecoveryCI: [2]float64{math.NaN(), math.NaN()}}
	}
	c := raw.Cost
	if c.Calls < 0 || c.CachedCalls < 0 || c.InputTokens < 0 || c.OutputTokens < 0 || c.USD < 0 {
		return summary{}, fmt.Errorf("%s: cost: negative count or dollars", name)
	}
	s.Cost = Cost{Calls: c.Calls, CachedCalls: c.CachedCalls, InputTokens: c.InputTokens, OutputTokens: c.OutputTokens, USD: c.USD}
	for i, d := range raw.ByDepth {
		field := fmt.Sprintf("by_depth[%d]", i)
		if d.Depth < 0 || d.Depth > 1 {
			return summary{}, fmt.Errorf("%s: %s.depth: %g is not in [0, 1]", name, field, d.Depth)
		}
		if d.Continuations < 0 {
			return summary{}, fmt.Errorf("%s: %s.continuations: %d is negative", name, field, d.Continuations)
		}
		r, err := rate(field+".recovery_rate", d.RecoveryRate, 1)
		if err != nil {
			return summary{}, fmt.Errorf("%s: %w", name, err)
		}
		s.ByDepth = append(s.ByDepth, DepthRow{Depth: d.Depth, Continuations: d.Continuations, RecoveryRate: r})
	}
	for i, st := range raw.ByStrategy {
		field := fmt.Sprintf("by_strategy[%d]", i)
		if st.Strategy == "" {
			return summary{}, fmt.Errorf("%s: %s.strategy: empty", name, field)
		}
		t := StrategyTable{Strategy: st.Strategy}
		for j, b := range st.Buckets {
			bk, err := b.bucket(fmt.Sprintf("%s.buckets[%d]", field, j))
			if err != nil {
				return summary{}, fmt.Errorf("%s: %w", name, err)
			}
			t.Buckets = append(t.Buckets, bk)
		}
		if st.Overall != nil {
			o, err := st.Overall.bucket(field + ".overall")
			if err != nil {
				return summary{}, fmt.Errorf("%s: %w", name, err)
			}
			o.Name = ""
			t.Overall = o
		}
		s.ByStrategy = append(s.ByStrategy, t)
	}
	return s, nil
}

func (b bucketJSON) bucket(field string) (Bucket, error) {
	out := Bucket{Name: b.Name, Problems: b.Problems, SetAside: b.SetAside, Continuations: b.Continuations, Recovered: b.Recovered}
	for _, c := range []struct {
		name string
		n    int
	}{{"problems", b.Problems}, {"continuations", b.Continuations}, {"recovered", b.Recovered}} {
		if c.n < 0 {
			return Bucket{}, fmt.Errorf("%s.%s: %d is negative", field, c.name, c.n)
		}
	}
	for reason, n := range b.SetAside {
		if n < 0 {
			return Bucket{}, fmt.Errorf("%s.set_aside.%s: %d is negative", field, reason, n)
		}
	}
	var err error
	for _, r := range []struct {
		name string
		src  *float64
		dst  *float64
		max  float64
	}{
		{"strong_pass_rate", b.StrongPassRate, &out.StrongPassRate, 1},
		{"weak_pass_rate", b.WeakPassRate, &out.WeakPassRate, 1},
		{"recovery_rate", b.RecoveryRate, &out.RecoveryRate, 1},
		{"normalized_recovery", b.NormalizedRecovery, &out.NormalizedRecovery, math.Inf(1)},
		{"restart_rate", b.RestartRate, &out.RestartRate, 1},
	} {
		if *r.dst, err = rate(field+"."+r.name, r.src, r.max); err != nil {
			return Bucket{}, err
		}
	}
	out.RecoveryCI = [2]float64{math.NaN(), math.NaN()}
	switch len(b.RecoveryCI) {
	case 0:
	case 2:
		for i := range 2 {
			if out.RecoveryCI[i], err = rate(fmt.Sprintf("%s.recovery_ci[%d]", field, i), b.RecoveryCI[i], 1); err != nil {
				return Bucket{}, err
			}
		}
	default:
		return Bucket{}, fmt.Errorf("%s.recovery_ci: want [lo, hi], got %d numbers", field, len(b.RecoveryCI))
	}
	return out, nil
}

// rate converts a nullable JSON rate, checking it lies in [0, max].
func rate(field string, p *float64, max float64) (float64, error) {
	if p == nil {
		return math.NaN(), nil
	}
	if *p < 0 || *p > max {
		return 0, fmt.Errorf("%s: %g is not in [0, %g]", field, *p, max)
	}
	return *p, nil
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	prefix := data[:off]
	line = 1 + bytes.Count(prefix, []byte("\n"))
	col = int(off) - (bytes.LastIndexByte(prefix, '\n') + 1) + 1
	return line, col
}
