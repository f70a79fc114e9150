package faultserver_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

// A server that answers math from the simulator, failing the first attempt
// of every distinct request with 503.
func Example() {
	p := dataset.Problem{ID: "robe", Question: "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does it take?",
		Solution: "It takes 2/2=1 bolt of white fiber\nSo the total amount of fabric is 2+1=3 bolts of fabric", Answer: "3"}
	cfg := sim.Strong()
	cfg.PassRate = sim.Mixture{{Weight: 1, Alpha: 1e6, Beta: 1}} // always right
	s := faultserver.New(faultserver.Config{
		Answer: faultserver.FromCompleter(sim.New(cfg, p)),
		Decide: func(a faultserver.Attempt) faultserver.Fault {
			if a.Try == 1 {
				return faultserver.Unavailable
			}
			return faultserver.None
		},
	})
	defer s.Close()

	body := `{"model":"sim","messages":[{"role":"user","content":"` + p.Question + `"}]}`
	for range 2 {
		resp, err := http.Post(s.BaseURL+"/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%s (Retry-After %q)\n", resp.Status, resp.Header.Get("Retry-After"))
	}
	st := s.Stats()
	fmt.Println("requests:", st.Requests, "answered:", st.Answered, "repeats:", st.Repeats())
	fmt.Printf("tokens in/out: %d/%d, at $2/$8 per M: $%.6f\n", st.InputTokens, st.OutputTokens,
		st.Cost(providers.Price{InputPerM: 2, OutputPerM: 8}))
	// Output:
	// 503 Service Unavailable (Retry-After "1")
	// 200 OK (Retry-After "")
	// requests: 2 answered: 1 repeats: 1
	// tokens in/out: 26/29, at $2/$8 per M: $0.000284
}
