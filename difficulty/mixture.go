package difficulty

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Component is one Beta prior of a Mixture with its mixing weight.
type Component struct {
	Weight float64 `json:"weight"`
	Prior  Prior   `json:"prior"`
}

// Mixture is a prior on a problem's true pass rate that is a weighted sum
// of Beta densities; weights are normalized when used. A two-component
// mixture fits the bimodal pass-rate populations strong models show (most
// problems nearly always or nearly never solved), which one Beta cannot:
// a U-shaped Beta puts too much mass at the very ends and too little in
// the two humps. The empty Mixture means Jeffreys.
type Mixture []Component

// Single is the one-component mixture of p.
func Single(p Prior) Mixture { return Mixture{{Weight: 1, Prior: p.orDefault()}} }

func (m Mixture) orDefault() Mixture {
	var w float64
	for _, c := range m {
		if c.Weight > 0 && c.Prior.valid() {
			w += c.Weight
		}
	}
	if w == 0 {
		return Single(Jeffreys)
	}
	out := make(Mixture, 0, len(m))
	for _, c := range m {
		if c.Weight > 0 && c.Prior.valid() {
			out = append(out, Component{Weight: c.Weight / w, Prior: c.Prior})
		}
	}
	return out
}

// Posterior returns the posterior mixture after k correct of n: each
// component updated to Beta(α+k, β+n−k) and reweighted by its marginal
// likelihood B(α+k, β+n−k)/B(α, β). It panics on invalid counts.
func (m Mixture) Posterior(k, n int) Mixture {
	checkCounts(k, n)
	m = m.orDefault()
	out := make(Mixture, len(m))
	logw := make([]float64, len(m))
	top := math.Inf(-1)
	for i, c := range m {
		a, b := c.Prior.Alpha, c.Prior.Beta
		logw[i] = math.Log(c.Weight) + lbeta(a+float64(k), b+float64(n-k)) - lbeta(a, b)
		top = math.Max(top, logw[i])
		out[i].Prior = Prior{Alpha: a + float64(k), Beta: b + float64(n-k)}
	}
	var s float64
	for i := range out {
		out[i].Weight = math.Exp(logw[i] - top)
		s += out[i].Weight
	}
	for i := range out {
		out[i].Weight /= s
	}
	return out
}

// Mean is the mixture's mean.
func (m Mixture) Mean() float64 {
	var s float64
	for _, c := range m.orDefault() {
		s += c.Weight * c.Prior.Alpha / (c.Prior.Alpha + c.Prior.Beta)
	}
	return s
}

// CDF is P(p ≤ x) under the mixture.
func (m Mixture) CDF(x float64) float64 {
	var s float64
	for _, c := range m.orDefault() {
		s += c.Weight * betaCDF(x, c.Prior.Alpha, c.Prior.Beta)
	}
	return s
}

// PartialMean is E[p · 1{lo < p ≤ hi}] under the mixture (for a Beta(a, b),
// E[p·1{p ≤ x}] = a/(a+b) · I_x(a+1, b)).
func (m Mixture) PartialMean(lo, hi float64) float64 {
	var s float64
	for _, c := range m.orDefault() {
		a, b := c.Prior.Alpha, c.Prior.Beta
		s += c.Weight * a / (a + b) * (betaCDF(hi, a+1, b) - betaCDF(lo, a+1, b))
	}
	return s
}

// LogMarginal is log P(k of n) under the mixture (the beta-binomial
// likelihood without the binomial coefficient, which no fit depends on).
func (m Mixture) LogMarginal(k, n int) float64 {
	checkCounts(k, n)
	m = m.orDefault()
	top := math.Inf(-1)
	ls := make([]float64, len(m))
	for i, c := range m {
		a, b := c.Prior.Alpha, c.Prior.Beta
		ls[i] = math.Log(c.Weight) + lbeta(a+float64(k), b+float64(n-k)) - lbeta(a, b)
		top = math.Max(top, ls[i])
	}
	var s float64
	for _, l := range ls {
		s += math.Exp(l - top)
	}
	return top + math.Log(s)
}

// String formats the mixture, e.g. "0.62·Beta(6.1, 0.9) + 0.38·Beta(0.7, 3.2)".
func (m Mixture) String() string {
	var parts []string
	for _, c := range m.orDefault() {
		parts = append(parts, fmt.Sprintf("%.2f·Beta(%.2f, %.2f)", c.Weight, c.Prior.Alpha, c.Prior.Beta))
	}
	return strings.Join(parts, " + ")
}

// WithMixture returns a copy of b whose memberships use the mixture prior m
// (an empty m means b's single prior). Prior then reports the mixture's
// first component; use Mixture for all of it.
func (b *Binner) WithMixture(m Mixture) *Binner {
	b = b.orDefault()
	nb := &Binner{names: b.names, edges: b.edges, prior: b.prior}
	if len(m) > 0 {
		nb.mix = slices.Clone(m.orDefault())
		nb.prior = nb.mix[0].Prior
	}
	return nb
}

// Mixture returns the prior memberships use, as a mixture (one component
// unless set by WithMixture).
func (b *Binner) Mixture() Mixture {
	b = b.orDefault()
	if len(b.mix) > 0 {
		return slices.Clone(b.mix)
	}
	return Single(b.prior)
}
