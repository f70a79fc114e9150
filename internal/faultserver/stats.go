package faultserver

import (
	"bytes"
	"encoding/json"
	"maps"

	"github.com/rebound-lab/rebound/providers"
)

// Stats are a Server's counters. Maps in a snapshot are copies.
type Stats struct {
	// Requests counts every request to the completions endpoint.
	Requests int64
	// Answered counts complete 200 answers with a completion body.
	Answered int64
	// MaxInFlight is the most completions requests handled at once.
	MaxInFlight int64
	// InputTokens and OutputTokens sum the usage of answered requests only
	// (faulted ones are not billed), for server-side dollars: see Cost.
	InputTokens, OutputTokens int64
	// RateLimited counts 429s sent by the RPM and TPM ceilings (not
	// injected ones).
	RateLimited int64
	// Resets counts connections reset; BodyErrors requests whose body could
	// not be read; AnswerErrors AnswerFunc failures (sent as 500).
	Resets, BodyErrors, AnswerErrors int64
	// ByStatus counts responses by HTTP status sent (resets and hangs send
	// none).
	ByStatus map[int]int64
	// ByFault counts requests by the fault chosen for them (None for normal
	// answers); requests refused before a fault is chosen (401 for a wrong
	// key, 400 for a bad body, the ceilings' 429s) are not in it.
	ByFault map[Fault]int64
	// ByHash counts decodable requests by content hash (Request.Hash): a
	// count above 1 is a repeat.
	ByHash map[string]int64
	// AnsweredByHash counts answered requests by content hash: a count
	// above 1 means the client paid twice for the same request.
	AnsweredByHash map[string]int64
}

func newStats() Stats {
	return Stats{
		ByStatus:       map[int]int64{},
		ByFault:        map[Fault]int64{},
		ByHash:         map[string]int64{},
		AnsweredByHash: map[string]int64{},
	}
}

func (s Stats) clone() Stats {
	s.ByStatus = maps.Clone(s.ByStatus)
	s.ByFault = maps.Clone(s.ByFault)
	s.ByHash = maps.Clone(s.ByHash)
	s.AnsweredByHash = maps.Clone(s.AnsweredByHash)
	return s
}

// Repeats is the number of requests beyond the first for each content hash:
// retries and re-sent requests.
func (s Stats) Repeats() int64 { return excess(s.ByHash) }

// AnsweredRepeats is the number of answers beyond the first for each content
// hash: requests that were answered (and billed) more than once.
func (s Stats) AnsweredRepeats() int64 { return excess(s.AnsweredByHash) }

func excess(m map[string]int64) int64 {
	var n int64
	for _, c := range m {
		if c > 1 {
			n += c - 1
		}
	}
	return n
}

// Cost is the dollar cost of the answered tokens at price p.
func (s Stats) Cost(p providers.Price) float64 {
	return p.Cost(providers.Usage{InputTokens: int(s.InputTokens), OutputTokens: int(s.OutputTokens)})
}

// jsonMarshal encodes v without HTML escaping, as API servers do.
func jsonMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
