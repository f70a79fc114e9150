// Command probe checks whether an endpoint really continues a prefill, for
// every prefill dialect its preset allows:
//
//	go run ./examples/probe -model openrouter:meta-llama/llama-3.3-70b-instruct
//	go run ./examples/probe -model vllm:Qwen/Qwen2.5-7B-Instruct -json
//
// Keys and base URLs come from the environment (<NAME>_API_KEY,
// <NAME>_BASE_URL). Each dialect costs three tiny calls at temperature 0.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
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
	for _, d := range dialects {
		res, err := providers.ProbePrefill(ctx, c, model, providers.ProbeMethod(d), providers.ProbeMaxTokens(*maxTokens))
		name := string(d)
		if name == "" {
			name = "native"
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
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
