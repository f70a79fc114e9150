package recovery

import (
	"fmt"
	"strings"
	"sync"
)

// failures counts a stage's new calls and how many failed, so a stage whose
// every call failed stops the run with the first failure (ErrStageFailed)
// instead of finishing a report of empty cells.
type failures struct {
	mu                sync.Mutex
	attempted, failed int
	reused            int
	first             string
}

// note records one call's outcome: errText is the row's Error ("" for
// success). A verification error means the call itself worked.
func (f *failures) note(errText string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempted++
	if errText != "" && !strings.HasPrefix(errText, "verify: ") {
		f.failed++
		if f.first == "" {
			f.first = errText
		}
	}
}

// resumed records a finished result reused from the store: the stage has
// worked before, so failures of the calls it retries do not stop it.
func (f *failures) resumed() {
	f.mu.Lock()
	f.reused++
	f.mu.Unlock()
}

// err is ErrStageFailed when at least one call was made, all failed, and
// the stage has no earlier result either.
func (f *failures) err(stage, model string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.attempted == 0 || f.failed < f.attempted || f.reused > 0 {
		return nil
	}
	return fmt.Errorf("%w: the %s stage: all %d calls to %s failed; the first: %s", ErrStageFailed, stage, f.attempted, model, f.first)
}
