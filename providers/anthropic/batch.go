package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/internal/wire"
)

// The Message Batches API (anthropics/anthropic-sdk-go messagebatch.go):
// POST /v1/messages/batches with {"requests": [{"custom_id", "params"}]},
// GET /v1/messages/batches/{id} (processing_status in_progress, canceling,
// ended; request_counts), GET .../results (JSONL of {"custom_id", "result":
// {"type": succeeded|errored|canceled|expired, ...}}), POST .../cancel.
// Batches carry no metadata, so FindBatch recognises a batch accepted just
// before a crash (and before its ID was journaled) by its creation time and
// request count.

var (
	_ providers.BatchAPI    = (*Client)(nil)
	_ providers.BatchFinder = (*Client)(nil)
)

func (c *Client) through(d Doer) *Client {
	cc := *c
	cc.hc = d
	return &cc
}

// BatchBody returns the exact /v1/messages body the live Complete would
// send for req (it runs the live path up to the network).
func (c *Client) BatchBody(ctx context.Context, req providers.Request) ([]byte, error) {
	d := &wire.Capture{}
	_, err := c.through(d).Complete(ctx, req)
	if !errors.Is(err, wire.ErrCaptured) {
		if err == nil {
			err = errors.New("anthropic: the live path sent nothing")
		}
		return nil, err
	}
	return d.Body, nil
}

type batchRequest struct {
	CustomID string          `json:"custom_id"`
	Params   json.RawMessage `json:"params"`
}

// messageBatch is the MessageBatch object.
type messageBatch struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	ProcessingStatus string `json:"processing_status"`
	RequestCounts    struct {
		Processing int `json:"processing"`
		Succeeded  int `json:"succeeded"`
		Errored    int `json:"errored"`
		Canceled   int `json:"canceled"`
		Expired    int `json:"expired"`
	} `json:"request_counts"`
	ResultsURL *string `json:"results_url"`
	CreatedAt  string  `json:"created_at"`
}

