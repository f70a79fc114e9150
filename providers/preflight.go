package providers

// Preflighter is implemented by adapters that can tell, without sending
// anything, whether they could serve a request: a prefill dialect they
// lack, a field they cannot send, a model other than the one they were
// opened for. The harness checks a representative request of every stage
// this way before its first paid call. The error wraps the sentinel the
// call itself would fail with (ErrPrefillUnsupported, ErrUnsupported) and
// names the setting that fixes it.
type Preflighter interface {
	Preflight(req Request) error
}

// Preflight returns c.Preflight(req) if c is a Preflighter, else nil (the
// Completer cannot be checked ahead; its first call will tell).
func Preflight(c Completer, req Request) error {
	if p, ok := c.(Preflighter); ok {
		return p.Preflight(req)
	}
	return nil
}
