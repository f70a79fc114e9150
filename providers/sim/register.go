package sim

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

func init() { providers.Register("sim", Open) }

// embedded is the union of the embedded problem sets, loaded once.
var embedded = sync.OnceValue(func() []dataset.Problem {
	return append(dataset.GSM8KTest(), dataset.MATH500()...)
})

// Open returns a Solver for a preset, "strong" or "weak", preloaded with
// dataset.GSM8KTest and dataset.MATH500. It is the Opener registered as
// provider "sim", so providers.Open("sim:strong") calls it.
//
// Options may follow the preset as a query string:
//
//	seed=N          Config.Seed
//	restart=P       Config.RestartProb
//	latency=D       Config.Latency (a time.ParseDuration string)
//	scale=F         Config.OutputScale
//	recovery=C      Config.Recovery, a ParseRecoveryCurve string such as
//	                linear:0.8, step:0.7:0.2:0.2:0.8 or constant:0.5:aon
//	price=P:M       Config.Price: provider P's model M in providers.DefaultPrices,
//	                so a dry run counts a real model's dollars
//
// e.g. "sim:strong?seed=3&price=openai:gpt-4o-mini".
func Open(model string) (providers.Completer, error) {
	name, query, _ := strings.Cut(model, "?")
	var cfg Config
	switch name {
	case "strong":
		cfg = Strong()
	case "weak":
		cfg = Weak()
	default:
		return nil, fmt.Errorf("sim: unknown model %q (known: strong, weak)", name)
	}
	opts, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("sim: model %q: options: %v", model, err)
	}
	for key, vals := range opts {
		v := vals[len(vals)-1]
		bad := func(err error) error {
			return fmt.Errorf("sim: model %q: option %s=%q: %v", model, key, v, err)
		}
		switch key {
		case "seed":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, bad(err)
			}
			cfg.Seed = n
		case "restart":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p > 1 {
				return nil, bad(fmt.Errorf("want a probability in [0, 1]"))
			}
			cfg.RestartProb = p
		case "latency":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, bad(fmt.Errorf("want a non-negative duration such as 200ms"))
			}
			cfg.Latency = d
		case "scale":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) {
				return nil, bad(fmt.Errorf("want a non-negative number"))
			}
			cfg.OutputScale = f
		case "price":
			prov, m, ok := strings.Cut(v, ":")
			if !ok || prov == "" || m == "" {
				return nil, bad(fmt.Errorf("want provider:model, e.g. openai:gpt-4o-mini"))
			}
			p, ok := providers.DefaultPrices().Lookup(prov, m)
			if !ok {
				return nil, bad(fmt.Errorf("no known price for %s", v))
			}
			cfg.Price = &p
		case "recovery":
			c, err := ParseRecoveryCurve(v)
			if err != nil {
				return nil, bad(err)
			}
			cfg.Recovery = c
		default:
			return nil, bad(fmt.Errorf("unknown option (known: seed, restart, latency, scale, price, recovery)"))
		}
	}
	return New(cfg, embedded()...), nil
}