// FindBatch lists the newest batches (GET /v1/messages/batches?limit=100)
// and returns the one created from 10 s before rec was journaled to 10 min
// after, holding as many requests as rec; it reports not found unless
// exactly one batch fits (then rec is submitted again, as the journal
// cannot tell).
func (c *Client) FindBatch(ctx context.Context, rec providers.BatchRecord) (string, bool, error) {
	var list struct {
		Data []messageBatch `json:"data"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/v1/messages/batches?limit=100", nil, &list); err != nil {
		return "", false, err
	}
	var match []string
	for _, b := range list.Data {
		at, err := time.Parse(time.RFC3339, b.CreatedAt)
		if err != nil || at.Before(rec.Created.Add(-10*time.Second)) || at.After(rec.Created.Add(10*time.Minute)) {
			continue
		}
		rc := b.RequestCounts
		if rc.Processing+rc.Succeeded+rc.Errored+rc.Canceled+rc.Expired == len(rec.Lines) {
			match = append(match, b.ID)
		}
	}
	if len(match) != 1 {
		return "", false, nil
	}
	return match[0], true, nil
}

func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = c.baseURL + path
	}
	r, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("anthropic: batch: %w", err)
	}
	for k, vs := range c.header {
		r.Header[k] = slices.Clone(vs)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("anthropic-version", c.version)
	if c.key != "" {
		r.Header.Set("x-api-key", c.key)
	}
	resp, err := c.hc.Do(r)
	if err != nil {
		return nil, fmt.Errorf("anthropic: batch %s %s: %w", method, path, err)
	}
	data, err := wire.ReadBody(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("anthropic: batch %s %s: HTTP %d: %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, wire.ErrorFromResponse(Name, c.model, resp.StatusCode, resp.Header, data, c.now())
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, wire.BadShape(Name, c.model, resp.StatusCode, resp.Header, err)
		}
	}
	return data, nil
}

// SubmitBatch creates a Message Batch of items, each request's params the
// live body.
func (c *Client) SubmitBatch(ctx context.Context, token string, items []providers.BatchItem) (string, error) {
	reqs := make([]batchRequest, len(items))
	for i, it := range items {
		body, err := c.BatchBody(ctx, it.Request)
		if err != nil {
			return "", fmt.Errorf("anthropic: batch line %s: %w", it.CustomID, err)
		}
		reqs[i] = batchRequest{CustomID: it.CustomID, Params: body}
	}
	body, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		return "", err
	}
	var b messageBatch
	if _, err := c.call(ctx, http.MethodPost, "/v1/messages/batches", body, &b); err != nil {
		return "", err
	}
	if b.ID == "" {
		return "", wire.BadShape(Name, c.model, http.StatusOK, nil, errors.New("message batch has no id"))
	}
	return b.ID, nil
}

func (c *Client) getBatch(ctx context.Context, id string) (messageBatch, error) {
	var b messageBatch
	_, err := c.call(ctx, http.MethodGet, "/v1/messages/batches/"+url.PathEscape(id), nil, &b)
	return b, err
}

// PollBatch maps processing_status: in_progress and canceling are running,
// ended is ended.
func (c *Client) PollBatch(ctx context.Context, id string) (providers.BatchStatus, error) {
	b, err := c.getBatch(ctx, id)
	if err != nil {
		return providers.BatchStatus{}, err
	}
	rc := b.RequestCounts
	st := providers.BatchStatus{State: providers.BatchRunning,
		Total:     rc.Processing + rc.Succeeded + rc.Errored + rc.Canceled + rc.Expired,
		Succeeded: rc.Succeeded, Failed: rc.Errored + rc.Canceled + rc.Expired}
	if b.ProcessingStatus == "ended" {
		st.State = providers.BatchEnded
	}
	return st, nil
}

// resultLine is one line of the results JSONL (MessageBatchIndividualResponse).
type resultLine struct {
	CustomID string `json:"custom_id"`
	Result   struct {
		Type    string          `json:"type"`
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	} `json:"result"`
}

// parseResults parses the results JSONL; blank lines are skipped, a
// malformed line is an error naming it.
func parseResults(data []byte) ([]resultLine, error) {
	return wire.Lines(data, func(l resultLine) error {
		if l.CustomID == "" {
			return errors.New("no custom_id")
		}
		switch l.Result.Type {
		case "succeeded", "errored", "canceled", "expired":
			return nil
		}
		return fmt.Errorf("unknown result type %q", l.Result.Type)
	})
}

// errorStatus is the HTTP status the live API answers each error type with
// (docs.anthropic.com/en/api/errors).
var errorStatus = map[string]int{
	"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402, "permission_error": 403,
	"not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
	"timeout_error": 504, "overloaded_error": 529,
}

// BatchResults downloads the results and decodes each line through the live
// path: succeeded → the Completion Complete would return for the message;
// errored → the *providers.APIError the live call would have returned (by
// the error's type); canceled and expired → errors wrapping
// providers.ErrBatchExpired.
func (c *Client) BatchResults(ctx context.Context, id string, items []providers.BatchItem) ([]providers.BatchLine, error) {
	b, err := c.getBatch(ctx, id)
	if err != nil {
		return nil, err
	}
	path := "/v1/messages/batches/" + url.PathEscape(id) + "/results"
	if b.ResultsURL != nil && *b.ResultsURL != "" {
		path = *b.ResultsURL
	}
	data, err := c.call(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	lines, err := parseResults(data)
	if err != nil {
		return nil, fmt.Errorf("anthropic: batch %s results: %w", id, err)
	}
	reqs := make(map[string]providers.Request, len(items))
	for _, it := range items {
		reqs[it.CustomID] = it.Request
	}
	var out []providers.BatchLine
	for _, l := range lines {
		req, ok := reqs[l.CustomID]
		if !ok {
			continue
		}
		bl := providers.BatchLine{CustomID: l.CustomID}
		switch l.Result.Type {
		case "canceled", "expired":
			bl.Err = fmt.Errorf("anthropic: batch %s line %s %s: %w", id, l.CustomID, l.Result.Type, providers.ErrBatchExpired)
		case "succeeded", "errored":
			status, body := http.StatusOK, []byte(l.Result.Message)
			if l.Result.Type == "errored" {
				body = l.Result.Error
				var e struct {
					Error struct {
						Type string `json:"type"`
					} `json:"error"`
				}
				_ = json.Unmarshal(body, &e)
				status = errorStatus[e.Error.Type]
				if status == 0 {
					status = http.StatusInternalServerError
				}
			}
			want, err := c.BatchBody(ctx, req)
			if err != nil {
				bl.Err = err
				break
			}
			bl.Completion, bl.Err = c.through(&wire.Replay{Want: want, Status: status, Body: body}).Complete(ctx, req)
		}
		out = append(out, bl)
	}
	return out, nil
}

// CancelBatch cancels the batch.
func (c *Client) CancelBatch(ctx context.Context, id string) error {
	_, err := c.call(ctx, http.MethodPost, "/v1/messages/batches/"+url.PathEscape(id)+"/cancel", []byte("{}"), nil)
	return err
}
