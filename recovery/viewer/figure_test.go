package viewer

import "github.com/rebound-lab/rebound/recovery"

// 96-dpi PNGs and no PDFs keep the viewer's tests (which write runs and studies) fast
// under the race detector; the 300-dpi default is tested in package
// recovery.
func init() { recovery.FigureDPI, recovery.FigureFormats = 96, []string{".svg", ".png"} }
