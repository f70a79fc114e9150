package viewer

import "github.com/rebound-lab/rebound/recovery"

// 96-dpi PNGs keep the viewer's tests (which write runs and studies) fast
// under the race detector; the 300-dpi default is tested in package
// recovery.
func init() { recovery.FigureDPI = 96 }
