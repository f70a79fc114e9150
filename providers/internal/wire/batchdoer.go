package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// ErrCaptured stops a live call whose request a Capture recorded: the batch
// path runs an adapter's live Complete up to the network to get the exact
// body it would send.
var ErrCaptured = errors.New("providers: request captured for a batch")

// ErrReplayMismatch is returned by Replay when the live path asks something
// other than what the batch sent.
var ErrReplayMismatch = errors.New("providers: batch line answers a different request than the live path would send")

// Capture is an HTTP doer that records a request's path and body and stops
// the call with ErrCaptured. Use a new one per request.
type Capture struct {
	Path string
	Body []byte
}

// Do records r's path and body and returns ErrCaptured.
func (d *Capture) Do(r *http.Request) (*http.Response, error) {
	d.Path = r.URL.Path
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		d.Body = b
	}
	return nil, ErrCaptured
}

// Replay is an HTTP doer that answers the live path with a batch line's
// response (Status, JSON Body), after checking the request body is Want
// byte for byte, so the live decoder reads the batch's answers.
type Replay struct {
	Want   []byte
	Status int
	Body   []byte
}

// Do checks r's body against Want and answers with the batch line.
func (d *Replay) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !bytes.Equal(b, d.Want) {
			return nil, ErrReplayMismatch
		}
	}
	return &http.Response{StatusCode: d.Status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(d.Body)), ContentLength: int64(len(d.Body)), Request: r}, nil
}
