package providers

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSpecKeepsColonsInTheModel(t *testing.T) {
	p, m, err := ParseSpec("ollama:llama3.1:8b")
	require.NoError(t, err)
	assert.Equal(t, "ollama", p)
	assert.Equal(t, "llama3.1:8b", m)

	for _, bad := range []string{"", "openai", ":gpt-4o", "openai:"} {
		_, _, err := ParseSpec(bad)
		assert.Error(t, err, bad)
	}
}

func TestOpenUsesTheRegisteredOpenerAndListsKnownProvidersOnMiss(t *testing.T) {
	Register("test-registry", func(model string) (Completer, error) {
		return CompleterFunc(func(ctx context.Context, req Request) (Completion, error) {
			return Completion{Text: model, Provider: "test-registry"}, nil
		}), nil
	})
	c, err := Open("test-registry:m1")
	require.NoError(t, err)
	got, err := c.Complete(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, "m1", got.Text)

	_, err = Open("nosuch:model")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown provider "nosuch"`)
	assert.Contains(t, err.Error(), "test-registry")

	assert.Panics(t, func() { Register("test-registry", func(string) (Completer, error) { return nil, nil }) })
	assert.Panics(t, func() { Register("a:b", func(string) (Completer, error) { return nil, nil }) })
}

func TestChainAppliesTheFirstMiddlewareOutermost(t *testing.T) {
	var order []string
	tag := func(name string) Middleware {
		return func(next Completer) Completer {
			return CompleterFunc(func(ctx context.Context, req Request) (Completion, error) {
				order = append(order, name)
				return next.Complete(ctx, req)
			})
		}
	}
	base := CompleterFunc(func(ctx context.Context, req Request) (Completion, error) {
		order = append(order, "base")
		return Completion{}, nil
	})
	_, err := Chain(base, tag("a"), tag("b")).Complete(context.Background(), Request{})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "base"}, order)
}

func TestUsageAddAndTotal(t *testing.T) {
	u := Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 2, ReasoningTokens: 1}.
		Add(Usage{InputTokens: 1, OutputTokens: 2, CachedInputTokens: 3, ReasoningTokens: 4})
	assert.Equal(t, Usage{InputTokens: 11, OutputTokens: 7, CachedInputTokens: 5, ReasoningTokens: 5}, u)
	assert.Equal(t, 18, u.Total())
}

func TestOpenWithoutTheAdapterImportSaysWhichImportRegistersIt(t *testing.T) {
	// Unregister providers/sim for the test (this package's example for the
	// batch API imports it), as if the binary did not import it.
	registryMu.Lock()
	simOpen, hadSim := registry["sim"]
	delete(registry, "sim")
	registryMu.Unlock()
	t.Cleanup(func() {
		if hadSim {
			registryMu.Lock()
			registry["sim"] = simOpen
			registryMu.Unlock()
		}
	})
	_, err := Open("sim:strong")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown provider "sim"`)
	assert.Contains(t, err.Error(), `import _ "github.com/rebound-lab/rebound/providers/sim"`)
	pkg, ok := adapterPackage("vllm")
	assert.True(t, ok)
	assert.Equal(t, "github.com/rebound-lab/rebound/providers/openai", pkg)
	_, err = Open("martian:x")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "import _")
}
