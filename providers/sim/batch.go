package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rebound-lab/rebound/providers"
)

// Batched is a Solver with an in-process batch API, so batch runs work
// offline: a submitted batch ends Delay after it was submitted, and each
// line is exactly what the Solver's Complete returns for the request, its
// cost scaled by Discount. Complete (the live path) is the Solver's own.
type Batched struct {
	*Solver
	// Delay is how long a batch runs; Discount scales every line's cost
	// (0 means 0.5, the batch discount of OpenAI and Anthropic).
	Delay    time.Duration
	Discount float64

	mu      sync.Mutex
	n       int
	batches map[string]*simBatch
	lines   int
}

type simBatch struct {
	token    string
	items    []providers.BatchItem
	created  time.Time
	canceled bool
}

var (
	_ providers.BatchAPI    = (*Batched)(nil)
	_ providers.BatchFinder = (*Batched)(nil)
	_ providers.Completer   = (*Batched)(nil)
)

// NewBatched returns s with a batch API whose batches take delay.
func NewBatched(s *Solver, delay time.Duration) *Batched {
	return &Batched{Solver: s, Delay: delay, batches: map[string]*simBatch{}}
}

// SubmitBatch accepts items (custom IDs must be unique and non-empty).
func (b *Batched) SubmitBatch(ctx context.Context, token string, items []providers.BatchItem) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "", fmt.Errorf("sim: batch has no requests")
	}
	seen := map[string]bool{}
	for i, it := range items {
		if it.CustomID == "" || seen[it.CustomID] {
			return "", fmt.Errorf("sim: batch request %d: custom_id %q is empty or repeated", i, it.CustomID)
		}
		seen[it.CustomID] = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	b.lines += len(items)
	id := fmt.Sprintf("simbatch_%d", b.n)
	b.batches[id] = &simBatch{token: token, items: append([]providers.BatchItem(nil), items...), created: time.Now()}
	return id, nil
}

// SubmittedLines counts the request lines submitted so far.
func (b *Batched) SubmittedLines() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lines
}

func (b *Batched) get(id string) (*simBatch, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sb, ok := b.batches[id]
	if !ok {
		return nil, &providers.APIError{Provider: "sim", StatusCode: 404, Type: "not_found_error", Message: "no batch " + id}
	}
	return sb, nil
}

// PollBatch reports the batch running until Delay has passed, then ended.
func (b *Batched) PollBatch(ctx context.Context, id string) (providers.BatchStatus, error) {
	sb, err := b.get(id)
	if err != nil {
		return providers.BatchStatus{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st := providers.BatchStatus{State: providers.BatchRunning, Total: len(sb.items)}
	if sb.canceled || time.Since(sb.created) >= b.Delay {
		st.State = providers.BatchEnded
	}
	return st, nil
}

// BatchResults answers every line with the Solver (a canceled batch's
// lines are canceled).
func (b *Batched) BatchResults(ctx context.Context, id string, _ []providers.BatchItem) ([]providers.BatchLine, error) {
	sb, err := b.get(id)
	if err != nil {
		return nil, err
	}
	disc := b.Discount
	if disc == 0 {
		disc = 0.5
	}
	out := make([]providers.BatchLine, len(sb.items))
	for i, it := range sb.items {
		out[i].CustomID = it.CustomID
		if sb.canceled {
			out[i].Err = fmt.Errorf("sim: batch %s canceled: %w", id, providers.ErrBatchExpired)
			continue
		}
		c, err := b.Solver.Complete(ctx, it.Request)
		c.CostUSD *= disc
		c.Latency = 0
		out[i].Completion, out[i].Err = c, err
	}
	return out, nil
}

// CancelBatch cancels the batch.
func (b *Batched) CancelBatch(ctx context.Context, id string) error {
	sb, err := b.get(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	sb.canceled = true
	b.mu.Unlock()
	return nil
}

// FindBatch finds the batch submitted with rec's token.
func (b *Batched) FindBatch(ctx context.Context, rec providers.BatchRecord) (string, bool, error) {
	token := rec.Token
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, sb := range b.batches {
		if sb.token == token {
			return id, true, nil
		}
	}
	return "", false, nil
}
