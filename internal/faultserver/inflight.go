package faultserver

// InFlight returns the number of completions requests being handled right
// now (read, not yet answered), e.g. to count what a client had in flight
// when it was killed.
func (h *Handler) InFlight() int64 { return h.inFlight.Load() }

// InFlight returns the number of completions requests being handled right
// now; see Handler.InFlight.
func (s *Server) InFlight() int64 { return s.h.InFlight() }
