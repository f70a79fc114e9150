package providers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

func TestPriceCostBillsCachedInputOnceAtTheCachedRate(t *testing.T) {
	p := providers.Price{InputPerM: 2, CachedInputPerM: 0.5, OutputPerM: 8}
	u := providers.Usage{InputTokens: 1_000_000, CachedInputTokens: 400_000, OutputTokens: 500_000, ReasoningTokens: 100_000}
	// 600k fresh × $2 + 400k cached × $0.5 + 500k out × $8 (reasoning is inside output)
	assert.InDelta(t, 1.2+0.2+4.0, p.Cost(u), 1e-12)
}

func TestPriceCostWithoutCachedRateBillsCachedTokensAsInput(t *testing.T) {
	p := providers.Price{InputPerM: 2, OutputPerM: 8}
	u := providers.Usage{InputTokens: 1_000_000, CachedInputTokens: 400_000}
	assert.InDelta(t, 2.0, p.Cost(u), 1e-12)
}

func TestPriceCostClampsCachedTokensToInput(t *testing.T) {
	p := providers.Price{InputPerM: 2, CachedInputPerM: 1}
	u := providers.Usage{InputTokens: 100, CachedInputTokens: 1000}
	assert.InDelta(t, 100*1/1e6, p.Cost(u), 1e-15)
}

func TestDefaultPricesLookup(t *testing.T) {
	tbl := providers.DefaultPrices()
	for _, tc := range []struct {
		name, provider, model string
		wantIn, wantOut       float64
	}{
		{"exact model", "openai", "gpt-4o-mini", 0.15, 0.60},
		{"dated suffix picks the longest prefix", "openai", "gpt-4o-mini-2024-07-18", 0.15, 0.60},
		{"dated suffix of the bigger model", "openai", "gpt-4o-2024-08-06", 2.50, 10.00},
		{"compact date suffix", "anthropic", "claude-sonnet-4-5-20250929", 3, 15},
		{"opus 4.1 is not opus 4.5", "anthropic", "claude-opus-4-1-20250805", 15, 75},
		{"case-insensitive", "OpenAI", "GPT-4o-Mini", 0.15, 0.60},
		{"latest alias", "mistral", "magistral-medium-latest", 2, 5},
		{"together names keep their org", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88, 0.88},
		{"openrouter falls back to the vendor table", "openrouter", "openai/gpt-4o-mini", 0.15, 0.60},
		{"openrouter anthropic dotted names", "openrouter", "anthropic/claude-sonnet-4.5", 3, 15},
		{"deepseek", "deepseek", "deepseek-reasoner", 0.28, 0.42},
		{"cohere", "cohere", "command-r-plus-08-2024", 2.5, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tbl.Lookup(tc.provider, tc.model)
			require.True(t, ok)
			assert.Equal(t, tc.wantIn, p.InputPerM)
			assert.Equal(t, tc.wantOut, p.OutputPerM)
		})
	}
}

func TestLookupRefusesNonVersionSuffixes(t *testing.T) {
	tbl := providers.NewPriceTable()
	tbl.Set("openai", "gpt-4o", providers.Price{InputPerM: 2.5})
	_, ok := tbl.Lookup("openai", "gpt-4o-mini")
	assert.False(t, ok, "gpt-4o-mini is a different model, not a version of gpt-4o")
	_, ok = tbl.Lookup("openai", "gpt-4o2")
	assert.False(t, ok)
	_, ok = tbl.Lookup("openai", "gpt-4o-2024-05-13")
	assert.True(t, ok)
}

func TestLocalProvidersAreFreeByDeclaration(t *testing.T) {
	tbl := providers.DefaultPrices()
	for _, prov := range []string{"vllm", "sglang", "ollama", "sim", "mock"} {
		p, ok := tbl.Lookup(prov, "anything:8b")
		assert.True(t, ok, prov)
		assert.True(t, p.IsZero(), prov)
		assert.True(t, tbl.IsFree(prov), prov)
	}
}

func TestUnknownModelsAreUnpriced(t *testing.T) {
	tbl := providers.DefaultPrices()
	_, ok := tbl.Lookup("openai", "no-such-model")
	assert.False(t, ok)
	_, ok = tbl.Lookup("nobody", "gpt-4o")
	assert.False(t, ok)
	var nilTable *providers.PriceTable
	_, ok = nilTable.Lookup("openai", "gpt-4o")
	assert.False(t, ok)
}

