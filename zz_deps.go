//go:build deps

package main
import (
 _ "github.com/sashabaranov/go-openai"
 _ "github.com/cenkalti/backoff/v4"
 _ "golang.org/x/time/rate"
 _ "modernc.org/sqlite"
 _ "gonum.org/v1/gonum/stat/distuv"
 _ "gonum.org/v1/gonum/mathext"
 _ "gonum.org/v1/plot"
 _ "gonum.org/v1/plot/plotter"
 _ "gonum.org/v1/plot/vg/vgimg"
 _ "gonum.org/v1/plot/vg/vgsvg"
 _ "github.com/parquet-go/parquet-go"
 _ "golang.org/x/sync/errgroup"
 _ "github.com/schollz/progressbar/v3"
 _ "github.com/chromedp/chromedp"
 _ "github.com/stretchr/testify/require"
)
func main(){}
