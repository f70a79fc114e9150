package providers

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
)

// Price is what a model costs, in US dollars per million tokens.
//
// Billing convention: Usage.InputTokens counts every prompt token, cached or
// not (OpenAI's convention; adapters for APIs that report cache reads
// separately add them in). Usage.CachedInputTokens of those are billed at
// CachedInputPerM and not again at InputPerM. A CachedInputPerM of 0 means the
// provider offers no cached-input discount, so cached tokens are billed at
// InputPerM. Usage.ReasoningTokens are part of OutputTokens and are not billed
// twice.
type Price struct {
	InputPerM       float64 `json:"input_per_m"`
	CachedInputPerM float64 `json:"cached_input_per_m,omitempty"`
	OutputPerM      float64 `json:"output_per_m"`
}

// Cost returns the dollar cost of u at p, following the convention in
// Price's doc comment.
func (p Price) Cost(u Usage) float64 {
	cached := min(max(u.CachedInputTokens, 0), max(u.InputTokens, 0))
	fresh := max(u.InputTokens, 0) - cached
	cachedRate := p.CachedInputPerM
	if cachedRate == 0 {
		cachedRate = p.InputPerM
	}
	return (float64(fresh)*p.InputPerM + float64(cached)*cachedRate + float64(max(u.OutputTokens, 0))*p.OutputPerM) / 1e6
}

// IsZero reports whether every rate is zero (a free model).
func (p Price) IsZero() bool { return p == Price{} }

// PriceTable maps provider and model names to prices. Lookups are
// case-insensitive. Providers declared free (local servers such as vLLM,
// SGLang, Ollama, and the sim and mock completers) price every model at zero.
//
// Build a table with DefaultPrices, LoadPrices or NewPriceTable and Set, then
// share it: concurrent Lookups are safe, but Set and SetFree must not run
// concurrently with anything else. A nil *PriceTable knows no prices.
type PriceTable struct {
	// AsOf is the date the prices were checked, as written in the source
	// (e.g. "2026-11-27"); informational.
	AsOf   string
	prices map[string]map[string]Price
	free   map[string]bool
}

// NewPriceTable returns an empty table.
func NewPriceTable() *PriceTable {
	return &PriceTable{prices: map[string]map[string]Price{}, free: map[string]bool{}}
}

// Set records the price of provider's model, replacing any previous one.
func (t *PriceTable) Set(provider, model string, p Price) {
	provider, model = strings.ToLower(provider), strings.ToLower(model)
	if t.prices[provider] == nil {
		t.prices[provider] = map[string]Price{}
	}
	t.prices[provider][model] = p
}

// SetFree declares that every model of provider costs nothing.
func (t *PriceTable) SetFree(provider string) { t.free[strings.ToLower(provider)] = true }

// IsFree reports whether provider was declared free.
func (t *PriceTable) IsFree(provider string) bool {
	return t != nil && t.free[strings.ToLower(provider)]
}

// Providers returns the sorted names of providers with at least one priced
// model or a free declaration.
func (t *PriceTable) Providers() []string {
	if t == nil {
		return nil
	}
	names := slices.Collect(maps.Keys(t.prices))
	for p := range t.free {
		if t.prices[p] == nil {
			names = append(names, p)
		}
	}
	slices.Sort(names)
	return names
}

// Lookup returns the price of provider's model. It matches, in order:
//
//  1. a free provider (zero price);
//  2. the exact model name;
//  3. the longest known model name that model extends with a version
//     suffix, e.g. "gpt-4o-mini-2024-07-18" → "gpt-4o-mini",
//     "claude-sonnet-4-5-20250929" → "claude-sonnet-4-5"; a suffix is a
//     '-', '@' or ':' followed by parts that are all digits or one of
//     "latest", "preview", "exp", "beta";
//  4. for OpenRouter, "vendor/model" looked up under the vendor's own table
//     (OpenRouter passes list prices through), with dots read as dashes for
//     Anthropic names ("anthropic/claude-sonnet-4.5").
//
// It returns false when nothing matches.
func (t *PriceTable) Lookup(provider, model string) (Price, bool) {
	if t == nil {
		return Price{}, false
	}
	provider, model = strings.ToLower(provider), strings.ToLower(model)
	if t.free[provider] {
		return Price{}, true
	}
	if p, ok := t.lookupModel(provider, model); ok {
		return p, true
	}
	if provider == "openrouter" {
		if vendor, name, ok := strings.Cut(model, "/"); ok {
			if v, ok := openRouterVendors[vendor]; ok {
				if p, ok := t.lookupModel(v, name); ok {
					return p, true
				}
				if v == "anthropic" {
					return t.lookupModel(v, strings.ReplaceAll(name, ".", "-"))
				}
			}
		}
	}
	return Price{}, false
}

// openRouterVendors maps OpenRouter's vendor prefixes to provider tables.
var openRouterVendors = map[string]string{
	"openai": "openai", "anthropic": "anthropic", "deepseek": "deepseek",
	"mistralai": "mistral", "cohere": "cohere",
}

func (t *PriceTable) lookupModel(provider, model string) (Price, bool) {
	models := t.prices[provider]
	if models == nil {
		return Price{}, false
	}
	if p, ok := models[model]; ok {
		return p, true
	}
	best, bestLen := Price{}, -1
	for name, p := range models {
		if len(name) > bestLen && len(model) > len(name) && strings.HasPrefix(model, name) && isVersionSuffix(model[len(name):]) {
			best, bestLen = p, len(name)
		}
	}
	return best, bestLen >= 0
}

