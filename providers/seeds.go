package providers

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

var seedSupport sync.Map // provider name → bool

// DeclareSampleSeeds records whether the provider registered as name honours
// Request.Seed, so harnesses know where a per-sample seed may be sent.
// Adapters call it from init beside Register.
func DeclareSampleSeeds(name string, accepts bool) { seedSupport.Store(name, accepts) }

// AcceptsSampleSeeds reports whether per-sample seeds should be sent to c:
// its Endpoint's provider declared so (vLLM, SGLang, Together, Fireworks,
// Groq, DeepSeek, Mistral, ...). Anthropic (no seed field) and OpenAI (seed
// deprecated in its spec) do not; an unknown provider does not either, so
// nothing it would refuse is sent. Middleware forwards the Endpoint, so c may
// be wrapped.
func AcceptsSampleSeeds(c Completer) bool {
	v, ok := seedSupport.Load(EndpointOf(c).Provider)
	return ok && v.(bool)
}

// SampleSeed derives the seed of one sample deterministically from the run
// seed, the problem, the stage (and prefix strategy) and the sample index,
// so a rerun sends the same seeds and the N samples of one prompt differ on
// the wire. The result is in [0, 2^31): every seed-taking server accepts it.
func SampleSeed(runSeed int64, problem, stage string, sample int) int64 {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(runSeed))
	h.Write(b[:])
	h.Write([]byte(problem))
	h.Write([]byte{0})
	h.Write([]byte(stage))
	h.Write([]byte{0})
	binary.BigEndian.PutUint64(b[:], uint64(sample))
	h.Write(b[:])
	sum := h.Sum(nil)
	return int64(binary.BigEndian.Uint32(sum[:4]) & 0x7fffffff)
}
