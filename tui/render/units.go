package render

import (
	"fmt"
	"strconv"
	"time"
)

// Duration is a compact, stable-width-ish duration: 850µs, 12ms, 3.4s, 5m02s, 2h10m, 3d04h.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Age is an elapsed time at one-second resolution: <1s, 42s, 5m02s.
func Age(d time.Duration) string {
	switch {
	case d < time.Second:
		return "<1s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return Duration(d.Truncate(time.Second))
}

// Bytes is a size in IEC units, the console's one byte formatter: 512B,
// 9.8KiB, 45MiB, 1.2GiB. At most 7 cells (one decimal below 10, none
// above), so it fits the RSS column whatever the size.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(max(n, 0), 10) + "B"
	}
	v, i := float64(n), -1
	for v >= unit && i < len(iecUnits)-1 {
		v /= unit
		i++
	}
	prec := 1
	if v >= 10 {
		prec = 0
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + iecUnits[i]
}

var iecUnits = []string{"KiB", "MiB", "GiB", "TiB", "PiB"}

// Rate is a per-second count: 0, 12, 3.4k, 1.2M.
func Rate(r float64) string {
	switch {
	case r < 0.05:
		return "0"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 1, 64)
	case r < 1000:
		return strconv.FormatFloat(r, 'f', 0, 64)
	case r < 1e6:
		return strconv.FormatFloat(r/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(r/1e6, 'f', 1, 64) + "M"
}

// Count is an integer with a k/M suffix past 10,000.
func Count(n uint64) string {
	switch {
	case n < 10_000:
		return strconv.FormatUint(n, 10)
	case n < 10_000_000:
		return strconv.FormatUint(n/1000, 10) + "k"
	}
	return strconv.FormatUint(n/1_000_000, 10) + "M"
}

var sparks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the last w values scaled to their maximum.
func Sparkline(values []float64, w int) string {
	if len(values) > w {
		values = values[len(values)-w:]
	}
	hi := 0.0
	for _, v := range values {
		hi = max(hi, v)
	}
	out := make([]rune, 0, w)
	for _, v := range values {
		i := 0
		if hi > 0 {
			i = int(v / hi * float64(len(sparks)-1))
		}
		out = append(out, sparks[min(max(i, 0), len(sparks)-1)])
	}
	return string(out)
}