func TestDefaultPricesReturnsIndependentCopies(t *testing.T) {
	a := providers.DefaultPrices()
	a.Set("openai", "gpt-4o", providers.Price{InputPerM: 99})
	b := providers.DefaultPrices()
	p, _ := b.Lookup("openai", "gpt-4o")
	assert.Equal(t, 2.5, p.InputPerM)
	assert.NotEmpty(t, b.AsOf)
	assert.Contains(t, b.Providers(), "together")
}

func TestLoadPricesOverridesAndExtendsTheDefaults(t *testing.T) {
	tbl, err := providers.LoadPrices(strings.NewReader(`{
		"as_of": "2030-01-01",
		"free_providers": ["myserver"],
		"providers": {
			"openai": {"gpt-4o": {"input_per_m": 1, "output_per_m": 4}},
			"acme": {"rocket-1": {"input_per_m": 3, "cached_input_per_m": 1, "output_per_m": 9}}
		}
	}`))
	require.NoError(t, err)
	p, ok := tbl.Lookup("openai", "gpt-4o")
	require.True(t, ok)
	assert.Equal(t, providers.Price{InputPerM: 1, OutputPerM: 4}, p)
	p, ok = tbl.Lookup("acme", "rocket-1")
	require.True(t, ok)
	assert.Equal(t, 9.0, p.OutputPerM)
	p, ok = tbl.Lookup("openai", "gpt-4o-mini")
	require.True(t, ok, "defaults survive the merge")
	assert.Equal(t, 0.15, p.InputPerM)
	assert.True(t, tbl.IsFree("myserver"))
	assert.Equal(t, "2030-01-01", tbl.AsOf)
}

func TestParsePricesErrorsNameWhereAndWhat(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"syntax error has line and column", "{\n  \"providers\": {\n    \"openai\": {,}\n  }\n}", []string{"prices:3:", "invalid character"}},
		{"wrong type names the field", `{"providers": {"openai": {"gpt-4o": {"input_per_m": "cheap"}}}}`, []string{"prices:1:", "input_per_m", "float64"}},
		{"unknown field", `{"providers": {"openai": {"gpt-4o": {"input": 1}}}}`, []string{"unknown field", `"input"`}},
		{"negative price", `{"providers": {"openai": {"gpt-4o": {"input_per_m": -1}}}}`, []string{`providers.openai["gpt-4o"].input_per_m`, "≥ 0"}},
		{"empty model", `{"providers": {"openai": {" ": {"input_per_m": 1}}}}`, []string{"empty model name"}},
		{"provider with colon", `{"providers": {"a:b": {"m": {}}}}`, []string{`providers["a:b"]`, "contains ':'"}},
		{"empty free provider", `{"free_providers": [""]}`, []string{"free_providers[0]", "empty provider"}},
		{"empty input", ``, []string{"empty price table"}},
		{"trailing data", `{} {}`, []string{"unexpected data"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := providers.ParsePrices(strings.NewReader(tc.in))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadPricesFileNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my-prices.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"providers": {"openai": {"gpt-4o": {"output_per_m": -2}}}}`), 0o644))
	_, err := providers.LoadPricesFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+": providers.openai")
	_, err = providers.LoadPricesFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func FuzzParsePrices(f *testing.F) {
	f.Add(`{"as_of":"x","free_providers":["vllm"],"providers":{"openai":{"gpt-4o":{"input_per_m":1,"output_per_m":2}}}}`)
	f.Add(`{"providers":{"a":{"b":{"input_per_m":-1}}}}`)
	f.Add("{\n\"providers\": {,}}")
	f.Add(`{"providers":{"a":{"b":{"input_per_m":1e400}}}}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, in string) {
		tbl, err := providers.ParsePrices(strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "providers: prices") {
				t.Fatalf("error does not name its source: %v", err)
			}
			return
		}
		for _, prov := range tbl.Providers() {
			p, ok := tbl.Lookup(prov, "some-model")
			if ok && (p.InputPerM < 0 || p.OutputPerM < 0 || p.CachedInputPerM < 0) {
				t.Fatalf("negative price accepted: %+v", p)
			}
		}
	})
}
