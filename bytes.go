package optio

import (
	"fmt"
	"strconv"
	"strings"
)

// FormatBytes formats n in binary units the way limits are configured
// ("100 MB" for 100<<20, "1.5 KB" for 1536), for messages and pages people read.
func FormatBytes(n int64) string {
	const unit = 1024
	switch {
	case n == 1:
		return "1 byte"
	case n < unit:
		return fmt.Sprintf("%d bytes", n)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n) / unit
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + " " + units[i]
}
