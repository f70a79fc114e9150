// Command probe checks whether an endpoint really continues a prefill, for
// every prefill dialect its preset allows:
//
//	go run ./examples/probe -model openrouter:meta-llama/llama-3.3-70b-instruct
//	go run ./examples/probe -model vllm:Qwen/Qwen2.5-7B-Instruct -json
//
// Keys and base URLs come from the environment (<NAME>_API_KEY,
// <NAME>_BASE_URL). Each dialect costs three tiny calls at temperature 0.
//
// The last line is the verdict. The command exits 0 only if some dialect
// continues the prefix (honoured, or echoed and stripped); it exits 1 when
// none does, and stops at the first error that trying again or another
// dialect cannot fix (a wrong key, an unknown model, no server).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/rebound-lab/rebound/providers"
	_ "github.com/rebound-lab/rebound/providers/anthropic"
	_ "github.com/rebound-lab/rebound/providers/openai"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

// dialecter is implemented by the adapters: the prefill methods a client
// can use, its default first.
type dialecter interface {
	Dialects() []providers.PrefillMethod
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	spec := fs.String("model", "", "provider:model spec, e.g. deepseek:deepseek-chat")
	asJSON := fs.Bool("json", false, "print results as JSON lines")
	maxTokens := fs.Int("max-tokens", 0, "output tokens per canary call (0 = 12, or 2048 for a reasoning model)")
	timeout := fs.Duration("timeout", 2*time.Minute, "overall time limit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *spec == "" {
		return fmt.Errorf("-model is required (registered providers: %v)", providers.Registered())
	}
	_, model, err := providers.ParseSpec(*spec)
	if err != nil {
		return err
	}
	c, err := providers.Open(*spec)
	if err != nil {
		return err
	}
	dialects := []providers.PrefillMethod{""}
	if d, ok := c.(dialecter); ok {
		dialects = d.Dialects()
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	enc := json.NewEncoder(out)
	var good []string
	env := strings.ToUpper(strings.ReplaceAll(strings.SplitN(*spec, ":", 2)[0], "-", "_")) + "_PREFILL"
	for _, d := range dialects {
		res, err := providers.ProbePrefill(ctx, c, model, providers.ProbeMethod(d), providers.ProbeMaxTokens(*maxTokens))
		name := string(d)
		if name == "" {
			name = "native"
		}
		if err == nil && (res.Verdict == providers.ProbeHonoured || res.Verdict == providers.ProbeEchoed) {
			good = append(good, name)
		}
		if err != nil && permanent(err) {
			fmt.Fprintf(out, "%-24s %v\n", name, err)
			fmt.Fprintf(out, "verdict: cannot probe %s — %v; fix this before running (no other dialect was tried)\n", *spec, err)
			return fmt.Errorf("%w: %v", errVerdict, err)
		}
		if *asJSON {
			if err := enc.Encode(struct {
				Dialect string `json:"dialect"`
				providers.ProbeResult
				Error string `json:"error,omitempty"`
			}{name, res, errString(err)}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(out, "%-24s %s\n", name, res)
		if err != nil {
			fmt.Fprintf(out, "  error: %v\n", err)
		}
		for _, call := range res.Calls {
			detail := fmt.Sprintf("%q", call.Text)
			if call.Err != "" {
				detail = call.Err
			}
			fmt.Fprintf(out, "  %-9s %-12s %s — %s\n", call.Canary, call.Outcome, call.Reason, detail)
		}
	}
	if len(good) == 0 {
		if !*asJSON {
			fmt.Fprintf(out, "verdict: no dialect continues the prefix — do not run %s\n", *spec)
		}
		return fmt.Errorf("%w: no dialect of %s continues the prefix", errVerdict, *spec)
	}
	if !*asJSON {
		fmt.Fprintf(out, "verdict: %s continues the prefix with %s (set %s=%s to choose it)\n", *spec, strings.Join(good, ", "), env, good[0])
	}
	return nil
}

// errVerdict marks a probe whose verdict is "do not run".
var errVerdict = errors.New("probe: verdict: do not run")

// permanent reports an error no other dialect or retry fixes: a
// non-retryable API error (401, 403, 404 model), or a refused connection.
func permanent(err error) bool {
	var apiErr *providers.APIError
	if errors.As(err, &apiErr) {
		return !apiErr.Retryable && !errors.Is(err, providers.ErrPrefillUnsupported) && apiErr.StatusCode != 400
	}
	return errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "no such host")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