// isVersionSuffix reports whether s looks like "-2024-07-18", "-20241022",
// "-latest", "@20250514", ":beta".
func isVersionSuffix(s string) bool {
	if len(s) < 2 || !strings.ContainsRune("-@:", rune(s[0])) {
		return false
	}
	for part := range strings.FieldsFuncSeq(s[1:], func(r rune) bool { return r == '-' || r == '@' || r == ':' }) {
		switch part {
		case "latest", "preview", "exp", "beta":
			continue
		}
		for _, r := range part {
			if r < '0' || r > '9' {
				return false
			}
		}
	}
	return true
}

// Merge returns a new table holding t's entries overridden by o's (prices of
// the same provider and model are replaced; free declarations add up). Either
// may be nil.
func (t *PriceTable) Merge(o *PriceTable) *PriceTable {
	out := NewPriceTable()
	for _, src := range []*PriceTable{t, o} {
		if src == nil {
			continue
		}
		if src.AsOf != "" {
			out.AsOf = src.AsOf
		}
		for prov, models := range src.prices {
			for m, p := range models {
				out.Set(prov, m, p)
			}
		}
		for prov := range src.free {
			out.SetFree(prov)
		}
	}
	return out
}

//go:embed prices.json
var defaultPricesJSON []byte

// DefaultPrices returns a fresh copy of Rebound's built-in price table:
// list prices for models users are likely to name on OpenAI, Anthropic,
// DeepSeek, Mistral, Cohere, Together and OpenRouter, checked on the date in
// its AsOf field, and the local providers (vllm, sglang, ollama, llamacpp,
// lmstudio, sim, mock) declared free. Prices change: override them with
// LoadPrices or Set.
func DefaultPrices() *PriceTable { return defaultPrices().Merge(nil) }

var defaultPrices = sync.OnceValue(func() *PriceTable {
	t, err := parsePrices(bytes.NewReader(defaultPricesJSON), "prices.json")
	if err != nil {
		panic("providers: embedded prices.json: " + err.Error())
	}
	return t
})

// priceFile is the JSON layout of a price table.
type priceFile struct {
	AsOf          string                      `json:"as_of"`
	Note          string                      `json:"note"`
	FreeProviders []string                    `json:"free_providers"`
	Providers     map[string]map[string]Price `json:"providers"`
}

// ParsePrices reads a price table from JSON:
//
//	{
//	  "as_of": "2026-11-27",
//	  "free_providers": ["vllm"],
//	  "providers": {
//	    "openai": {"gpt-4o-mini": {"input_per_m": 0.15, "cached_input_per_m": 0.075, "output_per_m": 0.6}}
//	  }
//	}
//
// Unknown fields, negative or non-finite prices and empty names are errors
// naming the line and field.
func ParsePrices(r io.Reader) (*PriceTable, error) { return parsePrices(r, "prices") }

// LoadPrices returns DefaultPrices overridden by the JSON table read from r
// (see ParsePrices for the format).
func LoadPrices(r io.Reader) (*PriceTable, error) {
	t, err := ParsePrices(r)
	if err != nil {
		return nil, err
	}
	return DefaultPrices().Merge(t), nil
}

// LoadPricesFile is LoadPrices for a file; errors name the file.
func LoadPricesFile(path string) (*PriceTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("providers: prices: %w", err)
	}
	defer f.Close()
	t, err := parsePrices(f, path)
	if err != nil {
		return nil, err
	}
	return DefaultPrices().Merge(t), nil
}

func parsePrices(r io.Reader, name string) (*PriceTable, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f priceFile
	if err := dec.Decode(&f); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, fmt.Errorf("providers: %s:%s: %s", name, position(data, syn.Offset), syn)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("providers: %s:%s: field %s: want %s, got JSON %s", name, position(data, typ.Offset), typ.Field, typ.Type, typ.Value)
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("providers: %s: empty price table", name)
		default:
			return nil, fmt.Errorf("providers: %s:%s: %s", name, position(data, dec.InputOffset()), strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if dec.More() {
		return nil, fmt.Errorf("providers: %s:%s: unexpected data after the price table", name, position(data, dec.InputOffset()))
	}
	t := NewPriceTable()
	t.AsOf = f.AsOf
	for i, p := range f.FreeProviders {
		if err := checkName(p); err != nil {
			return nil, fmt.Errorf("providers: %s: free_providers[%d]: %w", name, i, err)
		}
		t.SetFree(p)
	}
	for _, prov := range slices.Sorted(maps.Keys(f.Providers)) {
		if err := checkName(prov); err != nil {
			return nil, fmt.Errorf("providers: %s: providers[%q]: %w", name, prov, err)
		}
		models := f.Providers[prov]
		for _, m := range slices.Sorted(maps.Keys(models)) {
			field := fmt.Sprintf("providers.%s[%q]", prov, m)
			if strings.TrimSpace(m) == "" {
				return nil, fmt.Errorf("providers: %s: %s: empty model name", name, field)
			}
			p := models[m]
			for _, rate := range []struct {
				name string
				v    float64
			}{{"input_per_m", p.InputPerM}, {"cached_input_per_m", p.CachedInputPerM}, {"output_per_m", p.OutputPerM}} {
				if rate.v < 0 || math.IsNaN(rate.v) || math.IsInf(rate.v, 0) {
					return nil, fmt.Errorf("providers: %s: %s.%s: price %v must be a finite number ≥ 0", name, field, rate.name, rate.v)
				}
			}
			t.Set(prov, m, p)
		}
	}
	return t, nil
}

func checkName(p string) error {
	if strings.TrimSpace(p) == "" {
		return errors.New("empty provider name")
	}
	if strings.Contains(p, ":") {
		return fmt.Errorf("provider name %q contains ':'", p)
	}
	return nil
}

// position turns a byte offset into "line:col" (1-based).
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%d:%d", line, col)
}
